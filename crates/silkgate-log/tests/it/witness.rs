//! Witnessing: the add-checkpoint checks of tlog-witness, in order, with their HTTP statuses,
//! and fork evidence.

use silkgate_log::witness::{conflict_body, response_body};
use silkgate_log::{
    AddCheckpoint, Checkpoint, CosignedState, Hash, Log, MemoryStorage, Note, VerifiedCheckpoint,
    Witness, WitnessError,
};

use crate::common::{ORIGIN, entry, log_signer, log_with, trust, witness_signer};

fn witness() -> Witness {
    let mut w = Witness::new(witness_signer("witness.cn.silkgate.example", 40)).unwrap();
    w.add_log(ORIGIN, vec![log_signer(1).verifier()]);
    w
}

fn request(log: &mut Log<MemoryStorage>, old_size: u64) -> AddCheckpoint {
    let note = log.sign_checkpoint().unwrap();
    AddCheckpoint {
        old_size,
        proof: log.consistency_proof(old_size, log.size()).unwrap(),
        checkpoint: note.to_bytes(),
    }
}

/// The example request body of tlog-witness, "add-checkpoint".
#[test]
fn spec_request_body_parses_and_round_trips() {
    let body = "old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\u{2014} example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";
    let req = AddCheckpoint::parse(body.as_bytes()).unwrap();
    assert_eq!(req.old_size, 20_852_014);
    assert_eq!(req.proof.len(), 4);
    assert_eq!(
        req.proof[0].to_base64(),
        "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw="
    );
    assert_eq!(
        Witness::origin_of(&req).unwrap(),
        "example.com/behind-the-sofa"
    );
    assert_eq!(req.to_bytes(), body.as_bytes());
    // Not a log this witness knows: 404.
    let err = witness().add_checkpoint(&req, None, 1).unwrap_err();
    assert_eq!(err.http_status(), 404);
}

#[test]
fn malformed_requests_are_400() {
    for (body, expect) in [
        ("old 1\n", "no blank line"),
        ("new 1\n\nx", "first line must be 'old <size>'"),
        ("old 01\n\nx", "leading zeroes"),
        ("old 1\nnot-base64\n\nx", "not base64"),
        ("old 1\nAAAA\n\nx", "not a 32-byte hash"),
    ] {
        let err = AddCheckpoint::parse(body.as_bytes()).unwrap_err();
        assert_eq!(err.http_status(), 400);
        assert!(err.to_string().contains(expect), "{body:?}: {err}");
    }
    let too_many = format!(
        "old 1\n{}\nx",
        format!("{}\n", Hash([0; 32]).to_base64()).repeat(64)
    );
    assert!(
        AddCheckpoint::parse(too_many.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("63")
    );
}

#[test]
fn a_growing_log_is_cosigned_at_each_step() {
    let w = witness();
    let mut log = log_with(10, 10);
    let first = w
        .add_checkpoint(&request(&mut log, 0), None, 1_000)
        .unwrap();
    assert_eq!(first.state.size, 10);
    log.append_batch(&(10..300).map(entry).collect::<Vec<_>>())
        .unwrap();
    let second = w
        .add_checkpoint(&request(&mut log, 10), Some(&first.state), 2_000)
        .unwrap();
    assert_eq!(second.state.size, 300);
    // The response body, appended to the checkpoint, verifies as a cosigned checkpoint.
    let mut cosigned = log.sign_checkpoint().unwrap().to_string();
    cosigned.push_str(&response_body(std::slice::from_ref(&second.cosignature)));
    let signer = witness_signer("witness.cn.silkgate.example", 40);
    let v = VerifiedCheckpoint::open(cosigned.as_bytes(), &trust(&[&signer], 1)).unwrap();
    assert_eq!(v.cosigners()[0].1, 2_000);
    // Same checkpoint again: accepted (equal size and root, empty proof).
    w.add_checkpoint(&request(&mut log, 300), Some(&second.state), 3_000)
        .unwrap();
}

#[test]
fn refusals_carry_the_status_tlog_witness_assigns() {
    let w = witness();
    let mut log = log_with(10, 10);
    let state = w
        .add_checkpoint(&request(&mut log, 0), None, 1)
        .unwrap()
        .state;

    // 409 with the latest size when the old size is not the cosigned one.
    log.append_batch(&[entry(10)]).unwrap();
    let err = w
        .add_checkpoint(&request(&mut log, 5), Some(&state), 2)
        .unwrap_err();
    assert_eq!(err, WitnessError::Conflict { latest_size: 10 });
    assert_eq!(err.http_status(), 409);
    assert_eq!(conflict_body(10), "10\n");

    // 400 when old size exceeds the checkpoint.
    let mut req = request(&mut log, 10);
    req.old_size = 12;
    assert_eq!(
        w.add_checkpoint(&req, Some(&state), 2)
            .unwrap_err()
            .http_status(),
        400
    );

    // 403 when signed by another key for the origin.
    let mut impostor = Log::open(ORIGIN, log_signer(2), log.storage().clone()).unwrap();
    let err = w
        .add_checkpoint(&request(&mut impostor, 10), Some(&state), 2)
        .unwrap_err();
    assert_eq!(err.http_status(), 403, "{err}");

    // 422 for a non-empty proof from size 0.
    let mut req = request(&mut log, 0);
    req.proof = vec![Hash([1; 32])];
    assert_eq!(
        w.add_checkpoint(&req, None, 2).unwrap_err().http_status(),
        422
    );

    // 422 for a size-0 checkpoint whose root is not the empty tree's.
    let bad_empty = Checkpoint::new(ORIGIN, 0, Hash([1; 32]))
        .unwrap()
        .sign(&log_signer(1))
        .unwrap();
    let req = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: bad_empty.to_bytes(),
    };
    assert_eq!(
        w.add_checkpoint(&req, None, 2).unwrap_err().http_status(),
        422
    );

    // 422 for a proof that does not verify (a bit flipped).
    let mut req = request(&mut log, 10);
    req.proof[0].0[0] ^= 1;
    let err = w.add_checkpoint(&req, Some(&state), 2).unwrap_err();
    assert_eq!(err.http_status(), 422);
    assert!(err.evidence().is_some());
}

