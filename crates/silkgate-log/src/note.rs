//! Signed notes as C2SP `signed-note` specifies them (c2sp.org/signed-note): text signed by one
//! or more keys, each signature line naming its key by name and a 32-bit key ID.
//!
//! Two signature types are supported, the two this log needs (signed-note, "Signature types":
//! implementations SHOULD select only the ones their design requires):
//! `0x01` Ed25519 note signatures, made by a log over its checkpoints, and `0x04` timestamped
//! Ed25519 cosignatures (c2sp.org/tlog-cosignature), made by witnesses. A [`VerifierKey`] of
//! either type verifies its own kind of signature line, so one trust list checks a checkpoint's
//! log signature and its witnesses' cosignatures together.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Largest note accepted, in bytes. Notes travel between nodes and are read from untrusted
/// peers; a checkpoint with a hundred cosignatures is under 16 KiB.
pub const MAX_NOTE_SIZE: usize = 1 << 20;

/// Most signature lines accepted on one note. signed-note, "Format": verifiers MUST accept at
/// least 16.
pub const MAX_SIGNATURES: usize = 128;

/// The em dash (U+2014) and space that open a signature line (signed-note, "Format").
const SIG_PREFIX: &str = "\u{2014} ";

/// The header line of the Ed25519 cosignature message (tlog-cosignature,
/// "Ed25519 signed message").
const COSIGNATURE_HEADER: &str = "cosignature/v1\n";

/// A signature algorithm identifier byte (signed-note, "Signature types").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureType {
    /// `0x01`: Ed25519 over the note text (signed-note, "Ed25519 signatures").
    Ed25519,
    /// `0x04`: timestamped Ed25519 cosignature (tlog-cosignature, "Format").
    Cosignature,
}

impl SignatureType {
    /// The identifier byte.
    pub fn byte(self) -> u8 {
        match self {
            Self::Ed25519 => 0x01,
            Self::Cosignature => 0x04,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            0x01 => Some(Self::Ed25519),
            0x04 => Some(Self::Cosignature),
            _ => None,
        }
    }
}

/// A key name: non-empty, with no Unicode space and no `+` (signed-note, "Format").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyName(String);

impl KeyName {
    /// Checks and wraps a key name.
    ///
    /// # Errors
    /// [`NoteError::KeyName`] naming the rule broken.
    pub fn new(name: &str) -> Result<Self, NoteError> {
        let bad = |reason: &'static str| NoteError::KeyName {
            name: name.chars().take(80).collect(),
            reason,
        };
        if name.is_empty() {
            return Err(bad("it is empty"));
        }
        if name.chars().any(char::is_whitespace) {
            return Err(bad("it contains a space"));
        }
        if name.contains('+') {
            return Err(bad("it contains '+'"));
        }
        if name.chars().any(char::is_control) {
            return Err(bad("it contains a control character"));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key ID recommended by signed-note, "Signatures", and required for cosignatures by
/// tlog-cosignature, "Format": `SHA-256(key name || 0x0A || type || public key)[:4]`,
/// big-endian.
pub fn key_id(name: &KeyName, sig_type: SignatureType, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_str().as_bytes());
    h.update([0x0a, sig_type.byte()]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// One signature line: `— <key name> base64(key ID || signature)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: KeyName,
    /// The 32-bit key ID (first four bytes of the decoded signature, big-endian).
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The signature line, with its final newline.
    pub fn to_line(&self) -> String {
        let mut bytes = Vec::with_capacity(4 + self.signature.len());
        bytes.extend_from_slice(&self.key_id.to_be_bytes());
        bytes.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, BASE64.encode(bytes))
    }

    /// Parses one signature line (without its newline).
    ///
    /// # Errors
    /// [`NoteError::SignatureLine`] naming what is wrong (line number 1).
    pub fn parse_line(line: &str) -> Result<Self, NoteError> {
        parse_signature_line(line, 1)
    }
}

fn parse_signature_line(line: &str, number: usize) -> Result<NoteSignature, NoteError> {
    let bad = |reason: &'static str| NoteError::SignatureLine {
        line: number,
        reason,
    };
    let rest = line
        .strip_prefix(SIG_PREFIX)
        .ok_or(bad("does not start with an em dash and a space"))?;
    let (name, sig) = rest
        .split_once(' ')
        .ok_or(bad("has no space between key name and signature"))?;
    let name = KeyName::new(name)?;
    let bytes = BASE64
        .decode(sig)
        .map_err(|_| bad("signature is not base64"))?;
    if bytes.len() < 5 {
        return Err(bad("signature is shorter than a key ID and one byte"));
    }
    Ok(NoteSignature {
        name,
        key_id: u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
        signature: bytes[4..].to_vec(),
    })
}

