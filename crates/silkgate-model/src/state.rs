use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::VocabularyError;

/// A state taking part in the federation, by its ISO 3166-1 alpha-2 code.
///
/// The set of states is open: observers and partners may join later, so this is a validated
/// code rather than an enum. [`MEMBER_STATES`] lists today's members for the demo and defaults.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StateCode([u8; 2]);

/// The member states of the Shanghai Cooperation Organisation as of 2026, in the order the
/// demo starts their nodes.
pub const MEMBER_STATES: [StateCode; 10] = [
    StateCode(*b"CN"),
    StateCode(*b"IN"),
    StateCode(*b"IR"),
    StateCode(*b"KZ"),
    StateCode(*b"KG"),
    StateCode(*b"PK"),
    StateCode(*b"RU"),
    StateCode(*b"TJ"),
    StateCode(*b"UZ"),
    StateCode(*b"BY"),
];

impl StateCode {
    /// Builds a code from two letters, checking them.
    ///
    /// # Errors
    /// [`VocabularyError::StateCode`] unless both bytes are ASCII upper-case letters.
    pub fn new(code: &str) -> Result<Self, VocabularyError> {
        match code.as_bytes() {
            [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Ok(Self([*a, *b])),
            _ => Err(VocabularyError::StateCode {
                value: code.to_owned(),
            }),
        }
    }

    /// The code as text, e.g. `"KZ"`.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored, so this cannot fail.
        std::str::from_utf8(&self.0).expect("state code bytes are ASCII letters")
    }

    /// Whether this is one of today's member states.
    pub fn is_member(&self) -> bool {
        MEMBER_STATES.contains(self)
    }
}

impl FromStr for StateCode {
    type Err = VocabularyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for StateCode {
    type Error = VocabularyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(&s)
    }
}

impl From<StateCode> for String {
    fn from(code: StateCode) -> Self {
        code.as_str().to_owned()
    }
}

impl fmt::Display for StateCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for StateCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StateCode({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(StateCode::new("RU").unwrap().as_str(), "RU");
        for bad in ["", "R", "ru", "RUS", "R1", "ЯЯ"] {
            assert!(StateCode::new(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(!StateCode::new("FR").unwrap().is_member());
        assert_eq!(MEMBER_STATES.len(), 10);
    }

    #[test]
    fn serde_round_trip_and_refusal() {
        let s: StateCode = serde_json::from_str("\"CN\"").unwrap();
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"CN\"");
        let err = serde_json::from_str::<StateCode>("\"cn\"").unwrap_err();
        assert!(err.to_string().contains("not a state code"), "{err}");
    }
}
