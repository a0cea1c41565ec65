use super::*;

/// The example of signed-note, "Verifier keys", "Example": this key verifies this note.
const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

fn spec_verifiers() -> Verifiers {
    Verifiers::new(vec![VerifierKey::parse(SPEC_VKEY).unwrap()])
}

#[test]
fn spec_example_note_verifies() {
    let key = VerifierKey::parse(SPEC_VKEY).unwrap();
    assert_eq!(key.name().as_str(), "example.com/foo");
    assert_eq!(key.key_id(), 0x530d903a);
    assert_eq!(key.signature_type(), SignatureType::Ed25519);
    assert_eq!(key.to_string(), SPEC_VKEY, "vkey round-trips");
    let note = Note::parse(SPEC_NOTE.as_bytes()).unwrap();
    assert_eq!(note.to_bytes(), SPEC_NOTE.as_bytes(), "note round-trips");
    let verified = spec_verifiers().open(note).unwrap();
    assert_eq!(verified.text(), "This is an example message.\n");
    assert_eq!(verified.verified().len(), 1);
}

#[test]
fn altered_text_fails_with_the_key_named() {
    let altered = SPEC_NOTE.replace("example message", "exemplary message");
    let note = Note::parse(altered.as_bytes()).unwrap();
    assert_eq!(
        spec_verifiers().open(note),
        Err(NoteError::BadSignature {
            key: "example.com/foo+530d903a".into()
        })
    );
}

/// signed-note, "Signatures": signatures from unknown keys are ignored, even if they share a
/// name or an ID (but not both) with a known key; with no known signature the note is refused.
#[test]
fn unknown_keys_are_ignored_and_alone_are_refused() {
    let other = NoteSigner::from_seed(
        KeyName::new("example.com/foo").unwrap(),
        SignatureType::Ed25519,
        [9; 32],
    );
    let text = "This is an example message.\n";
    let mut note = Note::parse(SPEC_NOTE.as_bytes()).unwrap();
    // Same name, different key (so different ID): ignored, the spec signature still counts.
    note.add_signature(other.sign(text, 0).unwrap());
    assert_eq!(
        spec_verifiers()
            .open(note.clone())
            .unwrap()
            .verified()
            .len(),
        1
    );
    // Only the unknown signature: refused, and the error lists who signed.
    let only_other = Note::new(text, vec![other.sign(text, 0).unwrap()]).unwrap();
    let err = spec_verifiers().open(only_other).unwrap_err();
    assert!(
        matches!(&err, NoteError::NoTrustedSignature { signers } if signers.starts_with("example.com/foo+")),
        "{err}"
    );
}

/// A table of malformed notes, each with the error it must produce (STYLE.md item 8).
#[test]
fn malformed_notes_are_refused_with_a_reason() {
    fn check(input: &[u8], expect: &str) {
        let err = Note::parse(input).expect_err("must be refused");
        assert!(
            err.to_string().contains(expect),
            "input {:?}: got '{err}', expected it to mention '{expect}'",
            String::from_utf8_lossy(input)
        );
    }
    let sig = "\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=";
    check(b"", "does not end with a newline");
    check(b"text\n", "no blank line");
    check(b"text\n\n", "no signature lines");
    check(
        format!("text\n\n{sig}").as_bytes(),
        "does not end with a newline",
    );
    check(format!("te\tx\n\n{sig}\n").as_bytes(), "control character");
    check(format!("text\r\n\n{sig}\n").as_bytes(), "control character");
    check(b"text\n\n\xff\n", "UTF-8");
    check(b"text\n\n- example.com/foo AAAAAAA=\n", "em dash");
    check(b"text\n\n\xe2\x80\x94 example.com/foo\n", "no space");
    check(b"text\n\n\xe2\x80\x94 example.com/foo !!!!\n", "not base64");
    check(
        b"text\n\n\xe2\x80\x94 example.com/foo AAAA\n",
        "shorter than a key ID",
    );
    check(b"text\n\n\xe2\x80\x94 a+b AAAAAAA=\n", "contains '+'");
    check(b"text\n\n\xe2\x80\x94  AAAAAAA=\n", "is empty");
    check(
        format!("text\n\n{sig}\n\n").as_bytes(),
        "no signature lines",
    );
    let many = format!("text\n\n{}", format!("{sig}\n").repeat(MAX_SIGNATURES + 1));
    check(many.as_bytes(), "more than the 128 accepted");
    check(&vec![b'a'; MAX_NOTE_SIZE + 1], "more than the");
}

/// The text may contain empty lines; the last one separates the signatures (signed-note,
/// "Format").
#[test]
fn text_with_empty_lines_splits_at_the_last_one() {
    let signer = NoteSigner::from_seed(
        KeyName::new("example.com/log").unwrap(),
        SignatureType::Ed25519,
        [3; 32],
    );
    let text = "line one\n\nline three\n";
    let note = Note::new(text, vec![signer.sign(text, 0).unwrap()]).unwrap();
    let parsed = Note::parse(&note.to_bytes()).unwrap();
    assert_eq!(parsed.text_unverified(), text);
    let verified = Verifiers::new(vec![signer.verifier()])
        .open(parsed)
        .unwrap();
    assert_eq!(verified.text(), text);
}