/// A note as read from the wire: text and signature lines, not yet verified.
///
/// signed-note: "The text MUST be ignored unless the note is signed by a trusted key and the
/// signature has been verified"; use [`Verifiers::open`] to get at the text for any purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a signed note (signed-note, "Format").
    ///
    /// # Errors
    /// A [`NoteError`] saying which rule the bytes break.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge {
                size: bytes.len(),
                max: MAX_NOTE_SIZE,
            });
        }
        let s = std::str::from_utf8(bytes).map_err(|e| NoteError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        if let Some(offset) = s.bytes().position(|b| b < 0x20 && b != b'\n') {
            return Err(NoteError::ControlCharacter { offset });
        }
        if !s.ends_with('\n') {
            return Err(NoteError::Structure("the note does not end with a newline"));
        }
        // The text is separated from the signatures by the last empty line.
        let split = s
            .rfind("\n\n")
            .ok_or(NoteError::Structure("no blank line before the signatures"))?;
        let text = &s[..=split];
        let sig_block = &s[split + 2..];
        if sig_block.is_empty() {
            return Err(NoteError::Structure("no signature lines"));
        }
        let lines: Vec<&str> = sig_block[..sig_block.len() - 1].split('\n').collect();
        if lines.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                count: lines.len(),
                max: MAX_SIGNATURES,
            });
        }
        let signatures = lines
            .iter()
            .enumerate()
            .map(|(i, line)| parse_signature_line(line, i + 1))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Builds a note from text and signature lines.
    ///
    /// # Errors
    /// [`NoteError::Text`] when the text is not a valid note text.
    pub fn new(text: &str, signatures: Vec<NoteSignature>) -> Result<Self, NoteError> {
        check_text(text)?;
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note text, including its final newline. Unverified: see the type's documentation.
    pub fn text_unverified(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line (a witness's cosignature, say).
    pub fn add_signature(&mut self, signature: NoteSignature) {
        self.signatures.push(signature);
    }

    /// The serialised note: text, blank line, signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for s in &self.signatures {
            f.write_str(&s.to_line())?;
        }
        Ok(())
    }
}

/// Checks a text can be signed as a note: it ends in a newline, is not empty, has no control
/// character but newline (signed-note, "Format"), and does not end with an empty line (which
/// would move the text/signature separator).
fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() || !text.ends_with('\n') {
        return Err(NoteError::Text("the text must end with a newline"));
    }
    if text.ends_with("\n\n") || text == "\n" {
        return Err(NoteError::Text("the text must not end with an empty line"));
    }
    if text.bytes().any(|b| b < 0x20 && b != b'\n') {
        return Err(NoteError::Text(
            "the text contains a control character other than newline",
        ));
    }
    Ok(())
}

