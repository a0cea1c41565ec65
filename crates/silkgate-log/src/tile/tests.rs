use super::*;

fn t(kind: TileKind, index: u64, width: u16) -> TileId {
    TileId { kind, index, width }
}

/// tlog-tiles, "Merkle Tree": index 1234067 is `x001/x234/067`; `.p/<W>` marks partial tiles.
#[test]
fn paths_follow_the_spec() {
    fn check(tile: TileId, path: &str) {
        assert_eq!(tile.path(), path);
        assert_eq!(TileId::parse(path).unwrap(), tile, "{path} parses back");
    }
    check(
        t(TileKind::Hashes(0), 1_234_067, 256),
        "tile/0/x001/x234/067",
    );
    check(t(TileKind::Hashes(0), 0, 256), "tile/0/000");
    check(t(TileKind::Hashes(1), 5, 17), "tile/1/005.p/17");
    check(t(TileKind::Hashes(63), 1000, 1), "tile/63/x001/000.p/1");
    check(
        t(TileKind::Entries, 1_234_067, 112),
        "tile/entries/x001/x234/067.p/112",
    );
    check(t(TileKind::Entries, 999, 256), "tile/entries/999");
    check(
        t(TileKind::Hashes(2), u64::MAX, 256),
        "tile/2/x018/x446/x744/x073/x709/x551/615",
    );
}

#[test]
fn malformed_paths_are_refused() {
    fn check(path: &str, expect: &str) {
        let err = TileId::parse(path).expect_err("must be refused");
        assert!(
            err.to_string().contains(expect),
            "{path}: got '{err}', expected '{expect}'"
        );
    }
    check("tiles/0/000", "does not start with tile/");
    check("tile/0", "has no index");
    check("tile/64/000", "larger than 63");
    check("tile/01/000", "level is not a decimal");
    check("tile/-1/000", "level is not a decimal");
    check("tile/0/00", "x-prefixed 3-digit");
    check("tile/0/0000", "x-prefixed 3-digit");
    check("tile/0/001/234", "x-prefixed 3-digit");
    check("tile/0/x001", "x-prefixed 3-digit");
    check("tile/0/x000/001", "canonical");
    check("tile/0/000.p/0", "between 1 and 255");
    check("tile/0/000.p/256", "between 1 and 255");
    check("tile/0/000.p/07", "width is not a decimal");
    check("tile/0/000.p/", "width is not a decimal");
    check("tile/0/x018/x446/x744/x073/x709/x551/616", "x-prefixed");
    check("tile/data/000", "level is not a decimal");
    check("tile/0/000/", "x-prefixed");
}

/// tlog-tiles, "Partial Tiles": "a tree of size 70,000 will be represented by 273 full level 0
/// tiles, one partial level 0 tile of width 112, one full level 1 tile, one partial level 1
/// tile of width 17, and one partial level 2 tile of width 1. Note that a tree of size 256
/// will be represented by a full level 0 tile and a partial level 1 tile of width 1."
#[test]
fn tiles_for_size_matches_the_spec_examples() {
    let tiles = tiles_for_size(70_000, false);
    let count = |level: u8, full: bool| {
        tiles
            .iter()
            .filter(|x| x.kind == TileKind::Hashes(level) && x.is_full() == full)
            .count()
    };
    assert_eq!(count(0, true), 273);
    assert_eq!(count(1, true), 1);
    assert_eq!(count(2, true), 0);
    let partial: Vec<(TileKind, u16)> = tiles
        .iter()
        .filter(|x| !x.is_full())
        .map(|x| (x.kind, x.width))
        .collect();
    assert_eq!(
        partial,
        [
            (TileKind::Hashes(0), 112),
            (TileKind::Hashes(1), 17),
            (TileKind::Hashes(2), 1)
        ]
    );
    assert_eq!(
        tiles_for_size(256, false),
        [t(TileKind::Hashes(0), 0, 256), t(TileKind::Hashes(1), 0, 1)]
    );
    assert!(
        tiles_for_size(0, true).is_empty(),
        "empty tiles MUST NOT be served"
    );
    let with_entries = tiles_for_size(300, true);
    assert!(with_entries.contains(&t(TileKind::Entries, 1, 44)));
}

#[test]
fn tile_within_checks_the_published_size() {
    assert!(tile_within(&t(TileKind::Hashes(0), 0, 256), 256));
    assert!(!tile_within(&t(TileKind::Hashes(0), 1, 1), 256));
    assert!(tile_within(&t(TileKind::Hashes(1), 0, 1), 256));
    assert!(!tile_within(&t(TileKind::Hashes(1), 0, 2), 511));
    assert!(tile_within(&t(TileKind::Hashes(1), 0, 2), 512));
    assert!(!tile_within(
        &t(TileKind::Hashes(0), u64::MAX, 256),
        u64::MAX
    ));
    assert!(tile_within(&t(TileKind::Entries, 0, 5), 5));
}

#[test]
fn entry_bundles_round_trip_and_refuse_truncation() {
    let entries: Vec<Vec<u8>> = vec![b"a".to_vec(), Vec::new(), vec![7; 300]];
    let bytes = encode_entry_bundle(&entries).unwrap();
    assert_eq!(&bytes[..3], [0, 1, b'a']);
    assert_eq!(&bytes[5..7], [1, 44], "300 as a big-endian uint16");
    let parsed = parse_entry_bundle(&bytes).unwrap();
    assert_eq!(
        parsed,
        entries.iter().map(|e| e.as_slice()).collect::<Vec<_>>()
    );
    assert!(matches!(
        parse_entry_bundle(&bytes[..bytes.len() - 1]),
        Err(TileError::Bundle { entry: 2, .. })
    ));
    assert!(matches!(
        parse_entry_bundle(&[0]),
        Err(TileError::Bundle {
            entry: 0,
            reason: "truncated length prefix"
        })
    ));
    assert!(matches!(
        encode_entry_bundle(&[vec![0u8; 65_536]]),
        Err(TileError::EntryTooLarge {
            position: 0,
            size: 65_536
        })
    ));
}

#[test]
fn hash_tiles_must_have_their_exact_length() {
    let tile = t(TileKind::Hashes(0), 0, 2);
    assert_eq!(parse_hash_tile(&tile, &[0; 64]).unwrap().len(), 2);
    assert!(matches!(
        parse_hash_tile(&tile, &[0; 65]),
        Err(TileError::Size {
            expected: 64,
            got: 65,
            ..
        })
    ));
    assert!(parse_hash_tile(&t(TileKind::Hashes(0), 0, 256), &[0; 8191]).is_err());
}
