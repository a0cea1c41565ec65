//! Canonical serialisation and Ed25519 signatures of documents.
//!
//! A signature must be checkable by a third party years later from the document alone, so the
//! signed bytes cannot depend on a serialiser's whims (field order, whitespace, a crate feature
//! that changes map ordering). The canonical form follows RFC 8785 (JSON Canonicalization
//! Scheme) for the values our documents use: object keys sorted, no insignificant whitespace,
//! strings escaped as JSON requires. Non-integer numbers are refused rather than canonicalised,
//! because no Silkgate document needs them and float formatting is where implementations drift.
//!
//! The signed message is `silkgate-doc-v1\n<kind>\n<canonical JSON>`: the kind separates domains
//! so a signature over a receipt can never be replayed as a signature over a manifest.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A document type that can be signed; `KIND` is its stable, versioned domain-separation tag
/// (e.g. `"delivery-manifest/v1"`). Changing it breaks every existing signature.
pub trait Document: Serialize + DeserializeOwned {
    /// The stable tag of this document type.
    const KIND: &'static str;
}

/// Why a document could not be canonicalised or a signature did not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalError {
    /// The document could not be serialised at all.
    #[error("document does not serialise: {0}")]
    Serialise(#[from] serde_json::Error),
    /// A non-integer number, at the JSON path given.
    #[error("field '{path}': non-integer numbers are not allowed in signed documents")]
    Float {
        /// JSON path of the offending value, e.g. `terms.share`.
        path: String,
    },
    /// The signature is not valid base64 of 64 bytes.
    #[error("field 'signature': {reason}")]
    MalformedSignature {
        /// What is wrong with it.
        reason: String,
    },
    /// The signature does not verify under the given key over these bytes.
    #[error("signature by '{signer}' does not verify over this {kind} document")]
    BadSignature {
        /// Key id the envelope claims.
        signer: String,
        /// Document kind.
        kind: &'static str,
    },
}

/// Serialises a value in canonical JSON (see the module documentation).
///
/// # Errors
/// [`CanonicalError::Float`] for non-integer numbers; [`CanonicalError::Serialise`] if serde fails.
pub fn to_canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    let value = serde_json::to_value(value)?;
    let mut out = Vec::with_capacity(256);
    write_canonical(&value, &mut out, &mut String::new())?;
    Ok(out)
}

fn write_canonical(
    value: &Value,
    out: &mut Vec<u8>,
    path: &mut String,
) -> Result<(), CanonicalError> {
    match value {
        Value::Null | Value::Bool(_) | Value::String(_) => {
            serde_json::to_writer(&mut *out, value)?;
        }
        Value::Number(n) => {
            if !(n.is_i64() || n.is_u64()) {
                return Err(CanonicalError::Float { path: path.clone() });
            }
            serde_json::to_writer(&mut *out, value)?;
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                write_canonical(item, out, path)?;
                path.truncate(len);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // RFC 8785 sorts by UTF-16 code units; for the ASCII keys our documents use that is
            // the same as byte order. Sorting here, not relying on the map type, keeps the
            // result independent of serde_json's `preserve_order` feature.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key)?;
                out.push(b':');
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                write_canonical(&map[key], out, path)?;
                path.truncate(len);
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// The exact bytes an Ed25519 signature over `doc` covers.
///
/// # Errors
/// As [`to_canonical_json`].
pub fn signing_message<T: Document>(doc: &T) -> Result<Vec<u8>, CanonicalError> {
    let mut msg = format!("silkgate-doc-v1\n{}\n", T::KIND).into_bytes();
    msg.extend(to_canonical_json(doc)?);
    Ok(msg)
}

/// A document with one signature over its canonical form, as it travels between nodes and is
/// shown to third parties later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "T: Document")]
pub struct Signed<T: Document> {
    /// The document as signed.
    pub document: T,
    /// Identifier of the signing key (e.g. a node id), for the verifier to look the key up.
    pub signer: String,
    /// Base64 (standard alphabet, padded) of the 64-byte Ed25519 signature.
    pub signature: String,
}

impl<T: Document> Signed<T> {
    /// Signs `document` with `key`, naming the signer `signer`.
    ///
    /// # Errors
    /// As [`to_canonical_json`].
    pub fn sign(
        document: T,
        signer: impl Into<String>,
        key: &SigningKey,
    ) -> Result<Self, CanonicalError> {
        let sig = key.sign(&signing_message(&document)?);
        Ok(Self {
            document,
            signer: signer.into(),
            signature: B64.encode(sig.to_bytes()),
        })
    }

    /// Checks the signature under `key` and returns the document it covers.
    ///
    /// # Errors
    /// [`CanonicalError::MalformedSignature`] or [`CanonicalError::BadSignature`].
    pub fn verify(&self, key: &VerifyingKey) -> Result<&T, CanonicalError> {
        let bytes =
            B64.decode(&self.signature)
                .map_err(|e| CanonicalError::MalformedSignature {
                    reason: format!("not base64: {e}"),
                })?;
        let sig =
            Signature::from_slice(&bytes).map_err(|_| CanonicalError::MalformedSignature {
                reason: format!("expected 64 bytes, got {}", bytes.len()),
            })?;
        key.verify_strict(&signing_message(&self.document)?, &sig)
            .map_err(|_| CanonicalError::BadSignature {
                signer: self.signer.clone(),
                kind: T::KIND,
            })?;
        Ok(&self.document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Note {
        zeta: u32,
        alpha: String,
        nested: serde_json::Value,
    }
    impl Document for Note {
        const KIND: &'static str = "test-note/v1";
    }

    #[test]
    fn keys_sorted_no_whitespace() {
        let v = json!({"b": 1, "a": {"d": [true, null], "c": "x\ny"}});
        assert_eq!(
            String::from_utf8(to_canonical_json(&v).unwrap()).unwrap(),
            r#"{"a":{"c":"x\ny","d":[true,null]},"b":1}"#
        );
    }

    #[test]
    fn floats_refused_with_path() {
        let err = to_canonical_json(&json!({"terms": {"share": 0.5}})).unwrap_err();
        assert!(err.to_string().contains("terms.share"), "{err}");
    }

    #[test]
    fn sign_verify_and_tamper() {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let doc = Note {
            zeta: 7,
            alpha: "KZ".into(),
            nested: json!({"k": [1, 2]}),
        };
        let signed = Signed::sign(doc, "node-kz", &key).unwrap();
        assert_eq!(signed.verify(&key.verifying_key()).unwrap().zeta, 7);

        // Survives a JSON round trip with a different field order.
        let wire = serde_json::to_string(&signed).unwrap();
        let back: Signed<Note> = serde_json::from_str(&wire).unwrap();
        back.verify(&key.verifying_key()).unwrap();

        let mut tampered = signed.clone();
        tampered.document.zeta = 8;
        assert!(matches!(
            tampered.verify(&key.verifying_key()),
            Err(CanonicalError::BadSignature { .. })
        ));

        let other = SigningKey::generate(&mut rand::rngs::OsRng);
        assert!(signed.verify(&other.verifying_key()).is_err());

        let mut garbled = signed.clone();
        garbled.signature = "not base64!".into();
        assert!(matches!(
            garbled.verify(&key.verifying_key()),
            Err(CanonicalError::MalformedSignature { .. })
        ));
    }
}