/// A note could not be parsed, signed or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// Larger than [`MAX_NOTE_SIZE`].
    #[error("note is {size} bytes, more than the {max} accepted")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not UTF-8 (signed-note, "Format").
    #[error("note is not valid UTF-8 (at byte {offset})")]
    NotUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// An ASCII control character other than newline (signed-note, "Format").
    #[error("note contains a control character at byte {offset}")]
    ControlCharacter {
        /// Byte offset.
        offset: usize,
    },
    /// The text / blank line / signatures layout is broken.
    #[error("malformed note: {0}")]
    Structure(&'static str),
    /// A signature line is malformed.
    #[error("signature line {line} is malformed: {reason}")]
    SignatureLine {
        /// 1-based number of the signature line.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// More signature lines than [`MAX_SIGNATURES`].
    #[error("note has {count} signatures, more than the {max} accepted")]
    TooManySignatures {
        /// Number of signature lines.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A key name breaks the rules of signed-note, "Format".
    #[error("key name '{name}' is invalid: {reason}")]
    KeyName {
        /// The name (truncated to 80 characters).
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A text to sign is not a valid note text.
    #[error("cannot sign: {0}")]
    Text(&'static str),
    /// A signature from a trusted key failed to verify; signed-note, "Signatures": clients
    /// SHOULD reject the whole note, and we do.
    #[error("signature by trusted key {key} does not verify")]
    BadSignature {
        /// `name+keyid` of the key.
        key: String,
    },
    /// No signature from a trusted key (signed-note, "Signatures": clients MUST reject).
    #[error("no signature from a trusted key (signed by: {signers})")]
    NoTrustedSignature {
        /// `name+keyid` of each signature present, comma-separated.
        signers: String,
    },
}

/// A public key that verifies one kind of signature line, as named in its verifier key string
/// (signed-note, "Verifier keys"): `<name>+<hex key ID>+base64(type || public key)`.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: KeyName,
    key_id: u32,
    sig_type: SignatureType,
    key: VerifyingKey,
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl VerifierKey {
    /// A verifier for `key` of type `sig_type` under `name`, with the key ID the specs
    /// require.
    pub fn new(name: KeyName, sig_type: SignatureType, key: VerifyingKey) -> Self {
        let key_id = key_id(&name, sig_type, key.as_bytes());
        Self {
            name,
            key_id,
            sig_type,
            key,
        }
    }

    /// Parses a verifier key string (signed-note, "Verifier keys").
    ///
    /// # Errors
    /// [`VerifierKeyError`] naming the part that is wrong. The key ID must equal the one the
    /// specs define for this name, type and key, so a typo cannot silently match nothing.
    pub fn parse(vkey: &str) -> Result<Self, VerifierKeyError> {
        // The base64 key may itself contain '+': split off name and key ID only.
        let parts: Vec<&str> = vkey.trim().splitn(3, '+').collect();
        let [name, id, key] = parts[..] else {
            return Err(VerifierKeyError::Parts { got: parts.len() });
        };
        let name = KeyName::new(name).map_err(VerifierKeyError::Name)?;
        if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(VerifierKeyError::KeyIdFormat);
        }
        let given_id = u32::from_str_radix(id, 16).map_err(|_| VerifierKeyError::KeyIdFormat)?;
        let bytes = BASE64
            .decode(key)
            .map_err(|_| VerifierKeyError::KeyBase64)?;
        let (&type_byte, key_bytes) = bytes
            .split_first()
            .ok_or(VerifierKeyError::KeyLength { got: 0 })?;
        let sig_type = SignatureType::from_byte(type_byte)
            .ok_or(VerifierKeyError::UnsupportedType { byte: type_byte })?;
        let key_array: [u8; 32] =
            key_bytes
                .try_into()
                .map_err(|_| VerifierKeyError::KeyLength {
                    got: key_bytes.len(),
                })?;
        let key = VerifyingKey::from_bytes(&key_array).map_err(|_| VerifierKeyError::KeyInvalid)?;
        let this = Self::new(name, sig_type, key);
        if this.key_id != given_id {
            return Err(VerifierKeyError::KeyIdMismatch {
                given: format!("{given_id:08x}"),
                computed: format!("{:08x}", this.key_id),
            });
        }
        Ok(this)
    }

    /// The key name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature type this key verifies.
    pub fn signature_type(&self) -> SignatureType {
        self.sig_type
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// `name+keyid`, how errors and reports name a key.
    pub fn label(&self) -> String {
        format!("{}+{:08x}", self.name, self.key_id)
    }

    /// Whether a signature line claims to be by this key (same name and key ID).
    pub fn matches(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.key_id == self.key_id
    }

    /// Verifies the signature bytes (after the key ID) of a line over `text`. Returns the
    /// cosignature timestamp for a type `0x04` key.
    ///
    /// # Errors
    /// [`NoteError::BadSignature`] when it does not verify.
    pub fn verify(&self, text: &str, signature: &[u8]) -> Result<Option<u64>, NoteError> {
        let bad = || NoteError::BadSignature { key: self.label() };
        match self.sig_type {
            SignatureType::Ed25519 => {
                let sig = ed25519_dalek::Signature::from_slice(signature).map_err(|_| bad())?;
                self.key
                    .verify_strict(text.as_bytes(), &sig)
                    .map_err(|_| bad())?;
                Ok(None)
            }
            SignatureType::Cosignature => {
                // tlog-cosignature, "Format": timestamped_signature = u64 timestamp (big
                // endian) || 64-byte Ed25519 signature.
                if signature.len() != 8 + 64 {
                    return Err(bad());
                }
                let timestamp = u64::from_be_bytes(signature[..8].try_into().map_err(|_| bad())?);
                if timestamp > i64::MAX as u64 {
                    return Err(bad());
                }
                let sig =
                    ed25519_dalek::Signature::from_slice(&signature[8..]).map_err(|_| bad())?;
                let message = cosignature_message(text, timestamp);
                self.key
                    .verify_strict(message.as_bytes(), &sig)
                    .map_err(|_| bad())?;
                Ok(Some(timestamp))
            }
        }
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = vec![self.sig_type.byte()];
        bytes.extend_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            BASE64.encode(bytes)
        )
    }
}

impl std::str::FromStr for VerifierKey {
    type Err = VerifierKeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The message an Ed25519 cosignature signs (tlog-cosignature, "Ed25519 signed message"):
/// `cosignature/v1`, `time <timestamp>`, then the whole checkpoint note text.
pub fn cosignature_message(text: &str, timestamp: u64) -> String {
    format!("{COSIGNATURE_HEADER}time {timestamp}\n{text}")
}

/// A verifier key string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifierKeyError {
    /// Not three `+`-separated parts.
    #[error("verifier key must be <name>+<key id>+<key>, found {got} '+'-separated parts")]
    Parts {
        /// Number of parts found.
        got: usize,
    },
    /// The name is invalid.
    #[error("verifier key name: {0}")]
    Name(NoteError),
    /// The key ID is not 8 hex digits.
    #[error("verifier key ID must be 8 hexadecimal digits")]
    KeyIdFormat,
    /// The key part is not base64.
    #[error("verifier key material is not base64")]
    KeyBase64,
    /// Not a supported signature type.
    #[error(
        "verifier key has signature type 0x{byte:02x}; supported: 0x01 (Ed25519), 0x04 (cosignature)"
    )]
    UnsupportedType {
        /// The type byte.
        byte: u8,
    },
    /// The public key is not 32 bytes.
    #[error("verifier key is {got} bytes after the type byte, expected a 32-byte Ed25519 key")]
    KeyLength {
        /// Length found.
        got: usize,
    },
    /// Not a valid Ed25519 point.
    #[error("verifier key is not a valid Ed25519 public key")]
    KeyInvalid,
    /// The key ID does not match name, type and key.
    #[error("verifier key ID {given} does not match the key (computed {computed})")]
    KeyIdMismatch {
        /// The ID in the string.
        given: String,
        /// The ID the spec defines for this key.
        computed: String,
    },
}

/// A signature that verified, with the key that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The key that verified it.
    pub key: VerifierKey,
    /// The cosignature timestamp, for type `0x04` keys.
    pub timestamp: Option<u64>,
}

