//! Payload encryption to the consumer organisation's key: HPKE (RFC 9180) base mode,
//! DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, applied as a stream of records.
//!
//! One HPKE context seals every chunk in order (its sequence number makes each nonce unique,
//! RFC 9180 section 5.2), so records cannot be reordered; the additional data names the
//! transfer and marks the final record, so a truncated or spliced stream is refused.
//! Record layout: 4-byte big-endian ciphertext length, then the ciphertext with its tag.

use hpke::aead::{AeadTag, AesGcm128};
use hpke::inout::InOutBuf;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable as _, Kem as _, OpModeR, OpModeS, Serializable as _};

/// The suite name recorded in manifests.
pub const SUITE: &str = "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM";

/// Plaintext bytes per record: large enough that per-record overhead is negligible, small
/// enough that memory stays bounded.
pub const CHUNK_SIZE: usize = 1024 * 1024;

const INFO: &[u8] = b"silkgate payload v1";
const TAG_LEN: usize = 16;

/// Bytes before each record's ciphertext: its length, big-endian.
pub const RECORD_HEADER: usize = 4;

/// Largest record on the wire: header, a full chunk and the tag.
pub const MAX_RECORD: usize = RECORD_HEADER + CHUNK_SIZE + TAG_LEN;

type Kem = X25519HkdfSha256;

/// Why a payload could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadCryptoError {
    /// A key is not valid hex of the right length.
    #[error("field '{field}': not a valid X25519 key or encapsulation")]
    BadKey {
        /// Which field.
        field: &'static str,
    },
    /// A record failed authentication: wrong key, tampered, reordered or spliced.
    #[error("record {record} does not authenticate (wrong key or tampered payload)")]
    Tampered {
        /// 0-based record index.
        record: u64,
    },
    /// The stream ended before its final record, or continued after it.
    #[error("encrypted payload is truncated or has trailing bytes")]
    Truncated,
    /// A record claims an impossible length.
    #[error("record {record} has an invalid length")]
    BadRecord {
        /// 0-based record index.
        record: u64,
    },
}

/// A new X25519 key pair for an organisation: (private, public), each 32 bytes as hex.
pub fn generate_keypair() -> (String, String) {
    let (sk, pk) = Kem::gen_keypair();
    (hex::encode(sk.to_bytes()), hex::encode(pk.to_bytes()))
}

fn aad(transfer_id: &str, last: bool) -> Vec<u8> {
    let mut a = Vec::with_capacity(transfer_id.len() + 24);
    a.extend_from_slice(b"silkgate-record\n");
    a.extend_from_slice(transfer_id.as_bytes());
    a.push(b'\n');
    a.push(u8::from(last));
    a
}

/// Seals a payload record by record.
pub struct PayloadSealer {
    ctx: hpke::aead::AeadCtxS<AesGcm128, HkdfSha256, Kem>,
    transfer_id: String,
    finished: bool,
}

impl std::fmt::Debug for PayloadSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadSealer")
            .field("transfer_id", &self.transfer_id)
            .finish_non_exhaustive()
    }
}

impl PayloadSealer {
    /// Sets up sealing to `recipient_hex` for `transfer_id`; returns the sealer and the
    /// encapsulated key (hex) that goes in the manifest.
    ///
    /// # Errors
    /// [`PayloadCryptoError::BadKey`].
    pub fn new(
        recipient_hex: &str,
        transfer_id: &str,
    ) -> Result<(Self, String), PayloadCryptoError> {
        let bad = PayloadCryptoError::BadKey {
            field: "consumer_hpke_key",
        };
        let pk_bytes = hex::decode(recipient_hex).map_err(|_| bad.clone())?;
        let pk = <Kem as hpke::Kem>::PublicKey::from_bytes(&pk_bytes).map_err(|_| bad.clone())?;
        let (encapped, ctx) =
            hpke::setup_sender::<AesGcm128, HkdfSha256, Kem>(&OpModeS::Base, &pk, INFO)
                .map_err(|_| bad)?;
        Ok((
            Self {
                ctx,
                transfer_id: transfer_id.to_owned(),
                finished: false,
            },
            hex::encode(encapped.to_bytes()),
        ))
    }

    /// Seals one record (at most [`CHUNK_SIZE`] bytes), appending it to `out`. `last` must be
    /// true for exactly the final record.
    ///
    /// # Panics
    /// If called after the final record: that is a bug in the caller's loop.
    pub fn seal_record(&mut self, plaintext: &[u8], last: bool, out: &mut Vec<u8>) {
        let start = out.len();
        out.reserve(RECORD_HEADER + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&[0; RECORD_HEADER]);
        out.extend_from_slice(plaintext);
        self.seal_in_place(out, start, last);
    }

