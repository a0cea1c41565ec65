//! Payload blobs through `object_store`: staged writes, checked, then promoted.
//!
//! Invariant: a promoted blob survives power loss. A node signs a receipt, or acknowledges a
//! publish, only after [`Blobs::promote`] returned, and SQLite commits with
//! `synchronous=FULL`; the bytes those rows point to must be on stable storage too. Remote
//! backends (S3 and the like) are durable by their own contract once a write returns. For the
//! local backend built by [`Blobs::local`], `object_store`'s fsync mode is switched on:
//! completing a staged blob ([`BlobWriter::finish`]) calls `fsync` on the file's data, then
//! on the staging directory, and [`Blobs::promote`] fsyncs the final key's parent directory
//! (and any directory it had to create) after the rename, before returning. The system calls
//! run on tokio's blocking pool. The in-memory backend for tests has nothing to sync.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt as _, WriteMultipart};
use sha2::{Digest, Sha256};

use crate::StoreError;

/// Where payload bytes live. Keys are relative paths such as `datasets/<sha256>`.
#[derive(Debug, Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    syncs_to_disk: bool,
}

/// A blob being written: bytes go to a staging key while their SHA-256 and size are counted.
/// They are gathered into parts of [`PART_SIZE`] bytes, each handed to the backend in pieces
/// of [`WRITE_PIECE`] bytes (for local files, one `write` system call per piece).
pub struct BlobWriter {
    key: String,
    upload: WriteMultipart,
    part: Vec<u8>,
    hasher: Sha256,
    size: u64,
}

/// Bytes per part of a blob being written; at most two parts are in flight besides the one
/// being filled, so a writer holds at most three parts in memory.
pub const PART_SIZE: usize = 4 * 1024 * 1024;

/// Bytes per backend write. `object_store` alone writes local files 8 KiB at a time, a system
/// call each (131,072 per GiB); 64 KiB writes cost 16,384 calls per GiB, and keep the
/// kernel's page-cache folios small.
pub const WRITE_PIECE: usize = 64 * 1024;

impl std::fmt::Debug for BlobWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobWriter")
            .field("key", &self.key)
            .field("size", &self.size)
            .finish()
    }
}

/// A complete blob under its staging key, with its digest; promote or delete it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedBlob {
    /// The staging key.
    pub key: String,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

impl Blobs {
    /// Blobs in a local directory, durable once promoted: file data and directory entries
    /// are fsynced before [`BlobWriter::finish`] and [`Blobs::promote`] return.
    ///
    /// # Errors
    /// [`StoreError::Blob`] if the directory is unusable.
    pub fn local(dir: &Path) -> Result<Self, StoreError> {
        let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)?.with_fsync(true);
        Ok(Self {
            store: Arc::new(fs),
            syncs_to_disk: true,
        })
    }

    /// Blobs in any `object_store` backend (S3-compatible, in-memory for tests, ...), which
    /// must itself make a completed write durable (S3 does; a `LocalFileSystem` passed here
    /// should have .with_fsync(true)`).
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            store,
            syncs_to_disk: false,
        }
    }

    /// Whether these blobs fsync local files and directories themselves (true for
    /// [`Blobs::local`]); other backends are durable by their own contract.
    pub fn syncs_to_disk(&self) -> bool {
        self.syncs_to_disk
    }

    /// Starts writing a new blob under a fresh staging key.
    ///
    /// # Errors
    /// [`StoreError::Blob`].
    pub async fn writer(&self) -> Result<BlobWriter, StoreError> {
        let key = format!("staging/{}", uuid::Uuid::new_v4());
        let upload = self
            .store
            .put_multipart(&ObjectPath::from(key.as_str()))
            .await?;
        Ok(BlobWriter {
            key,
            upload: WriteMultipart::new_with_chunk_size(upload, PART_SIZE),
            // Grows with the first part, so a small blob does not reserve a whole part.
            part: Vec::new(),
            hasher: Sha256::new(),
            size: 0,
        })
    }

    /// Moves a staged blob to its final key (replacing what is there: final keys are content
    /// addressed or unique per transfer, so a replacement carries the same bytes). For local
    /// blobs the rename is fsynced (the final parent directory, and any directory created for
    /// it) before this returns; the data was fsynced when the staged blob was finished.
    ///
    /// # Errors
    /// [`StoreError::Blob`].
    pub async fn promote(&self, staged: &StagedBlob, key: &str) -> Result<(), StoreError> {
        self.store
            .rename(
                &ObjectPath::from(staged.key.as_str()),
                &ObjectPath::from(key),
            )
            .await?;
        Ok(())
    }

    /// Deletes a blob; a missing blob is not an error.
    ///
    /// # Errors
    /// [`StoreError::Blob`] for other failures.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether a blob exists, and its size.
    ///
    /// # Errors
    /// [`StoreError::Blob`] for failures other than absence.
    pub async fn size(&self, key: &str) -> Result<Option<u64>, StoreError> {
        match self.store.head(&ObjectPath::from(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Streams a blob's bytes.
    ///
    /// # Errors
    /// [`StoreError::Blob`] if it cannot be opened; the stream yields later errors.
    pub async fn read(
        &self,
        key: &str,
    ) -> Result<BoxStream<'static, Result<Bytes, StoreError>>, StoreError> {
        let got = self.store.get(&ObjectPath::from(key)).await?;
        match got.payload {
            // object_store streams local files in 8 KiB pieces, one blocking task each; large
            // payloads move several times faster in 1 MiB reads on one blocking thread.
            object_store::GetResultPayload::File(file, _) if got.range.start == 0 => {
                Ok(file_stream(file))
            }
            _ => Ok(got
                .into_stream()
                .map(|r| r.map_err(StoreError::from))
                .boxed()),
        }
    }

    /// Keys under a prefix (for tests checking that nothing was left behind).
    ///
    /// # Errors
    /// [`StoreError::Blob`].
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let prefix = ObjectPath::from(prefix);
        let mut out = Vec::new();
        let mut items = self.store.list(Some(&prefix));
        while let Some(item) = items.next().await {
            out.push(item?.location.to_string());
        }
        out.sort();
        Ok(out)
    }
}

