//! Signed notes and verifier keys from untrusted bytes (c2sp.org/signed-note).
#![no_main]

use libfuzzer_sys::fuzz_target;
use silkgate_log::{KeyName, Note, NoteSigner, SignatureType, VerifierKey, Verifiers};

fuzz_target!(|data: &[u8]| {
    let key = NoteSigner::from_seed(KeyName::new("example.com/log").unwrap(), SignatureType::Ed25519, [1; 32]);
    let witness = NoteSigner::from_seed(KeyName::new("example.com/w").unwrap(), SignatureType::Cosignature, [2; 32]);
    if let Ok(note) = Note::parse(data) {
        // A parsed note re-serialises to the same bytes.
        assert_eq!(note.to_bytes(), data);
        let _ = Verifiers::new(vec![key.verifier(), witness.verifier()]).open(note);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(vkey) = VerifierKey::parse(text) {
            assert_eq!(VerifierKey::parse(&vkey.to_string()).unwrap(), vkey);
        }
        let _ = NoteSigner::parse(text);
    }
});