    /// Seals the record that starts at `out[start..]` in place: those bytes are
    /// [`RECORD_HEADER`] reserved bytes followed by the plaintext (at most [`CHUNK_SIZE`]
    /// bytes). The plaintext is encrypted where it lies, the tag appended and the length
    /// written into the header, so a record costs no copy beyond the one that filled `out`.
    /// `last` must be true for exactly the final record.
    ///
    /// # Panics
    /// If called after the final record, or if the record is too short to hold its header or
    /// longer than [`CHUNK_SIZE`]: bugs in the caller's loop.
    pub fn seal_in_place(&mut self, out: &mut Vec<u8>, start: usize, last: bool) {
        assert!(!self.finished, "no record may follow the final one");
        let body = start + RECORD_HEADER;
        assert!(
            out.len() >= body && out.len() - body <= CHUNK_SIZE,
            "a record holds its header and at most CHUNK_SIZE bytes"
        );
        self.finished = last;
        let tag = self
            .ctx
            .seal_inout_detached(
                InOutBuf::from(&mut out[body..]),
                &aad(&self.transfer_id, last),
            )
            .expect("sealing fails only after 2^96 records");
        out.extend_from_slice(&tag.to_bytes());
        let len = u32::try_from(out.len() - body).expect("bounded by CHUNK_SIZE + TAG_LEN");
        out[start..body].copy_from_slice(&len.to_be_bytes());
    }
}

/// Opens a sealed stream fed in arbitrary pieces.
pub struct PayloadOpener {
    ctx: hpke::aead::AeadCtxR<AesGcm128, HkdfSha256, Kem>,
    transfer_id: String,
    buf: Vec<u8>,
    record: u64,
    finished: bool,
}

impl std::fmt::Debug for PayloadOpener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadOpener")
            .field("transfer_id", &self.transfer_id)
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

impl PayloadOpener {
    /// Sets up opening with the recipient's private key and the manifest's encapsulated key.
    ///
    /// # Errors
    /// [`PayloadCryptoError::BadKey`].
    pub fn new(
        private_hex: &str,
        encapped_hex: &str,
        transfer_id: &str,
    ) -> Result<Self, PayloadCryptoError> {
        let sk = hex::decode(private_hex)
            .ok()
            .and_then(|b| <Kem as hpke::Kem>::PrivateKey::from_bytes(&b).ok())
            .ok_or(PayloadCryptoError::BadKey {
                field: "private_key",
            })?;
        let enc = hex::decode(encapped_hex)
            .ok()
            .and_then(|b| <Kem as hpke::Kem>::EncappedKey::from_bytes(&b).ok())
            .ok_or(PayloadCryptoError::BadKey {
                field: "hpke_encapped_key",
            })?;
        let ctx =
            hpke::setup_receiver::<AesGcm128, HkdfSha256, Kem>(&OpModeR::Base, &sk, &enc, INFO)
                .map_err(|_| PayloadCryptoError::BadKey {
                    field: "hpke_encapped_key",
                })?;
        Ok(Self {
            ctx,
            transfer_id: transfer_id.to_owned(),
            buf: Vec::new(),
            record: 0,
            finished: false,
        })
    }

