//! Records on disk: written whole or not at all (temporary file, fsync, rename), read back
//! with messages that name the file.

use crate::CloudError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;

/// Writes `value` as pretty JSON to `path` atomically, creating the directory.
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<(), CloudError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| format!("{}: {e}", path.display()))?;
    write_atomically(path, &bytes)
}

/// Writes `bytes` to `path` so that a reader sees the old content or the new, never a mix,
/// creating the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CloudError> {
    let fail = |e: std::io::Error| CloudError::io(&format!("cannot write {}", path.display()), &e);
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(fail)?;
    gaform_runtime::atomic::write_atomically(path, bytes).map_err(fail)
}

/// Reads JSON from `path`; `Ok(None)` when there is no such file.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, CloudError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{} is damaged ({e}); remove it if nothing runs", path.display()).into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CloudError::io(&format!("cannot read {}", path.display()), &e)),
    }
}
