use super::*;

fn sample() -> Entry {
    Entry::builder(
        EventKind::new("transfer.requested").unwrap(),
        1_764_147_600_123,
    )
    .id("transfer", "tr-01JDX4")
    .id("agreement", "ag-2026-0042")
    .digest("request", Digest::of(b"test"))
    .build()
    .unwrap()
}

#[test]
fn encoding_is_canonical_and_round_trips() {
    let e = sample();
    let text = String::from_utf8(e.to_bytes()).unwrap();
    assert_eq!(
        text,
        "silkgate-log-entry/v1\nkind transfer.requested\ntime-ms 1764147600123\n\
         id agreement ag-2026-0042\nid transfer tr-01JDX4\n\
         sha256 request 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n",
        "identifiers sorted by label; SHA-256(\"test\") from FIPS 180-4 examples"
    );
    assert_eq!(Entry::parse(text.as_bytes()).unwrap(), e);
    // Built in another order, the same event has the same bytes.
    let other = Entry::builder(
        EventKind::new("transfer.requested").unwrap(),
        1_764_147_600_123,
    )
    .digest("request", Digest::of(b"test"))
    .id("agreement", "ag-2026-0042")
    .id("transfer", "tr-01JDX4")
    .build()
    .unwrap();
    assert_eq!(other.to_bytes(), e.to_bytes());
}

#[test]
fn non_canonical_or_foreign_encodings_are_refused() {
    fn check(text: &str, expect: &str) {
        let err = Entry::parse(text.as_bytes()).expect_err("must be refused");
        assert!(
            err.to_string().contains(expect),
            "{text:?}: got '{err}', expected '{expect}'"
        );
    }
    let good = String::from_utf8(sample().to_bytes()).unwrap();
    let swapped = good.replace(
        "id agreement ag-2026-0042\nid transfer tr-01JDX4\n",
        "id transfer tr-01JDX4\nid agreement ag-2026-0042\n",
    );
    check(&swapped, "canonical order");
    check(&good.replace("/v1", "/v2"), "unknown format or version");
    check(
        &good.replace("time-ms 1764147600123", "time-ms 01764147600123"),
        "time-ms is not",
    );
    check(good.trim_end(), "does not end with a newline");
    check(&format!("{good}note free text here\n"), "unknown tag");
    check(&good.replace("9f86d0", "9F86D0"), "lower-case hex");
    check(
        &format!("{good}id person john@example.org\n"),
        "identifier 'person' is invalid",
    );
    check(
        &good.replace("kind transfer.requested", "kind Transfer"),
        "kind 'Transfer'",
    );
    check(
        &format!("{good}id transfer tr-01JDX4\n"),
        "duplicate identifier",
    );
}

/// The invariant of the module: only tokens, short identifiers without spaces or '@', and
/// digests get in, so free text and payload bytes cannot.
#[test]
fn personal_data_shapes_are_refused() {
    let kind = || EventKind::new("registration").unwrap();
    for value in [
        "Ivan Petrov",
        "ivan@example.org",
        "",
        &"x".repeat(129),
        "a\nb",
        "тест",
    ] {
        let err = Entry::builder(kind(), 0).id("organisation", value).build();
        assert!(
            matches!(err, Err(EntryError::Identifier { .. })),
            "{value:?} must be refused"
        );
    }
    let too_many =
        (0..=MAX_ITEMS).fold(Entry::builder(kind(), 0), |b, i| b.id("x", &format!("{i}")));
    assert!(matches!(too_many.build(), Err(EntryError::TooMany { .. })));
    let dup = Entry::builder(kind(), 0).id("a", "1").id("a", "1").build();
    assert!(matches!(dup, Err(EntryError::Duplicate { .. })));
    // The largest entry possible fits an entry bundle (uint16 length).
    let mut big = Entry::builder(kind(), u64::MAX);
    for i in 0..MAX_ITEMS {
        big = big
            .id(&format!("l{i:0>63}"), &format!("{i:0>128}"))
            .digest(&format!("d{i:0>63}"), Digest([0xff; 32]));
    }
    let big = big.build().unwrap();
    assert!(big.to_bytes().len() <= crate::tile::MAX_ENTRY_SIZE);
}
