//! Checkpoints and witness requests from untrusted bytes (c2sp.org/tlog-checkpoint,
//! c2sp.org/tlog-witness).
#![no_main]

use libfuzzer_sys::fuzz_target;
use silkgate_log::{
    AddCheckpoint, Checkpoint, KeyName, LogTrust, NoteSigner, SignatureType, VerifiedCheckpoint,
    Witness,
};

fuzz_target!(|data: &[u8]| {
    let key = NoteSigner::from_seed(KeyName::new("example.com/log").unwrap(), SignatureType::Ed25519, [1; 32]);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(cp) = Checkpoint::parse_text(text) {
            assert_eq!(cp.to_text(), text, "only canonical checkpoints parse");
        }
    }
    let trust = LogTrust {
        origin: "example.com/log".into(),
        log_keys: vec![key.verifier()],
        witness_keys: vec![],
        quorum: 0,
    };
    let _ = VerifiedCheckpoint::open(data, &trust);
    if let Ok(req) = AddCheckpoint::parse(data) {
        let mut w = Witness::new(NoteSigner::from_seed(
            KeyName::new("example.com/w").unwrap(),
            SignatureType::Cosignature,
            [2; 32],
        ))
        .unwrap();
        w.add_log("example.com/log", vec![key.verifier()]);
        let _ = w.add_checkpoint(&req, None, 1);
    }
});
