//! Where a run's islands meet: its configuration, its data and every island's checkpoints,
//! as named byte blobs. One small interface so that a directory serves one machine and an
//! object store serves a cluster; islands never talk to each other directly.

use std::path::{Path, PathBuf};

/// A flat namespace of immutable-once-written blobs. Writes are atomic: a reader sees a
/// blob whole or not at all, so a worker killed mid-write leaves nothing half-written.
pub trait Store: Send + Sync {
    /// The blob at `key`, or `None` if none was written.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes (or replaces) the blob at `key`.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError>;
    /// Removes the blob at `key`; one that is not there is no error. Islands remove the
    /// checkpoints no one will read again, so a run's store stays bounded.
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Where the store is, for messages.
    fn describe(&self) -> String;
    /// True when a blob was written at `key`; stores that can tell without reading it
    /// override this.
    fn contains(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.get(key)?.is_some())
    }
}

/// A store that failed, or a key that cannot be stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("`{0}` is not a store key (lowercase letters, digits, `-`, `_`, `.` and `/` only)")]
    BadKey(String),
    #[error("`{0}`: unsupported store; use a directory path or file:// URL")]
    Unsupported(String),
}

/// Opens the store at `url`: a directory path, or `file://` followed by one.
pub fn open(url: &str) -> Result<LocalDir, StoreError> {
    if let Some(path) = url.strip_prefix("file://") {
        return Ok(LocalDir::new(path));
    }
    // `s3://` and friends: not in this build (the AWS provider brings S3).
    if url.contains("://") {
        return Err(StoreError::Unsupported(url.to_string()));
    }
    Ok(LocalDir::new(url))
}

/// A directory on a local (or shared) file system; keys are relative paths.
#[derive(Clone, Debug)]
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    /// The store rooted at `root` (created on first write).
    pub fn new(root: impl AsRef<Path>) -> LocalDir {
        LocalDir { root: root.as_ref().to_path_buf() }
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        check_key(key).map(|()| self.root.join(key))
    }
}

/// Every store takes the same keys: lowercase letters, digits, `-`, `_`, `.` and `/`, no
/// empty, `.` or `..` part, so a key means the same blob in a directory and in a bucket.
pub fn check_key(key: &str) -> Result<(), StoreError> {
    let valid = !key.is_empty()
        && key.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_./".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(StoreError::BadKey(key.to_string()))
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.display().to_string(), source }
}

impl Store for LocalDir {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(key)?;
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        write_atomically(&path, bytes)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&path)(e)),
            _ => Ok(()),
        }
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn contains(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.path(key)?.is_file())
    }
}

/// Writes `bytes` whole or not at all ([`crate::atomic::write_atomically`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    crate::atomic::write_atomically(path, bytes).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_keys_that_escape() {
        let dir = std::env::temp_dir().join(format!("gaform-store-{}", std::process::id()));
        let store = LocalDir::new(&dir);
        assert_eq!(store.get("islands/0/gen-5.json").unwrap(), None);
        store.put("islands/0/gen-5.json", b"{}").unwrap();
        store.put("islands/0/gen-5.json", b"[]").unwrap();
        assert_eq!(store.get("islands/0/gen-5.json").unwrap().as_deref(), Some(&b"[]"[..]));
        store.delete("islands/0/gen-5.json").unwrap();
        assert_eq!(store.get("islands/0/gen-5.json").unwrap(), None);
        store.delete("islands/0/gen-5.json").unwrap();
        for bad in ["../x", "/etc/passwd", "a//b", "A", ""] {
            assert!(matches!(store.put(bad, b""), Err(StoreError::BadKey(_))), "{bad}");
        }
        assert!(matches!(open("s3://bucket/run"), Err(StoreError::Unsupported(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
