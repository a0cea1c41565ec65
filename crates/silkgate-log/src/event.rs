//! From the node's events table to log entries.
//!
//! A [`silkgate_model::Event`] holds a kind, a subject and a JSON `detail` of identifiers,
//! hashes and decisions. [`entry_from_event`] keeps what is identifier-shaped as identifiers and
//! SHA-256 hex as digests, and replaces every other value (long signatures, nested objects,
//! anything that could be text) by the SHA-256 of its canonical JSON: the entry still commits to
//! it, but cannot carry it. So whatever a caller puts in `detail`, no free text reaches the log.

use silkgate_model::{Event, canonical::to_canonical_json};

use crate::entry::{Digest, Entry, EntryBuilder, EntryError, EventKind};

/// Digest of a JSON value's canonical form (RFC 8785 subset of `silkgate-model`).
fn value_digest(value: &serde_json::Value) -> Digest {
    // Serialising a `serde_json::Value` cannot fail.
    Digest::of(&to_canonical_json(value).expect("a JSON value serialises"))
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn hex_digest(s: &str) -> Digest {
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("checked hex");
    }
    Digest(out)
}

/// A label for a detail key: the key itself if it is a token, else `detail`.
fn label(key: &str) -> String {
    match EventKind::new(key) {
        Ok(k) => k.as_str().to_owned(),
        Err(_) => "detail".to_owned(),
    }
}

fn add_value(b: EntryBuilder, label: &str, value: &serde_json::Value) -> EntryBuilder {
    use serde_json::Value;
    match value {
        Value::Null => b,
        Value::String(s) if is_sha256_hex(s) => b.digest(label, hex_digest(s)),
        Value::String(s) if crate::entry::is_identifier(s) => b.id(label, s),
        Value::Number(n) if crate::entry::is_identifier(&n.to_string()) => b.id(label, &n.to_string()),
        Value::Bool(v) => b.id(label, if *v { "true" } else { "false" }),
        Value::Array(items)
            if items.len() <= 8
                && items.iter().all(|i| matches!(i, Value::String(s) if crate::entry::is_identifier(s) || is_sha256_hex(s))) =>
        {
            items.iter().fold(b, |b, i| add_value(b, label, i))
        }
        other => b.digest(label, value_digest(other)),
    }
}

/// The log entry for an event of the node: kind, time (`at`, seconds, as milliseconds), the
/// event's sequence number and subject as identifiers, and its detail as described in the
/// module documentation.
///
/// # Errors
/// [`EntryError`] when the kind is not a token or the detail has more than
/// [`crate::entry::MAX_ITEMS`] identifiers or digests.
pub fn entry_from_event(event: &Event) -> Result<Entry, EntryError> {
    let kind = EventKind::new(&event.kind)?;
    let time_ms = u64::try_from(event.at).unwrap_or(0).saturating_mul(1000);
    let mut b = Entry::builder(kind, time_ms).id("seq", &event.seq.to_string());
    b = add_value(
        b,
        "subject",
        &serde_json::Value::String(event.subject.clone()),
    );
    match &event.detail {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                b = add_value(b, &label(key), value);
            }
        }
        serde_json::Value::Null => {}
        other => b = b.digest("detail", value_digest(other)),
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(kind: &str, subject: &str, detail: serde_json::Value) -> Event {
        Event {
            seq: 7,
            at: 1_764_147_600,
            kind: kind.into(),
            subject: subject.into(),
            detail,
        }
    }

    /// The shape of the node's `transfer.delivery-received` event.
    #[test]
    fn identifiers_and_hashes_are_kept_other_values_only_hashed() {
        let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let long_sig = "A".repeat(200);
        let e = entry_from_event(&event(
            "transfer.delivery-received",
            "tr-0001",
            json!({
                "from_node": "node-kz",
                "ciphertext_sha256": sha,
                "ciphertext_size": 1234,
                "manifest_signature": long_sig,
                "note": "Ivan Petrov asked for this",
                "nested": {"a": 1},
                "flag": true,
                "nodes": ["node-kz", "node-cn"],
                "Bad Key": "x",
            }),
        ))
        .unwrap();
        let text = String::from_utf8(e.to_bytes()).unwrap();
        assert!(text.contains("id from_node node-kz\n"), "{text}");
        assert!(text.contains(&format!("sha256 ciphertext_sha256 {sha}\n")));
        assert!(text.contains("id ciphertext_size 1234\n"));
        assert!(text.contains("id seq 7\n"));
        assert!(text.contains("id subject tr-0001\n"));
        assert!(text.contains("id flag true\n"));
        assert!(text.contains("id nodes node-cn\nid nodes node-kz\n"));
        assert!(text.contains("time-ms 1764147600000\n"));
        assert!(!text.contains("Ivan"), "free text never enters: {text}");
        assert!(!text.contains(&long_sig));
        assert!(text.contains(&format!(
            "sha256 manifest_signature {}\n",
            Digest::of(format!("\"{long_sig}\"").as_bytes()).to_hex()
        )));
        assert!(text.contains("sha256 note "));
        assert!(
            text.contains("id detail x\n"),
            "a non-token key is labelled detail"
        );
        assert_eq!(Entry::parse(&e.to_bytes()).unwrap(), e);
    }

    #[test]
    fn bad_kinds_are_refused() {
        assert!(entry_from_event(&event("Transfer Approved", "x", json!({}))).is_err());
        let e = entry_from_event(&event("a.b", "a subject with spaces", json!(null))).unwrap();
        assert_eq!(e.ids(), [("seq".to_owned(), "7".to_owned())]);
        assert_eq!(e.digests()[0].0, "subject");
    }
}
