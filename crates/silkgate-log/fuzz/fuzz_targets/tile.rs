//! Tile paths, hash tiles and entry bundles from untrusted bytes (c2sp.org/tlog-tiles).
#![no_main]

use libfuzzer_sys::fuzz_target;
use silkgate_log::TileId;
use silkgate_log::tile::{encode_entry_bundle, parse_entry_bundle, parse_hash_tile, tile_within};

fuzz_target!(|data: &[u8]| {
    if let Ok(path) = std::str::from_utf8(data) {
        if let Ok(tile) = TileId::parse(path) {
            assert_eq!(tile.path(), path, "only canonical paths parse");
            let _ = tile_within(&tile, u64::MAX);
            let _ = parse_hash_tile(&tile, data);
        }
    }
    if let Ok(entries) = parse_entry_bundle(data) {
        assert_eq!(encode_entry_bundle(&entries).unwrap(), data);
    }
});