/// Size of each read of a local blob file.
const READ_CHUNK: usize = 1024 * 1024;

fn file_stream(mut file: std::fs::File) -> BoxStream<'static, Result<Bytes, StoreError>> {
    use std::io::Read as _;
    // Two chunks in flight at most: memory stays bounded whatever the blob size.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, StoreError>>(2);
    tokio::task::spawn_blocking(move || {
        loop {
            // Read into spare capacity: no zeroing of the buffer before the kernel fills it.
            let mut buf = Vec::with_capacity(READ_CHUNK);
            let filled = match (&mut file).take(READ_CHUNK as u64).read_to_end(&mut buf) {
                Ok(n) => n,
                Err(e) => {
                    let _ = tx.blocking_send(Err(StoreError::Io {
                        path: "blob".into(),
                        source: e,
                    }));
                    return;
                }
            };
            if filled == 0 {
                return;
            }
            if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                return;
            }
        }
    });
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed()
}

/// Hands bytes to the upload as [`WRITE_PIECE`]-sized slices of the same buffer (no copy).
fn put_in_pieces(upload: &mut WriteMultipart, mut bytes: Bytes) {
    while !bytes.is_empty() {
        let piece = bytes.split_to(WRITE_PIECE.min(bytes.len()));
        upload.put(piece);
    }
}

impl BlobWriter {
    /// Appends bytes, waiting while too many parts are in flight so memory stays bounded.
    ///
    /// # Errors
    /// [`StoreError::Blob`].
    pub async fn write(&mut self, mut bytes: &[u8]) -> Result<(), StoreError> {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        while !bytes.is_empty() {
            let take = (PART_SIZE - self.part.len()).min(bytes.len());
            self.part.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.part.len() == PART_SIZE {
                self.send_part().await?;
            }
        }
        Ok(())
    }

    /// Appends bytes the caller already holds as [`Bytes`] (a received body chunk): as
    /// [`BlobWriter::write`], and a whole part's worth arriving at a part boundary goes to
    /// the backend without being copied.
    ///
    /// # Errors
    /// [`StoreError::Blob`].
    pub async fn write_bytes(&mut self, bytes: Bytes) -> Result<(), StoreError> {
        if !self.part.is_empty() || bytes.len() < PART_SIZE {
            return self.write(&bytes).await;
        }
        self.hasher.update(&bytes);
        self.size += bytes.len() as u64;
        self.upload.wait_for_capacity(2).await?;
        put_in_pieces(&mut self.upload, bytes);
        Ok(())
    }

    /// Hands the filled part to the backend, once fewer than two parts are in flight.
    async fn send_part(&mut self) -> Result<(), StoreError> {
        self.upload.wait_for_capacity(2).await?;
        let part = std::mem::replace(&mut self.part, Vec::with_capacity(PART_SIZE));
        put_in_pieces(&mut self.upload, Bytes::from(part));
        Ok(())
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Completes the staged blob.
    ///
    /// # Errors
    /// [`StoreError::Blob`].
    pub async fn finish(mut self) -> Result<StagedBlob, StoreError> {
        if !self.part.is_empty() {
            let part = std::mem::take(&mut self.part);
            put_in_pieces(&mut self.upload, Bytes::from(part));
        }
        self.upload.finish().await?;
        Ok(StagedBlob {
            key: self.key,
            sha256: hex::encode(self.hasher.finalize()),
            size: self.size,
        })
    }

    /// Abandons the blob, removing what was written.
    pub async fn abort(self) {
        if let Err(e) = self.upload.abort().await {
            tracing::warn!(key = %self.key, error = %e, "could not abort staged blob");
        }
    }
}
