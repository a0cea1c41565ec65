//! Tiles and entry bundles as C2SP `tlog-tiles` specifies them (c2sp.org/tlog-tiles,
//! "Merkle Tree" and "Log entries"): paths, contents computed from stored hashes, and a full
//! audit that recomputes a checkpoint's root from the tiles alone.

use std::fmt;

use crate::checkpoint::parse_decimal;
use crate::hash::{HASH_SIZE, Hash, leaf_hash};
use crate::tree::{Frontier, HashReader, NodeId, StorageError, TreeError};

/// Tree levels per tile: a tile is a subtree of height 8 (tlog-tiles, "Merkle Tree").
pub const TILE_HEIGHT: u8 = 8;

/// Hashes in a full tile, and entries in a full bundle (tlog-tiles, "Merkle Tree": "Full tiles
/// MUST be exactly 256 hashes wide").
pub const TILE_WIDTH: u64 = 256;

/// Largest entry an entry bundle can carry (tlog-tiles, "Log entries": big-endian uint16
/// length prefixes).
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;

/// Which resource a tile path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    /// A tile of Merkle tree hashes at tile level `L` (0 to 63).
    Hashes(u8),
    /// An entry bundle.
    Entries,
}

/// One tile or entry bundle: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// Hash tile level, or entry bundle.
    pub kind: TileKind,
    /// Index `N` of the tile within its level.
    pub index: u64,
    /// Width `W`: 256 for a full tile, 1 to 255 for a partial one.
    pub width: u16,
}

impl TileId {
    /// The path relative to the log prefix, e.g. `tile/0/x001/x234/067.p/8`.
    pub fn path(&self) -> String {
        let level = match self.kind {
            TileKind::Hashes(l) => l.to_string(),
            TileKind::Entries => "entries".to_owned(),
        };
        let mut s = format!("tile/{level}/{}", encode_index(self.index));
        if u64::from(self.width) < TILE_WIDTH {
            s.push_str(&format!(".p/{}", self.width));
        }
        s
    }

