//! Receipt bundles (tlog-proof): made by the log, verified offline with the trust list only.

use silkgate_log::{CheckpointError, Note, Receipt, ReceiptError};

use crate::common::{entry, log_with, trust, witness_signer};

fn cosigned_receipt(index: u64, witnesses: usize) -> (Receipt, Vec<silkgate_log::NoteSigner>) {
    let mut log = log_with(500, 100);
    let mut note = log.sign_checkpoint().unwrap();
    let signers: Vec<_> = (0..witnesses)
        .map(|i| witness_signer(&format!("witness{i}.silkgate.example"), 50 + i as u8))
        .collect();
    for s in &signers {
        note.add_signature(s.sign(note.text_unverified(), 1_764_000_000).unwrap());
    }
    (log.receipt(index, &note.to_bytes()).unwrap(), signers)
}

#[test]
fn a_receipt_verifies_offline_and_round_trips() {
    let (receipt, signers) = cosigned_receipt(321, 3);
    let refs: Vec<_> = signers.iter().collect();
    let bytes = receipt.to_bytes();
    assert!(bytes.starts_with(b"c2sp.org/tlog-proof@v1\nextra "));
    let parsed = Receipt::parse(&bytes).unwrap();
    assert_eq!(parsed, receipt);
    let v = parsed.verify(&trust(&refs, 2)).unwrap();
    assert_eq!(v.index, 321);
    assert_eq!(v.entry, entry(321));
    assert_eq!(v.checkpoint.cosigners().len(), 3);
}

#[test]
fn tampered_receipts_fail() {
    let (receipt, signers) = cosigned_receipt(77, 3);
    let refs: Vec<_> = signers.iter().collect();
    let t = trust(&refs, 2);

    let mut other_entry = receipt.clone();
    other_entry.entry = entry(78).to_bytes();
    assert!(matches!(
        other_entry.verify(&t),
        Err(ReceiptError::Inclusion(_))
    ));

    let mut other_index = receipt.clone();
    other_index.index = 76;
    assert!(matches!(
        other_index.verify(&t),
        Err(ReceiptError::Inclusion(_))
    ));

    let mut flipped = receipt.clone();
    flipped.proof[2].0[5] ^= 4;
    assert!(matches!(
        flipped.verify(&t),
        Err(ReceiptError::Inclusion(_))
    ));

    let mut truncated = receipt.clone();
    truncated.proof.pop();
    assert!(matches!(
        truncated.verify(&t),
        Err(ReceiptError::Inclusion(_))
    ));

    // Quorum: with only one of the trusted witnesses' cosignatures left.
    let note = Note::parse(&receipt.checkpoint).unwrap();
    let kept: Vec<_> = note.signatures()[..2].to_vec();
    let mut few = receipt.clone();
    few.checkpoint = Note::new(note.text_unverified(), kept).unwrap().to_bytes();
    assert!(matches!(
        few.verify(&t),
        Err(ReceiptError::Checkpoint(CheckpointError::Quorum {
            got: 1,
            required: 2
        }))
    ));

    // Another log's key: refused.
    let mut foreign = t.clone();
    foreign.log_keys = vec![crate::common::log_signer(3).verifier()];
    assert!(matches!(
        receipt.verify(&foreign),
        Err(ReceiptError::Checkpoint(_))
    ));
}

#[test]
fn malformed_receipts_name_the_line() {
    fn check(text: &str, expect: &str) {
        let err = Receipt::parse(text.as_bytes()).unwrap_err();
        assert!(err.to_string().contains(expect), "{text:?}: {err}");
    }
    check(
        "c2sp.org/tlog-proof@v1\nindex 1\n\ncp",
        "the entry is required",
    );
    check(
        "c2sp.org/tlog-proof@v2\nextra AA==\nindex 1\n\ncp",
        "line 1",
    );
    check(
        "c2sp.org/tlog-proof@v1\nextra AA==\nindex 01\n\ncp",
        "leading zero",
    );
    check(
        "c2sp.org/tlog-proof@v1\nextra AA==\nindex 1\nAAAA\n\ncp",
        "line 4",
    );
    check(
        "c2sp.org/tlog-proof@v1\nextra AA==\nindex 1\n",
        "no blank line",
    );
}
