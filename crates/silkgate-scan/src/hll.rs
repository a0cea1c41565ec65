//! A HyperLogLog sketch (Flajolet, Fusy, Gandouet, Meunier 2007) to estimate the number of
//! distinct values in a column with fixed memory, so a file of any size gives a
//! data-subject estimate in 4 KiB per identifier column.

/// Register index bits: 2^12 registers, standard error 1.04/√4096 ≈ 1.6 %.
const P: u32 = 12;
const M: usize = 1 << P;

/// A distinct-count sketch.
#[derive(Clone)]
pub struct HyperLogLog {
    registers: Box<[u8; M]>,
}

impl Default for HyperLogLog {
    fn default() -> Self {
        Self {
            registers: Box::new([0; M]),
        }
    }
}

impl std::fmt::Debug for HyperLogLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HyperLogLog(~{})", self.estimate())
    }
}

/// A 64-bit hash of `bytes` for the sketch: 8-byte words folded with a multiply-xorshift
/// step, then the SplitMix64 finaliser so every output bit depends on every input bit
/// (HyperLogLog reads the top bits for the register and the rest for the rank). Not keyed:
/// it only counts, it protects nothing.
///
/// The bytes after the last whole word are read as the last 8 bytes of the input
/// (overlapping the previous word), or for inputs under 8 bytes as two overlapping 4-byte
/// halves or three single bytes; with the length folded in first, equal hashes still need
/// equal inputs apart from collisions of the mixing. No copy to a padded buffer (which costs
/// a store-forwarding stall per value).
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let len = bytes.len();
    let mut h: u64 = (len as u64).wrapping_mul(K);
    let mut mix = |w: u64| {
        h = (h ^ w).wrapping_mul(K);
        h ^= h >> 29;
    };
    let word = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
    let half = |i: usize| {
        u64::from(u32::from_le_bytes(
            bytes[i..i + 4].try_into().expect("4 bytes"),
        ))
    };
    let whole = len / 8;
    for i in 0..whole {
        mix(word(8 * i));
    }
    if !len.is_multiple_of(8) {
        if len >= 8 {
            mix(word(len - 8));
        } else if len >= 4 {
            mix(half(0) | (half(len - 4) << 32));
        } else {
            mix(u64::from(bytes[0])
                | (u64::from(bytes[len / 2]) << 8)
                | (u64::from(bytes[len - 1]) << 16));
        }
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

impl HyperLogLog {
    /// Adds a value by its 64-bit hash.
    pub fn insert_hash(&mut self, h: u64) {
        let idx = (h >> (64 - P)) as usize;
        let rest = (h << P) | (1 << (P - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        // An unconditional maximum: no branch to mispredict on a random rank.
        let r = &mut self.registers[idx];
        *r = (*r).max(rank);
    }

    /// The estimated number of distinct values added, with the small-range (linear counting)
    /// correction of the original paper.
    pub fn estimate(&self) -> u64 {
        let m = M as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let mut sum = 0.0;
        let mut zeros = 0;
        for &r in self.registers.iter() {
            sum += 1.0 / f64::from(1u32 << r.min(31));
            if r == 0 {
                zeros += 1;
            }
        }
        let raw = alpha * m * m / sum;
        let e = if raw <= 2.5 * m && zeros > 0 {
            m * (m / f64::from(zeros)).ln()
        } else {
            raw
        };
        e.round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_of_short_and_long_inputs_counts() {
        for len in 0..40usize {
            let base: Vec<u8> = (0..len as u8).map(|i| b'A' + i).collect();
            let h0 = hash_bytes(&base);
            for i in 0..len {
                let mut v = base.clone();
                v[i] ^= 0x01;
                assert_ne!(hash_bytes(&v), h0, "len {len} byte {i}");
            }
            let mut longer = base.clone();
            longer.push(0);
            assert_ne!(hash_bytes(&longer), h0, "len {len} and a trailing zero");
        }
    }

    #[test]
    fn estimates_within_a_few_percent() {
        for n in [0u64, 1, 10, 1_000, 50_000, 300_000] {
            let mut h = HyperLogLog::default();
            for i in 0..n {
                let v = format!("person-{i}");
                h.insert_hash(hash_bytes(v.as_bytes()));
                // Repeats do not count.
                h.insert_hash(hash_bytes(v.as_bytes()));
            }
            let e = h.estimate() as f64;
            let tolerance = (n as f64 * 0.05).max(1.0);
            assert!((e - n as f64).abs() <= tolerance, "n={n} estimate={e}");
        }
    }
}