/// A node rewrites an old entry, rebuilds its tree and re-signs: the witness that cosigned the
/// old history refuses, and keeps both signed checkpoints as evidence.
#[test]
fn a_rewritten_history_is_refused_with_both_checkpoints_as_evidence() {
    let w = witness();
    let mut honest = log_with(100, 100);
    let state = w
        .add_checkpoint(&request(&mut honest, 0), None, 1)
        .unwrap()
        .state;

    // Rewritten: entry 42 replaced, same size, then grown.
    let mut rewritten = Log::open(ORIGIN, log_signer(1), MemoryStorage::new()).unwrap();
    let mut entries: Vec<_> = (0..100).map(entry).collect();
    entries[42] = entry(4_242);
    rewritten.append_batch(&entries).unwrap();
    // Same size: a fork.
    let same_size = request(&mut rewritten, 100);
    let err = w.add_checkpoint(&same_size, Some(&state), 2).unwrap_err();
    let WitnessError::Fork {
        size: 100,
        evidence,
    } = &err
    else {
        panic!("expected a fork, got {err}");
    };
    assert_eq!(evidence.previous, state.checkpoint);
    assert_eq!(evidence.submitted, same_size.checkpoint);
    // Both pieces of evidence are checkpoints validly signed by the log.
    for signed in [&evidence.previous, &evidence.submitted] {
        VerifiedCheckpoint::open(signed, &trust(&[], 0)).unwrap();
    }
    let a = Note::parse(&evidence.previous).unwrap();
    let b = Note::parse(&evidence.submitted).unwrap();
    assert_ne!(a.text_unverified(), b.text_unverified());

    // Grown after the rewrite: the best proof the log can make does not verify.
    rewritten
        .append_batch(&(100..150).map(entry).collect::<Vec<_>>())
        .unwrap();
    let err = w
        .add_checkpoint(&request(&mut rewritten, 100), Some(&state), 3)
        .unwrap_err();
    assert!(matches!(err, WitnessError::Inconsistent { .. }), "{err}");
    assert_eq!(err.evidence().unwrap().previous, state.checkpoint);
    assert_eq!(err.http_status(), 422);

    // The honest log is still cosigned.
    honest
        .append_batch(&(100..150).map(entry).collect::<Vec<_>>())
        .unwrap();
    w.add_checkpoint(&request(&mut honest, 100), Some(&state), 4)
        .unwrap();
}

#[test]
fn a_witness_needs_a_cosignature_key() {
    assert!(Witness::new(log_signer(1)).is_err());
    let state = CosignedState {
        size: 0,
        root: silkgate_log::empty_root(),
        checkpoint: vec![],
    };
    // A cosigned empty tree needs no proof to move on.
    let mut log = log_with(3, 3);
    witness()
        .add_checkpoint(&request(&mut log, 0), Some(&state), 1)
        .unwrap();
}