    /// Parses a path relative to the log prefix (tlog-tiles, "Merkle Tree"). Only the
    /// canonical encoding is accepted, so each resource has exactly one name.
    ///
    /// # Errors
    /// [`TileError::Path`] naming what is wrong.
    pub fn parse(path: &str) -> Result<Self, TileError> {
        let bad = |reason: &'static str| TileError::Path {
            path: path.chars().take(120).collect(),
            reason,
        };
        let rest = path
            .strip_prefix("tile/")
            .ok_or(bad("does not start with tile/"))?;
        let (level, rest) = rest.split_once('/').ok_or(bad("has no index"))?;
        let kind = if level == "entries" {
            TileKind::Entries
        } else {
            let l = parse_decimal(level).map_err(|_| bad("level is not a decimal number"))?;
            if l > 63 {
                return Err(bad("level is larger than 63"));
            }
            TileKind::Hashes(l as u8)
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((n, w)) => {
                let w = parse_decimal(w).map_err(|_| bad("width is not a decimal number"))?;
                if !(1..TILE_WIDTH).contains(&w) {
                    return Err(bad("partial width must be between 1 and 255"));
                }
                (n, w as u16)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let index =
            decode_index(index_part).ok_or(bad("index is not x-prefixed 3-digit elements"))?;
        let tile = Self { kind, index, width };
        if tile.path() != path {
            return Err(bad("not the canonical encoding"));
        }
        Ok(tile)
    }

    /// Whether this is a full (256-wide) tile.
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// The tree nodes whose hashes this tile holds, in order. For an entry bundle, the leaf
    /// hashes its entries must match.
    pub fn nodes(&self) -> Vec<NodeId> {
        let tree_level = match self.kind {
            TileKind::Hashes(l) => l * TILE_HEIGHT,
            TileKind::Entries => 0,
        };
        (0..u64::from(self.width))
            .map(|i| NodeId::new(tree_level, self.index * TILE_WIDTH + i))
            .collect()
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// Encodes a tile index as zero-padded 3-digit path elements, all but the last prefixed with
/// `x` (tlog-tiles: index 1234067 is `x001/x234/067`).
pub fn encode_index(mut n: u64) -> String {
    let mut parts = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        parts.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    parts.reverse();
    parts.join("/")
}

fn decode_index(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split('/').collect();
    let mut n: u64 = 0;
    for (i, part) in parts.iter().enumerate() {
        let digits = if i + 1 < parts.len() {
            part.strip_prefix('x')?
        } else {
            part
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n = n
            .checked_mul(1000)?
            .checked_add(digits.parse::<u64>().ok()?)?;
    }
    Some(n)
}

/// Number of hashes at tile level `level` in a tree of `size` leaves: `floor(size / 256^level)`.
fn hashes_at_level(size: u64, level: u8) -> u64 {
    let shift = u32::from(level) * u32::from(TILE_HEIGHT);
    if shift >= 64 { 0 } else { size >> shift }
}

/// Every tile and entry bundle of a tree of `size` leaves: the full ones and the rightmost
/// partial one at each level (tlog-tiles, "Partial Tiles"), level by level from 0.
pub fn tiles_for_size(size: u64, with_entries: bool) -> Vec<TileId> {
    let mut out = Vec::new();
    for level in 0..=63u8 {
        let count = hashes_at_level(size, level);
        if count == 0 {
            break;
        }
        push_level(&mut out, TileKind::Hashes(level), count);
        if level == 0 && with_entries {
            push_level(&mut out, TileKind::Entries, count);
        }
    }
    out
}

fn push_level(out: &mut Vec<TileId>, kind: TileKind, count: u64) {
    for index in 0..count / TILE_WIDTH {
        out.push(TileId {
            kind,
            index,
            width: TILE_WIDTH as u16,
        });
    }
    let rest = count % TILE_WIDTH;
    if rest > 0 {
        out.push(TileId {
            kind,
            index: count / TILE_WIDTH,
            width: rest as u16,
        });
    }
}

/// Whether `tile` exists in the tree of `size` leaves: all its hashes are there.
pub fn tile_within(tile: &TileId, size: u64) -> bool {
    let level = match tile.kind {
        TileKind::Hashes(l) => l,
        TileKind::Entries => 0,
    };
    tile.index
        .checked_mul(TILE_WIDTH)
        .and_then(|start| start.checked_add(u64::from(tile.width)))
        .is_some_and(|end| end <= hashes_at_level(size, level))
}

/// The bytes of a hash tile: its hashes concatenated (tlog-tiles, "Merkle Tree").
///
/// # Errors
/// [`TreeError::Storage`] when a hash is not stored.
pub fn read_hash_tile(tile: &TileId, reader: &impl HashReader) -> Result<Vec<u8>, TreeError> {
    let ids = tile.nodes();
    let hashes = reader.read_hashes(&ids)?;
    if hashes.len() != ids.len() {
        return Err(TreeError::ReaderCount {
            asked: ids.len(),
            got: hashes.len(),
        });
    }
    Ok(hashes.iter().flat_map(|h| h.0).collect())
}

/// Serialises entries as an entry bundle: each prefixed with its length as a big-endian
/// uint16 (tlog-tiles, "Log entries").
///
/// # Errors
/// [`TileError::EntryTooLarge`] for an entry over 65,535 bytes.
pub fn encode_entry_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let e = e.as_ref();
        let len = u16::try_from(e.len()).map_err(|_| TileError::EntryTooLarge {
            position: i,
            size: e.len(),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Splits an entry bundle into its entries.
///
/// # Errors
/// [`TileError::Bundle`] when a length prefix runs past the end.
pub fn parse_entry_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let [a, b, tail @ ..] = rest else {
            return Err(TileError::Bundle {
                entry: out.len(),
                reason: "truncated length prefix",
            });
        };
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        if tail.len() < len {
            return Err(TileError::Bundle {
                entry: out.len(),
                reason: "entry runs past the end of the bundle",
            });
        }
        out.push(&tail[..len]);
        rest = &tail[len..];
    }
    Ok(out)
}

/// Splits a hash tile into hashes, checking its length against its width.
///
/// # Errors
/// [`TileError::Size`] when the length is not `32 * width`.
pub fn parse_hash_tile(tile: &TileId, bytes: &[u8]) -> Result<Vec<Hash>, TileError> {
    let expected = usize::from(tile.width) * HASH_SIZE;
    if bytes.len() != expected {
        return Err(TileError::Size {
            tile: tile.path(),
            expected,
            got: bytes.len(),
        });
    }
    Ok(bytes
        .chunks_exact(HASH_SIZE)
        .map(|c| Hash::from_slice(c).expect("chunks_exact yields 32-byte chunks"))
        .collect())
}

/// A tile path, tile or bundle is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TileError {
    /// A path that is not a tlog-tiles resource.
    #[error("tile path '{path}' is invalid: {reason}")]
    Path {
        /// The path (truncated to 120 characters).
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A hash tile of the wrong length.
    #[error("tile {tile} is {got} bytes, expected {expected}")]
    Size {
        /// Tile path.
        tile: String,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// An entry bundle is malformed.
    #[error("entry bundle is malformed at entry {entry}: {reason}")]
    Bundle {
        /// 0-based position in the bundle.
        entry: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// An entry too large for a bundle.
    #[error("entry {position} is {size} bytes, larger than the 65535 an entry bundle allows")]
    EntryTooLarge {
        /// Position in the batch.
        position: usize,
        /// Its size.
        size: usize,
    },
}

/// Where an auditor gets tiles: a directory, an HTTP client, a store.
pub trait TileSource {
    /// Returns the bytes of a tile or entry bundle.
    ///
    /// # Errors
    /// [`StorageError`] when it cannot be fetched.
    fn fetch(&mut self, tile: &TileId) -> Result<Vec<u8>, StorageError>;
}

/// What a successful audit established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// Tree size audited.
    pub size: u64,
    /// The root recomputed from the tiles, equal to the checkpoint's.
    pub root: Hash,
    /// Tiles and bundles fetched.
    pub tiles_fetched: usize,
    /// Entries checked against their leaf hashes (0 when bundles were not fetched).
    pub entries_checked: u64,
}

/// A log's tiles do not match its checkpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A tile could not be fetched.
    #[error("could not fetch {tile}: {source}")]
    Fetch {
        /// Tile path.
        tile: String,
        /// Why.
        source: StorageError,
    },
    /// A tile or bundle is malformed.
    #[error(transparent)]
    Tile(#[from] TileError),
    /// An entry does not hash to its leaf hash in the level-0 tile.
    #[error("entry {index} does not hash to the leaf hash in its tile")]
    EntryMismatch {
        /// Leaf index.
        index: u64,
    },
    /// An entry bundle holds a different number of entries than its path says.
    #[error("entry bundle {tile} holds {got} entries, expected {expected}")]
    BundleCount {
        /// Bundle path.
        tile: String,
        /// Width from the path.
        expected: usize,
        /// Entries found.
        got: usize,
    },
    /// A hash in an upper-level tile is not the hash of the full tile below it.
    #[error("tile {tile} position {position} does not match the tiles below it")]
    UpperTileMismatch {
        /// Tile path.
        tile: String,
        /// Position in the tile.
        position: usize,
    },
    /// The root recomputed from the tiles is not the checkpoint's.
    #[error(
        "root recomputed from the tiles at size {size} is {computed}, the checkpoint says {expected}"
    )]
    RootMismatch {
        /// Tree size.
        size: u64,
        /// Root in the checkpoint.
        expected: Hash,
        /// Root computed from tiles.
        computed: Hash,
    },
}

/// The order in which [`audit_tiles`] fetches: each level-0 tile, followed by its entry bundle
/// when entries are checked, then the upper-level tiles level by level. A network source can
/// prefetch in this order.
pub fn audit_order(size: u64, check_entries: bool) -> Vec<TileId> {
    let all = tiles_for_size(size, false);
    let mut out = Vec::with_capacity(all.len() * 2);
    for tile in all.iter().filter(|t| t.kind == TileKind::Hashes(0)) {
        out.push(*tile);
        if check_entries {
            out.push(TileId {
                kind: TileKind::Entries,
                ..*tile
            });
        }
    }
    out.extend(all.iter().filter(|t| t.kind != TileKind::Hashes(0)));
    out
}

/// Audits a log from its tiles: fetches every level-0 tile (and, with `check_entries`, every
/// entry bundle, checking each entry hashes to its leaf), rebuilds the tree from the leaf
/// hashes, checks every upper-level tile against the tiles below, and checks the root equals
/// `root`. `roots_at` lists earlier tree sizes whose roots the caller wants (to check
/// consistency with checkpoints seen before); they are returned in the same order.
/// `progress` is called with the number of leaves processed so far.
///
/// # Errors
/// An [`AuditError`] saying where the tiles and the checkpoint disagree.
pub fn audit_tiles(
    size: u64,
    root: &Hash,
    roots_at: &[u64],
    check_entries: bool,
    source: &mut impl TileSource,
    progress: &mut dyn FnMut(u64),
) -> Result<(AuditReport, Vec<Hash>), AuditError> {
    let mut fetched = 0usize;
    let mut fetch = |tile: &TileId| -> Result<Vec<u8>, AuditError> {
        fetched += 1;
        source.fetch(tile).map_err(|e| AuditError::Fetch {
            tile: tile.path(),
            source: e,
        })
    };
    let mut frontier = Frontier::empty();
    let mut new_nodes = Vec::new();
    // Expected upper-tile hashes: tree level 8L nodes, keyed by tile level L.
    let mut upper: Vec<Vec<Hash>> = Vec::new();
    let mut earlier: Vec<(u64, Option<Hash>)> = roots_at.iter().map(|&s| (s, None)).collect();
    for (s, r) in &mut earlier {
        if *s == 0 {
            *r = Some(crate::hash::empty_root());
        }
    }
    let mut entries_checked = 0u64;
    for tile in tiles_for_size(size, false)
        .into_iter()
        .filter(|t| t.kind == TileKind::Hashes(0))
    {
        let bytes = fetch(&tile)?;
        let hashes = parse_hash_tile(&tile, &bytes)?;
        if check_entries {
            let bundle_id = TileId {
                kind: TileKind::Entries,
                ..tile
            };
            let bundle = fetch(&bundle_id)?;
            let entries = parse_entry_bundle(&bundle)?;
            if entries.len() != hashes.len() {
                return Err(AuditError::BundleCount {
                    tile: bundle_id.path(),
                    expected: hashes.len(),
                    got: entries.len(),
                });
            }
            for (i, (entry, h)) in entries.iter().zip(&hashes).enumerate() {
                if leaf_hash(entry) != *h {
                    return Err(AuditError::EntryMismatch {
                        index: tile.index * TILE_WIDTH + i as u64,
                    });
                }
            }
            entries_checked += entries.len() as u64;
        }
        for h in hashes {
            new_nodes.clear();
            frontier.append(h, &mut new_nodes);
            for (id, hash) in &new_nodes {
                if id.level > 0 && id.level % TILE_HEIGHT == 0 {
                    let l = usize::from(id.level / TILE_HEIGHT);
                    if upper.len() < l {
                        upper.resize(l, Vec::new());
                    }
                    upper[l - 1].push(*hash);
                }
            }
            for (s, r) in &mut earlier {
                if *s == frontier.size() {
                    *r = Some(frontier.root());
                }
            }
        }
        progress(frontier.size());
    }
    let computed = frontier.root();
    if computed != *root {
        return Err(AuditError::RootMismatch {
            size,
            expected: *root,
            computed,
        });
    }
    // Upper levels: the tiles a client would read for proofs must agree with the leaves.
    for tile in tiles_for_size(size, false) {
        let TileKind::Hashes(level) = tile.kind else {
            continue;
        };
        if level == 0 {
            continue;
        }
        let bytes = fetch(&tile)?;
        let hashes = parse_hash_tile(&tile, &bytes)?;
        let expected = &upper[usize::from(level) - 1];
        let start = (tile.index * TILE_WIDTH) as usize;
        for (i, h) in hashes.iter().enumerate() {
            if expected.get(start + i) != Some(h) {
                return Err(AuditError::UpperTileMismatch {
                    tile: tile.path(),
                    position: i,
                });
            }
        }
    }
    let roots = earlier
        .into_iter()
        .map(|(s, r)| {
            r.ok_or(AuditError::RootMismatch {
                size: s,
                expected: *root,
                computed,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((
        AuditReport {
            size,
            root: computed,
            tiles_fetched: fetched,
            entries_checked,
        },
        roots,
    ))
}

#[cfg(test)]
mod tests;
