//! The compiler's host on a real file system: data paths are relative to the .gaf file,
//! and a data file must be a CSV whose header names Open, High, Low and Close.

use gaform_compiler::{ir, DataFile, Host, WindowBars};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Resolves job data paths against the directory of the file being checked.
pub struct FileHost {
    base: PathBuf,
    /// Many jobs share one data file, and a plan both probes it and digests it: read each
    /// path once, keeping what the probe found and the bytes' digest.
    read: RefCell<HashMap<String, Read>>,
    /// Each file's bar timestamps, for the windows of a hold-out or walk-forward.
    times: RefCell<HashMap<String, Option<Vec<i64>>>>,
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
        FileHost { base, read: RefCell::new(HashMap::new()), times: RefCell::new(HashMap::new()) }
    }

    /// The timestamps of the file at `path`, when it loads (cached).
    fn times(&self, path: &str) -> Option<Vec<i64>> {
        if let Some(known) = self.times.borrow().get(path) {
            return known.clone();
        }
        let loaded = gaform_runtime::data::load(&self.base.join(path)).ok().map(|d| d.time);
        self.times.borrow_mut().insert(path.to_string(), loaded.clone());
        loaded
    }

    fn read(&self, path: &str) -> Read {
        if let Some(known) = self.read.borrow().get(path) {
            return known.clone();
        }
        let read = match std::fs::read(self.base.join(path)) {
            Ok(bytes) => {
                use sha2::{Digest, Sha256};
                let digest = Some(gaform_runtime::hex::hex(&Sha256::digest(&bytes)));
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

    fn data_beside(&self, path: &str) -> Vec<String> {
        if self.base.join(path).exists() {
            return Vec::new();
        }
        let written = std::path::Path::new(path);
        let dir = written.parent().unwrap_or(std::path::Path::new(""));
        let look_in = self.base.join(dir);
        let look_in = if look_in.as_os_str().is_empty() { std::path::PathBuf::from(".") } else { look_in };
        let Ok(entries) = std::fs::read_dir(look_in) else { return Vec::new() };
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.to_ascii_lowercase().ends_with(".csv"))
            .map(|n| dir.join(n).display().to_string())
            .collect();
        names.sort();
        names
    }

    fn data_digest(&self, paths: &[String]) -> Option<String> {
        let digests: Vec<String> = paths.iter().map(|p| self.read(p).digest).collect::<Option<_>>()?;
        match digests.as_slice() {
            [one] => Some(one.clone()),
            many => {
                use sha2::{Digest, Sha256};
                let mut all = Sha256::new();
                for (path, digest) in paths.iter().zip(many) {
                    all.update(format!("{path}\0{digest}\n"));
                }
                Some(gaform_runtime::hex::hex(&all.finalize()))
            }
        }
    }

    fn expand_data(&self, pattern: &str) -> Result<Vec<String>, String> {
        let path = Path::new(pattern);
        let (dir, name) = (path.parent().unwrap_or(Path::new("")), path.file_name().unwrap_or_default());
        if dir.to_string_lossy().contains(['*', '?', '[']) {
            return Err("has a pattern in its directory: only the file name may have one".into());
        }
        let matcher = globset::GlobBuilder::new(&name.to_string_lossy())
            .literal_separator(true)
            .build()
            .map_err(|e| format!("is not a pattern: {e}"))?
            .compile_matcher();
        let listing = self.base.join(dir);
        let listing = if listing.as_os_str().is_empty() { PathBuf::from(".") } else { listing };
        let listed =
            std::fs::read_dir(&listing).map_err(|e| format!("cannot list {}: {e}", listing.display()))?;
        let mut found: Vec<String> = listed
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
            .map(|entry| entry.file_name())
            .filter(|file| matcher.is_match(file))
            .map(|file| dir.join(file).to_string_lossy().into_owned())
            .collect();
        found.sort();
        if found.is_empty() {
            return Err(format!("matches no file in {}", listing.display()));
        }
        Ok(found)
    }

    fn windows(
        &self,
        paths: &[String],
        validation: &ir::Validation,
    ) -> Option<Result<Vec<Vec<WindowBars>>, String>> {
        let times: Vec<(String, Vec<i64>)> =
            paths.iter().map(|p| Some((p.clone(), self.times(p)?))).collect::<Option<_>>()?;
        let files: Vec<(&str, &[i64])> = times.iter().map(|(p, t)| (p.as_str(), t.as_slice())).collect();
        let folds = crate::job::validation(validation).folds(&files).map_err(|e| e.to_string());
        Some(folds.map(|folds| {
            folds
                .into_iter()
                .map(|fold| {
                    fold.into_iter()
                        .map(|split| WindowBars {
                            train: split.train.len(),
                            test: split.test.map(|t| t.len()),
                        })
                        .collect()
                })
                .collect()
        }))
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
