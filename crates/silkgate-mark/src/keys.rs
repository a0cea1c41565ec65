//! Keyed derivations: every choice a mark makes comes from HMAC-SHA-256 under the provider
//! node's marking secret, so nobody without the secret can tell which cells carry a mark or
//! what a recipient's fingerprint is, and the provider can recompute both at tracing time from
//! the marking record alone.

use hmac::Mac as _;

use crate::MarkError;

/// HMAC-SHA-256 (RFC 2104) from the `hmac` and `sha2` crates, which the scanner uses too. The
/// keyed state is computed once and cloned per derivation (two SHA-256 states, no allocation),
/// and `sha2` uses the CPU's SHA extensions where present: the per-cell HMAC is the cost of
/// marking and tracing, and this is about 2.5 times faster per cell than a fresh context of
/// the FFI implementation used before (same function, same outputs).
#[derive(Clone)]
struct HmacSha256(hmac::Hmac<sha2::Sha256>);

impl HmacSha256 {
    fn new(key: &[u8]) -> Self {
        HmacSha256(
            hmac::Hmac::<sha2::Sha256>::new_from_slice(key)
                .expect("HMAC accepts a key of any length"),
        )
    }

    fn start(&self) -> Mac {
        Mac(self.0.clone())
    }
}

/// One HMAC computation in progress.
#[derive(Clone)]
struct Mac(hmac::Hmac<sha2::Sha256>);

impl Mac {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    fn finalize(self) -> [u8; 32] {
        self.0.finalize().into_bytes().into()
    }
}

/// Domain-separation prefix of every derivation; a new scheme gets a new prefix.
pub(crate) const SCHEME: &str = "silkgate-mark/v1";

/// The provider node's marking secret (32 bytes). Kept apart from the node's signing key: it
/// never leaves the node and never signs anything.
#[derive(Clone)]
pub struct MarkKey(HmacSha256);

impl MarkKey {
    /// Wraps 32 secret bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        // Keyed once here; every derivation clones the keyed state instead of re-keying.
        MarkKey(HmacSha256::new(&bytes))
    }

    /// Reads a key from 64 hex digits (surrounding whitespace ignored), as stored in a key file.
    ///
    /// # Errors
    /// [`MarkError::Key`] if the text is not 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, MarkError> {
        let bytes = hex::decode(text.trim()).map_err(|e| MarkError::Key(e.to_string()))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| MarkError::Key(format!("expected 32 bytes, got {}", b.len())))?;
        Ok(MarkKey::from_bytes(arr))
    }

    fn mac(&self) -> Mac {
        self.0.start()
    }

    /// The key under which cell identities of one dataset are derived. It is the same for every
    /// copy of the dataset, so tracing computes each found cell's identity once, not once per
    /// candidate recipient.
    pub(crate) fn dataset_key(&self, dataset: &str) -> DatasetKey {
        let mut mac = self.mac();
        mac.update(SCHEME.as_bytes());
        mac.update(b" dataset\0");
        mac.update(dataset.as_bytes());
        DatasetKey(HmacSha256::new(&mac.finalize()))
    }

    /// A copy's fingerprint in one column: `symbols` pseudo-random u32 values, one per
    /// fingerprint position. Each column has its own, so agreement at a position in one column
    /// says nothing about another column and positions are independent trials. Derived from
    /// the delivery's identifiers, so the marking record needs to hold no secret.
    pub(crate) fn fingerprint(
        &self,
        dataset: &str,
        transfer_id: &str,
        recipient: &str,
        column: &str,
        symbols: u32,
    ) -> Vec<u32> {
        let mut out = Vec::with_capacity(symbols as usize);
        let mut block = 0u32;
        while out.len() < symbols as usize {
            let mut mac = self.mac();
            mac.update(SCHEME.as_bytes());
            mac.update(b" fingerprint\0");
            for part in [dataset, transfer_id, recipient, column] {
                mac.update(part.as_bytes());
                mac.update(b"\0");
            }
            mac.update(&block.to_be_bytes());
            let bytes = mac.finalize();
            for chunk in bytes.chunks_exact(4) {
                if out.len() < symbols as usize {
                    out.push(u32::from_be_bytes(chunk.try_into().expect("4-byte chunk")));
                }
            }
            block += 1;
        }
        out
    }

    /// A keyed stream of numbers for building one copy's canary records.
    pub(crate) fn canary_stream<'a>(
        &'a self,
        dataset: &'a str,
        transfer_id: &'a str,
        recipient: &'a str,
    ) -> impl FnMut(u64) -> u64 + 'a {
        move |i| {
            let mut mac = self.mac();
            mac.update(SCHEME.as_bytes());
            mac.update(b" canary\0");
            for part in [dataset, transfer_id, recipient] {
                mac.update(part.as_bytes());
                mac.update(b"\0");
            }
            mac.update(&i.to_be_bytes());
            let bytes = mac.finalize();
            u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"))
        }
    }
    /// The `draw`-th keyed number of the reservoir that picks, for canary record `canary`, the
    /// real row its cell of column `column` (by position in the table) is copied from. Each
    /// (canary, column) pair has a stream of its own, so the picks are independent and a column
    /// first seen late in a JSON Lines file draws the same numbers whenever it appears.
    pub(crate) fn canary_pick(
        &self,
        delivery: &crate::Delivery,
        canary: u32,
        column: usize,
        draw: u64,
    ) -> u64 {
        let mut mac = self.mac();
        mac.update(SCHEME.as_bytes());
        mac.update(b" canary-pick\0");
        for part in [
            &delivery.dataset,
            &delivery.transfer_id,
            &delivery.recipient,
        ] {
            mac.update(part.as_bytes());
            mac.update(b"\0");
        }
        mac.update(&canary.to_be_bytes());
        mac.update(&(column as u64).to_be_bytes());
        mac.update(&draw.to_be_bytes());
        let bytes = mac.finalize();
        u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"))
    }
}