    /// Feeds encrypted bytes; appends whatever plaintext they complete to `out`.
    ///
    /// # Errors
    /// [`PayloadCryptoError::Tampered`], [`PayloadCryptoError::BadRecord`] or
    /// [`PayloadCryptoError::Truncated`] (bytes after the final record).
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), PayloadCryptoError> {
        self.buf.extend_from_slice(bytes);
        let mut pos = 0;
        while self.buf.len() - pos >= 4 {
            if self.finished {
                return Err(PayloadCryptoError::Truncated);
            }
            let len =
                u32::from_be_bytes(self.buf[pos..pos + 4].try_into().expect("4 bytes")) as usize;
            if !(TAG_LEN..=CHUNK_SIZE + TAG_LEN).contains(&len) {
                return Err(PayloadCryptoError::BadRecord {
                    record: self.record,
                });
            }
            if self.buf.len() - pos - 4 < len {
                break;
            }
            let (ct, tag) = self.buf[pos + 4..pos + 4 + len].split_at(len - TAG_LEN);
            let tag = AeadTag::<AesGcm128>::from_bytes(tag).expect("TAG_LEN bytes");
            let at = out.len();
            out.resize(at + ct.len(), 0);
            // Try as a middle record, then as the final one: the tag tells which was sealed.
            // A failed open does not advance the context's sequence number, and the input is
            // untouched, so the second try sees the same bytes.
            let middle = self.ctx.open_inout_detached(
                InOutBuf::new(ct, &mut out[at..]).expect("same lengths"),
                &aad(&self.transfer_id, false),
                &tag,
            );
            if middle.is_err() {
                let opened = self.ctx.open_inout_detached(
                    InOutBuf::new(ct, &mut out[at..]).expect("same lengths"),
                    &aad(&self.transfer_id, true),
                    &tag,
                );
                if opened.is_err() {
                    out.truncate(at);
                    return Err(PayloadCryptoError::Tampered {
                        record: self.record,
                    });
                }
                self.finished = true;
            }
            self.record += 1;
            pos += 4 + len;
        }
        self.buf.drain(..pos);
        if self.finished && !self.buf.is_empty() {
            return Err(PayloadCryptoError::Truncated);
        }
        Ok(())
    }

    /// Ends the stream.
    ///
    /// # Errors
    /// [`PayloadCryptoError::Truncated`] unless the final record was seen and nothing follows.
    pub fn finish(self) -> Result<(), PayloadCryptoError> {
        if self.finished && self.buf.is_empty() {
            Ok(())
        } else {
            Err(PayloadCryptoError::Truncated)
        }
    }
}

/// Seals a whole in-memory payload (small payloads and tests).
///
/// # Errors
/// As [`PayloadSealer::new`].
pub fn seal_all(
    recipient_hex: &str,
    transfer_id: &str,
    plaintext: &[u8],
) -> Result<(Vec<u8>, String), PayloadCryptoError> {
    let (mut sealer, enc) = PayloadSealer::new(recipient_hex, transfer_id)?;
    let mut out = Vec::new();
    let mut chunks = plaintext.chunks(CHUNK_SIZE).peekable();
    if chunks.peek().is_none() {
        sealer.seal_record(&[], true, &mut out);
    }
    while let Some(c) = chunks.next() {
        sealer.seal_record(c, chunks.peek().is_none(), &mut out);
    }
    Ok((out, enc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_in_any_pieces_and_refuse_tampering() {
        let (sk, pk) = generate_keypair();
        let data: Vec<u8> = (0..(CHUNK_SIZE * 2 + 17))
            .map(|i| (i % 251) as u8)
            .collect();
        let (ct, enc) = seal_all(&pk, "t1", &data).unwrap();
        for piece in [7usize, 4096, ct.len()] {
            let mut o = PayloadOpener::new(&sk, &enc, "t1").unwrap();
            let mut out = Vec::new();
            for p in ct.chunks(piece) {
                o.feed(p, &mut out).unwrap();
            }
            o.finish().unwrap();
            assert_eq!(out, data);
        }
        // Flip one byte.
        let mut bad = ct.clone();
        bad[100] ^= 1;
        let mut o = PayloadOpener::new(&sk, &enc, "t1").unwrap();
        assert!(matches!(
            o.feed(&bad, &mut Vec::new()),
            Err(PayloadCryptoError::Tampered { record: 0 })
        ));
        // Drop the final record: truncation is detected at the end.
        let first_len = 4 + u32::from_be_bytes(ct[..4].try_into().unwrap()) as usize;
        let mut o = PayloadOpener::new(&sk, &enc, "t1").unwrap();
        o.feed(&ct[..first_len], &mut Vec::new()).unwrap();
        assert_eq!(o.finish(), Err(PayloadCryptoError::Truncated));
        // Another transfer id (a delivery replayed under another transfer) does not open.
        let mut o = PayloadOpener::new(&sk, &enc, "t2").unwrap();
        assert!(o.feed(&ct, &mut Vec::new()).is_err());
        // Another recipient cannot open.
        let (sk2, _) = generate_keypair();
        let mut o = PayloadOpener::new(&sk2, &enc, "t1").unwrap();
        assert!(o.feed(&ct, &mut Vec::new()).is_err());
        // Empty payload.
        let (ct, enc) = seal_all(&pk, "t3", b"").unwrap();
        let mut o = PayloadOpener::new(&sk, &enc, "t3").unwrap();
        let mut out = Vec::new();
        o.feed(&ct, &mut out).unwrap();
        o.finish().unwrap();
        assert!(out.is_empty());
    }
}
