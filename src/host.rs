//! The compiler's host on a real file system: data paths are relative to the .gaf file,
//! and a data file must be a CSV whose header names Open, High, Low and Close.

use gaform_compiler::{DataFile, Host};
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

/// Resolves job data paths against the directory of the file being checked.
pub struct FileHost {
    base: PathBuf,
    /// Many jobs share one data file: probe each path once.
    probed: RefCell<HashMap<String, Result<DataFile, String>>>,
}

impl FileHost {
    /// A host for a `.gaf` file in `base`.
    pub fn new(base: PathBuf) -> FileHost {
        FileHost { base, probed: RefCell::new(HashMap::new()) }
    }
}

impl Host for FileHost {
    fn probe_data(&self, path: &str) -> Result<DataFile, String> {
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
    fn probe(&self, path: &str) -> Result<DataFile, String> {
        let full = self.base.join(path);
        let file = std::fs::File::open(&full).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("is missing (looked for {})", full.display()),
            _ => format!("cannot be read: {e}"),
        })?;
        let mut reader = BufReader::new(file);
        let mut header = String::new();
        reader.read_line(&mut header).map_err(|e| format!("cannot be read: {e}"))?;
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
        let mut bars = 0;
        for line in reader.lines() {
            let line = line.map_err(|e| format!("cannot be read: {e}"))?;
            bars += usize::from(!line.trim().is_empty());
        }
        Ok(DataFile { bars: Some(bars) })
    }
}