impl std::fmt::Debug for MarkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MarkKey(<secret>)")
    }
}

/// What the keyed hash says about one cell identity.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CellChoice {
    /// Whether this cell carries a mark.
    pub selected: bool,
    /// The fingerprint position it carries.
    pub position: u32,
    /// A keyed offset added to the fingerprint symbol, so equal symbols do not show as equal
    /// digits across cells.
    pub mask: u32,
    /// Keyed tag of the identity, used in canary digests of marked columns.
    pub tag: [u8; 8],
}

impl CellChoice {
    /// Canary digest of the cell whose identity this is and whose residue is `digit`, as
    /// stored in a marking record: `<tag hex>:<digit>`.
    pub fn canary_digest(&self, digit: u32) -> String {
        format!("{}:{digit}", hex::encode(self.tag))
    }
}

/// Reads a marked-column canary digest written by [`CellChoice::canary_digest`] back into the
/// tag and residue, so tracing can compare without formatting a string per cell.
pub(crate) fn parse_canary_digest(d: &str) -> Option<([u8; 8], u32)> {
    let (tag, digit) = d.split_once(':')?;
    let tag: [u8; 8] = hex::decode(tag).ok()?.try_into().ok()?;
    Some((tag, digit.parse().ok()?))
}

/// Pre-keyed HMAC for one dataset's cell identities and canary digests.
#[derive(Clone)]
pub(crate) struct DatasetKey(HmacSha256);

/// [`DatasetKey`] with one column's part of the cell identity absorbed (see
/// [`DatasetKey::column`]).
#[derive(Clone)]
pub(crate) struct ColumnKey {
    mac: Mac,
    modulus: u32,
}

impl ColumnKey {
    /// The choice for the cell of this column whose value without its marked residue is
    /// `stable`; equal to [`DatasetKey::cell`] with this column's name, decimals and modulus.
    pub fn cell(&self, stable: i128, select_one_in: u32, symbols: u32) -> CellChoice {
        let mut mac = self.mac.clone();
        mac.update(&stable.to_be_bytes());
        let b = mac.finalize();
        let sel = u64::from_be_bytes(b[0..8].try_into().expect("8 bytes"));
        let pos = u64::from_be_bytes(b[8..16].try_into().expect("8 bytes"));
        let mask = u64::from_be_bytes(b[16..24].try_into().expect("8 bytes"));
        CellChoice {
            selected: sel % u64::from(select_one_in) == 0,
            position: (pos % u64::from(symbols)) as u32,
            mask: (mask % u64::from(self.modulus)) as u32,
            tag: b[24..32].try_into().expect("8 bytes"),
        }
    }
}

impl DatasetKey {
    /// The choice for the cell of `column` whose value, with its marked low-order residue
    /// removed, is `stable`. The identity depends only on the column name and the cell's own
    /// high-order part, not on a primary key, row position or other columns, so it survives
    /// row subsets, shuffles, and dropped or reordered columns.
    pub fn cell(
        &self,
        column: &str,
        decimals: u32,
        modulus: u32,
        stable: i128,
        select_one_in: u32,
        symbols: u32,
    ) -> CellChoice {
        self.column(column, decimals, modulus)
            .cell(stable, select_one_in, symbols)
    }

    /// The keyed state for the cells of one marked column, with the column's part of every
    /// cell identity already absorbed, so marking a row hashes only the cell's own value.
    /// [`ColumnKey::cell`] gives exactly what [`DatasetKey::cell`] gives for that column.
    pub fn column(&self, column: &str, decimals: u32, modulus: u32) -> ColumnKey {
        let mut mac = self.0.start();
        mac.update(b"cell\0");
        mac.update(column.as_bytes());
        mac.update(b"\0");
        mac.update(&decimals.to_be_bytes());
        mac.update(&modulus.to_be_bytes());
        ColumnKey { mac, modulus }
    }
    /// A short keyed digest of a normalised cell value, for recognising canary records without
    /// keeping their values in the marking record.
    pub fn canary_digest(&self, column: &str, normalised: &str) -> String {
        let mut mac = self.0.start();
        mac.update(b"canary-cell\0");
        mac.update(column.as_bytes());
        mac.update(b"\0");
        mac.update(normalised.as_bytes());
        hex::encode(&mac.finalize()[..12])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231, test case 2: marks made before keep tracing only if the function is
    /// exactly HMAC-SHA-256.
    #[test]
    fn hmac_is_rfc_4231() {
        let mut mac = HmacSha256::new(b"Jefe").start();
        mac.update(b"what do ya ");
        mac.update(b"want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