/// A note whose signatures by trusted keys all verified, with at least one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNote {
    note: Note,
    verified: Vec<VerifiedSignature>,
}

impl VerifiedNote {
    /// The verified text.
    pub fn text(&self) -> &str {
        &self.note.text
    }

    /// The signatures by trusted keys.
    pub fn verified(&self) -> &[VerifiedSignature] {
        &self.verified
    }

    /// The note as received, with all its signature lines (trusted or not).
    pub fn note(&self) -> &Note {
        &self.note
    }
}

/// A set of trusted keys, the configuration a verifier needs (signed-note, "Signatures").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verifiers {
    keys: Vec<VerifierKey>,
}

impl Verifiers {
    /// A trust set of the given keys.
    pub fn new(keys: Vec<VerifierKey>) -> Self {
        Self { keys }
    }

    /// Adds a key.
    pub fn push(&mut self, key: VerifierKey) {
        self.keys.push(key);
    }

    /// The keys.
    pub fn keys(&self) -> &[VerifierKey] {
        &self.keys
    }

    /// Verifies a note per signed-note, "Signatures": signatures by unknown keys (name and ID
    /// not both matching) are ignored, every signature by a known key must verify, and at
    /// least one must.
    ///
    /// # Errors
    /// [`NoteError::BadSignature`] when a trusted key's signature fails;
    /// [`NoteError::NoTrustedSignature`] when no trusted key signed.
    pub fn open(&self, note: Note) -> Result<VerifiedNote, NoteError> {
        let mut verified = Vec::new();
        for sig in &note.signatures {
            for key in self.keys.iter().filter(|k| k.matches(sig)) {
                let timestamp = key.verify(&note.text, &sig.signature)?;
                verified.push(VerifiedSignature {
                    key: key.clone(),
                    timestamp,
                });
            }
        }
        if verified.is_empty() {
            let signers = note
                .signatures
                .iter()
                .map(|s| format!("{}+{:08x}", s.name, s.key_id))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(NoteError::NoTrustedSignature { signers });
        }
        Ok(VerifiedNote { note, verified })
    }
}

