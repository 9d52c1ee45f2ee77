//! The compiler's host on a real file system: data paths are relative to the .gaf file,
//! and a data file must be a CSV whose header names Open, High, Low and Close.

use gaform_compiler::{DataFile, Host};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;

/// Resolves job data paths against the directory of the file being checked.
pub struct FileHost {
    base: PathBuf,
    /// Many jobs share one data file, and a plan both probes it and digests it: read each
    /// path once, keeping what the probe found and the bytes' digest.
    read: RefCell<HashMap<String, Read>>,
}

/// What one read of a data file gave.
#[derive(Clone)]
struct Read {
    probe: Result<DataFile, String>,
    /// `None` when the file could not be read.
    digest: Option<String>,
}

impl FileHost {
    /// A host for a `.gaf` file in `base`.
    pub fn new(base: PathBuf) -> FileHost {
        FileHost { base, read: RefCell::new(HashMap::new()) }
    }

    fn read(&self, path: &str) -> Read {
        if let Some(known) = self.read.borrow().get(path) {
            return known.clone();
        }
        let read = match std::fs::read(self.base.join(path)) {
            Ok(bytes) => {
                use sha2::{Digest, Sha256};
                let digest = Some(crate::cmd::stack::hex(&Sha256::digest(&bytes)));
                Read { probe: probe(&String::from_utf8_lossy(&bytes)), digest }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Read {
                probe: Err(format!("is missing (looked for {})", self.base.join(path).display())),
                digest: None,
            },
            Err(e) => Read { probe: Err(format!("cannot be read: {e}")), digest: None },
        };
        self.read.borrow_mut().insert(path.to_string(), read.clone());
        read
    }
}

impl Host for FileHost {
    fn probe_data(&self, path: &str) -> Result<DataFile, String> {
        self.read(path).probe
    }

    fn data_digest(&self, path: &str) -> Option<String> {
        self.read(path).digest
    }
}

/// Whether `text` is OHLCV (its header names Open, High, Low and Close), and its bars.
fn probe(text: &str) -> Result<DataFile, String> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let columns: Vec<String> =
        header.trim().split(',').map(|c| c.trim().trim_matches('"').to_ascii_lowercase()).collect();
    let missing: Vec<&str> = ["Open", "High", "Low", "Close"]
        .into_iter()
        .filter(|c| !columns.contains(&c.to_ascii_lowercase()))
        .collect();
    if !missing.is_empty() {
        return Err(format!("is not OHLCV: its header has no {} column", missing.join(", ")));
    }
    // Every non-blank line after the header is a bar, as the runtime's loader counts them
    // (a malformed row is the loader's error, with its line, when the job runs).
    Ok(DataFile { bars: Some(lines.filter(|l| !l.trim().is_empty()).count()) })
}
