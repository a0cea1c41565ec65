//! Organisations: the parties that publish, request and receive data.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Sector, StateCode};

/// Identifier of an organisation, unique across the federation: `<STATE>.<32 hex digits>`.
///
/// The state prefix lets any node tell which national node is home to an organisation
/// without a directory lookup, which is what routing a transfer request needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgId(String);

/// An identifier did not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("'{value}' is not a valid {what}: {reason}")]
pub struct IdError {
    /// Which kind of identifier was expected.
    pub what: &'static str,
    /// The text given.
    pub value: String,
    /// Why it was refused.
    pub reason: &'static str,
}

impl OrgId {
    /// A fresh identifier for a new organisation of `state`, from 128 random bits.
    pub fn generate(state: StateCode, random: [u8; 16]) -> Self {
        Self(format!("{state}.{}", hex::encode(random)))
    }

    /// The home state of the organisation.
    pub fn state(&self) -> StateCode {
        // The constructor checked the prefix, so this cannot fail.
        StateCode::new(&self.0[..2]).expect("OrgId prefix was validated as a state code")
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for OrgId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| IdError {
            what: "organisation id",
            value: s.chars().take(80).collect(),
            reason,
        };
        let (state, rest) = s
            .split_once('.')
            .ok_or_else(|| err("expected <STATE>.<32 hex digits>"))?;
        StateCode::new(state).map_err(|_| err("prefix is not a state code"))?;
        if rest.len() != 32
            || !rest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(err("suffix must be 32 lower-case hex digits"));
        }
        Ok(Self(s.to_owned()))
    }
}

impl TryFrom<String> for OrgId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<OrgId> for String {
    fn from(id: OrgId) -> Self {
        id.0
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An organisation registered on its national node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    /// Federation-wide identifier; its prefix is the home state.
    pub id: OrgId,
    /// Legal name.
    pub name: String,
    /// Number in the state's register of legal entities.
    pub registration_number: String,
    /// Economic sector, matching the sub-committees.
    pub sector: Sector,
    /// Contact address (e-mail or postal) of the data-protection officer or equivalent.
    pub contact: String,
    /// The X25519 public key deliveries are encrypted to (HPKE, RFC 9180), 32 bytes as hex.
    pub hpke_public_key: String,
    /// When the organisation registered, Unix seconds.
    pub registered_at: i64,
}