#[test]
fn signing_refuses_invalid_texts() {
    let signer = NoteSigner::from_seed(
        KeyName::new("example.com/log").unwrap(),
        SignatureType::Ed25519,
        [3; 32],
    );
    for bad in ["", "no newline", "ends with blank\n\n", "tab\there\n", "\n"] {
        assert!(
            matches!(signer.sign(bad, 0), Err(NoteError::Text(_))),
            "{bad:?} must be refused"
        );
    }
}

#[test]
fn malformed_verifier_keys_are_refused() {
    fn check(input: &str, expect: &str) {
        let err = VerifierKey::parse(input).expect_err("must be refused");
        assert!(
            err.to_string().contains(expect),
            "{input}: got '{err}', expected '{expect}'"
        );
    }
    check("example.com/foo+530d903a", "found 2");
    check(
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "does not match",
    );
    check(
        "example.com/foo+530d90+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "8 hexadecimal",
    );
    check(
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k=",
        "base64",
    );
    check(
        "example.com/foo+530d903a+AgkyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "0x02",
    );
    check(
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv",
        "bytes after the type byte",
    );
    check(
        "exa mple+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "space",
    );
}

#[test]
fn key_id_follows_the_spec_formula() {
    // signed-note, "Ed25519 signatures": SHA-256(name || 0x0A || 0x01 || key)[:4]; the spec
    // vkey's ID 530d903a is computed from its key.
    let key = VerifierKey::parse(SPEC_VKEY).unwrap();
    let name = KeyName::new("example.com/foo").unwrap();
    assert_eq!(
        key_id(&name, SignatureType::Ed25519, key.public_key().as_bytes()),
        0x530d903a
    );
    // The same key as a cosigner has a different ID (tlog-cosignature, "Format": type 0x04).
    assert_ne!(
        key_id(
            &name,
            SignatureType::Cosignature,
            key.public_key().as_bytes()
        ),
        0x530d903a
    );
}

#[test]
fn signer_strings_round_trip_and_hide_the_secret() {
    let signer = NoteSigner::generate(
        KeyName::new("example.com/w1").unwrap(),
        SignatureType::Cosignature,
    );
    let s = signer.to_signer_string();
    assert!(s.starts_with("PRIVATE+KEY+example.com/w1+"));
    let back = NoteSigner::parse(&s).unwrap();
    assert_eq!(back.verifier(), signer.verifier());
    assert!(
        !format!("{signer:?}").contains(&s[30..]),
        "Debug must not print the key"
    );
    assert!(NoteSigner::parse(&s.replace("example.com/w1", "example.com/w2")).is_err());
}

/// tlog-cosignature, "Format" and its example: the cosignature line of the spec's example
/// checkpoint decodes to key ID, then the 8-byte timestamp 1679315147 (the one in the spec's
/// example message), then a 64-byte signature.
#[test]
fn spec_cosignature_line_layout() {
    let line = "\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";
    let sig = NoteSignature::parse_line(line).unwrap();
    assert_eq!(sig.name.as_str(), "witness.example.com/w1");
    assert_eq!(sig.signature.len(), 72);
    assert_eq!(
        u64::from_be_bytes(sig.signature[..8].try_into().unwrap()),
        1_679_315_147
    );
    assert_eq!(
        cosignature_message(
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            1_679_315_147
        ),
        "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "the signed message of tlog-cosignature, \"Ed25519 signed message\""
    );
}

#[test]
fn cosignatures_verify_with_their_timestamp_and_not_as_plain_signatures() {
    let w = NoteSigner::from_seed(
        KeyName::new("example.com/w1").unwrap(),
        SignatureType::Cosignature,
        [5; 32],
    );
    let text = "example.com/log\n1\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\n";
    let sig = w.sign(text, 1_700_000_000).unwrap();
    assert_eq!(
        w.verifier().verify(text, &sig.signature),
        Ok(Some(1_700_000_000))
    );
    // Changing the timestamp breaks it.
    let mut tampered = sig.signature.clone();
    tampered[7] ^= 1;
    assert!(w.verifier().verify(text, &tampered).is_err());
    // A cosignature is not an Ed25519 note signature over the text.
    let as_plain = VerifierKey::new(
        KeyName::new("example.com/w1").unwrap(),
        SignatureType::Ed25519,
        *w.verifier().public_key(),
    );
    assert!(as_plain.verify(text, &sig.signature).is_err());
    assert!(
        w.sign(text, u64::MAX).is_err(),
        "timestamps above 2^63-1 are refused"
    );
}