/// An Ed25519 signing key with its name: a log's checkpoint key (type `0x01`) or a witness's
/// cosigning key (type `0x04`).
///
/// Key files use the signer key string of Go's `golang.org/x/mod/sumdb/note`,
/// `PRIVATE+KEY+<name>+<hex key ID>+base64(type || 32-byte seed)`, so keys move between this
/// crate and that tool.
#[derive(Clone)]
pub struct NoteSigner {
    name: KeyName,
    sig_type: SignatureType,
    key: SigningKey,
    key_id: u32,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the private key.
        write!(f, "NoteSigner({}+{:08x})", self.name, self.key_id)
    }
}

impl NoteSigner {
    /// A signer from a 32-byte Ed25519 seed.
    pub fn from_seed(name: KeyName, sig_type: SignatureType, seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let key_id = key_id(&name, sig_type, key.verifying_key().as_bytes());
        Self {
            name,
            sig_type,
            key,
            key_id,
        }
    }

    /// A fresh random key from the operating system's generator.
    pub fn generate(name: KeyName, sig_type: SignatureType) -> Self {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        Self::from_seed(name, sig_type, key.to_bytes())
    }

    /// Parses a signer key string (see the type's documentation).
    ///
    /// # Errors
    /// [`VerifierKeyError`] naming the part that is wrong.
    pub fn parse(skey: &str) -> Result<Self, VerifierKeyError> {
        let rest = skey
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(VerifierKeyError::Parts { got: 0 })?;
        let parts: Vec<&str> = rest.splitn(3, '+').collect();
        let [name, id, key] = parts[..] else {
            return Err(VerifierKeyError::Parts { got: parts.len() });
        };
        let name = KeyName::new(name).map_err(VerifierKeyError::Name)?;
        let given_id = u32::from_str_radix(id, 16).map_err(|_| VerifierKeyError::KeyIdFormat)?;
        let bytes = BASE64
            .decode(key)
            .map_err(|_| VerifierKeyError::KeyBase64)?;
        let (&type_byte, seed) = bytes
            .split_first()
            .ok_or(VerifierKeyError::KeyLength { got: 0 })?;
        let sig_type = SignatureType::from_byte(type_byte)
            .ok_or(VerifierKeyError::UnsupportedType { byte: type_byte })?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| VerifierKeyError::KeyLength { got: seed.len() })?;
        let this = Self::from_seed(name, sig_type, seed);
        if this.key_id != given_id || id.len() != 8 {
            return Err(VerifierKeyError::KeyIdMismatch {
                given: id.to_owned(),
                computed: format!("{:08x}", this.key_id),
            });
        }
        Ok(this)
    }

    /// The signer key string. Secret: write it only to a file readable by the node.
    pub fn to_signer_string(&self) -> String {
        let mut bytes = vec![self.sig_type.byte()];
        bytes.extend_from_slice(&self.key.to_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.key_id,
            BASE64.encode(bytes)
        )
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey::new(self.name.clone(), self.sig_type, self.key.verifying_key())
    }

    /// The key name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature type.
    pub fn signature_type(&self) -> SignatureType {
        self.sig_type
    }

    /// Signs a note text. For a type `0x04` key this is a cosignature at `timestamp`
    /// (seconds since the Epoch, tlog-cosignature "Format"); a type `0x01` key ignores it.
    ///
    /// # Errors
    /// [`NoteError::Text`] when `text` is not a valid note text; for a cosignature, also when
    /// the timestamp exceeds 2^63 - 1.
    pub fn sign(&self, text: &str, timestamp: u64) -> Result<NoteSignature, NoteError> {
        check_text(text)?;
        let signature = match self.sig_type {
            SignatureType::Ed25519 => self.key.sign(text.as_bytes()).to_bytes().to_vec(),
            SignatureType::Cosignature => {
                if timestamp > i64::MAX as u64 {
                    return Err(NoteError::Text("cosignature timestamp exceeds 2^63 - 1"));
                }
                let message = cosignature_message(text, timestamp);
                let mut out = timestamp.to_be_bytes().to_vec();
                out.extend_from_slice(&self.key.sign(message.as_bytes()).to_bytes());
                out
            }
        };
        Ok(NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature,
        })
    }
}

#[cfg(test)]
mod tests;
