use super::*;
use crate::hash::empty_root;
use crate::note::NoteSignature;

/// The example of tlog-checkpoint (its opening example).
const SPEC_CHECKPOINT: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

fn signer() -> NoteSigner {
    NoteSigner::from_seed(
        KeyName::new("example.com/log").unwrap(),
        SignatureType::Ed25519,
        [1; 32],
    )
}

fn witness(n: u8) -> NoteSigner {
    NoteSigner::from_seed(
        KeyName::new(&format!("example.com/w{n}")).unwrap(),
        SignatureType::Cosignature,
        [10 + n; 32],
    )
}

fn trust(witnesses: usize, quorum: usize) -> LogTrust {
    LogTrust {
        origin: "example.com/log".into(),
        log_keys: vec![signer().verifier()],
        witness_keys: (1..=witnesses as u8)
            .map(|n| witness(n).verifier())
            .collect(),
        quorum,
    }
}

#[test]
fn spec_example_parses_and_round_trips() {
    let note = Note::parse(SPEC_CHECKPOINT.as_bytes()).unwrap();
    let cp = Checkpoint::parse_text(note.text_unverified()).unwrap();
    assert_eq!(cp.origin(), "example.com/behind-the-sofa");
    assert_eq!(cp.size(), 20_852_163);
    assert_eq!(
        cp.root().to_base64(),
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    );
    assert!(cp.extensions().is_empty());
    assert_eq!(cp.to_text(), note.text_unverified());
    assert_eq!(
        note.signatures()[0].name.as_str(),
        "example.com/behind-the-sofa"
    );
}

/// tlog-checkpoint, "Note text": each rule, one malformed text, and the words of the error.
#[test]
fn malformed_checkpoint_texts_are_refused() {
    fn check(text: &str, expect: &str) {
        let err = Checkpoint::parse_text(text).expect_err("must be refused");
        assert!(
            err.to_string().contains(expect),
            "{text:?}: got '{err}', expected '{expect}'"
        );
    }
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    check("o\n1\n", "fewer than three lines");
    check(&format!("o\n1\n{root}"), "does not end with a newline");
    check(
        &format!("\n1\n{root}\n"),
        "origin (line 1) is invalid: it is empty",
    );
    check(&format!("o\n01\n{root}\n"), "leading zero");
    check(&format!("o\n-1\n{root}\n"), "not an ASCII decimal");
    check(&format!("o\n+1\n{root}\n"), "not an ASCII decimal");
    check(
        &format!("o\n\n{root}\n"),
        "size (line 2) '' is invalid: it is empty",
    );
    check(&format!("o\n18446744073709551616\n{root}\n"), "64 bits");
    check(
        "o\n1\nnot base64!\n",
        "root hash (line 3) is invalid: hash is not valid base64",
    );
    check("o\n1\nAAAA\n", "3 bytes long");
    check(
        &format!("o\n1\n{root}\n\n"),
        "extension line 4 is invalid: it is empty",
    );
    check(&format!("o\n1\n{root}\next\n\n"), "extension line 5");
}

#[test]
fn extension_lines_are_kept_and_signed() {
    let cp = Checkpoint::new("example.com/log", 0, empty_root())
        .unwrap()
        .with_extensions(vec!["ext one".into(), "ext two".into()])
        .unwrap();
    let note = cp.sign(&signer()).unwrap();
    let opened = VerifiedCheckpoint::open(&note.to_bytes(), &trust(0, 0)).unwrap();
    assert_eq!(opened.checkpoint().extensions(), ["ext one", "ext two"]);
    assert_eq!(Checkpoint::parse_text(&cp.to_text()).unwrap(), cp);
    assert!(cp.with_extensions(vec![String::new()]).is_err());
}

fn signed(size: u64) -> Note {
    let root = crate::hash::leaf_hash(&size.to_be_bytes());
    Checkpoint::new("example.com/log", size, root)
        .unwrap()
        .sign(&signer())
        .unwrap()
}

fn cosign(note: &mut Note, w: &NoteSigner, ts: u64) {
    let sig: NoteSignature = w.sign(note.text_unverified(), ts).unwrap();
    note.add_signature(sig);
}

#[test]
fn open_checks_origin_log_signature_and_counts_cosigners() {
    let mut note = signed(10);
    cosign(&mut note, &witness(1), 100);
    cosign(&mut note, &witness(2), 200);
    // A cosignature from a witness not in the trust list is ignored.
    cosign(&mut note, &witness(9), 300);
    let v = VerifiedCheckpoint::open(&note.to_bytes(), &trust(3, 2)).unwrap();
    assert_eq!(v.checkpoint().size(), 10);
    let names: Vec<&str> = v.cosigners().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["example.com/w1", "example.com/w2"]);
    assert_eq!(v.cosigners()[1].1, 200);
    v.require_quorum(2).unwrap();
    assert_eq!(
        v.require_quorum(3),
        Err(CheckpointError::Quorum {
            got: 2,
            required: 3
        })
    );
}

#[test]
fn witness_signatures_alone_do_not_make_a_checkpoint() {
    let text = signed(3).text_unverified().to_owned();
    let mut only_witness = Note::new(&text, vec![]).unwrap();
    cosign(&mut only_witness, &witness(1), 5);
    assert_eq!(
        VerifiedCheckpoint::open(&only_witness.to_bytes(), &trust(1, 0)),
        Err(CheckpointError::NoLogSignature)
    );
}

#[test]
fn wrong_origin_and_forged_cosignature_are_refused() {
    let mut t = trust(1, 1);
    t.origin = "example.com/other".into();
    assert!(matches!(
        VerifiedCheckpoint::open(&signed(1).to_bytes(), &t),
        Err(CheckpointError::OriginMismatch { .. })
    ));
    // A cosignature line by a trusted witness over another checkpoint: the whole note is
    // refused (signed-note, "Signatures": clients SHOULD reject).
    let mut note = signed(2);
    let other = signed(3);
    note.add_signature(witness(1).sign(other.text_unverified(), 7).unwrap());
    assert!(matches!(
        VerifiedCheckpoint::open(&note.to_bytes(), &trust(1, 1)),
        Err(CheckpointError::Note(NoteError::BadSignature { .. }))
    ));
}

#[test]
fn majority_quorum() {
    assert_eq!(LogTrust::majority(0), 0);
    assert_eq!(LogTrust::majority(4), 3);
    assert_eq!(LogTrust::majority(9), 5);
}
