//! The compiler's host on a real file system: data paths are relative to the .gaf file,
//! and a data file must be a CSV whose header names Open, High, Low and Close.

use gaform_compiler::Host;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

/// Resolves job data paths against the directory of the file being checked.
pub struct FileHost {
    base: PathBuf,
    /// Many jobs share one data file: probe each path once.
    probed: RefCell<HashMap<String, Result<(), String>>>,
}

impl FileHost {
    /// A host for a `.gaf` file in `base`.
    pub fn new(base: PathBuf) -> FileHost {
        FileHost { base, probed: RefCell::new(HashMap::new()) }
    }
}

impl Host for FileHost {
    fn probe_data(&self, path: &str) -> Result<(), String> {
        if let Some(known) = self.probed.borrow().get(path) {
            return known.clone();
        }
        let result = self.probe(path);
        self.probed.borrow_mut().insert(path.to_string(), result.clone());
        result
    }

    fn data_digest(&self, path: &str) -> Option<String> {
        use sha2::{Digest, Sha256};
        let bytes = std::fs::read(self.base.join(path)).ok()?;
        Some(crate::cmd::stack::hex(&Sha256::digest(&bytes)))
    }
}

impl FileHost {
    fn probe(&self, path: &str) -> Result<(), String> {
        let full = self.base.join(path);
        let file = std::fs::File::open(&full).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("is missing (looked for {})", full.display()),
            _ => format!("cannot be read: {e}"),
        })?;
        let mut header = String::new();
        BufReader::new(file).read_line(&mut header).map_err(|e| format!("cannot be read: {e}"))?;
        let columns: Vec<String> =
            header.trim().split(',').map(|c| c.trim().trim_matches('"').to_ascii_lowercase()).collect();
        let missing: Vec<&str> = ["Open", "High", "Low", "Close"]
            .into_iter()
            .filter(|c| !columns.contains(&c.to_ascii_lowercase()))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("is not OHLCV: its header has no {} column", missing.join(", ")))
        }
    }
}
