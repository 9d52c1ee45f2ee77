//! Who a results directory belongs to (`.owner.json`): the file that declared the job, the
//! job, and a digest of its spec (the job as run and its data). Whoever writes results
//! reads it first, so that another file's job of the same name, or a run of another spec,
//! never replaces them without being told to.

use crate::store::{write_atomically, StoreError};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The owner's record, beside the results it owns.
pub const FILE: &str = ".owner.json";

/// Who wrote a results directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// The file that declared the job, as an absolute path.
    pub file: String,
    pub job: String,
    /// A digest of the job as run and of its data: equal digests, equal results.
    pub spec: String,
}

/// The owner of `dir`, if it names one (an unreadable record reads as none).
pub fn read(dir: &Path) -> Option<Owner> {
    let bytes = std::fs::read(dir.join(FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Records `owner` as `dir`'s, creating the directory.
pub fn claim(dir: &Path, owner: &Owner) -> Result<(), StoreError> {
    let io = |source| StoreError::Io { path: dir.display().to_string(), source };
    std::fs::create_dir_all(dir).map_err(io)?;
    let bytes = serde_json::to_vec_pretty(owner).map_err(|e| io(std::io::Error::other(e)))?;
    write_atomically(&dir.join(FILE), &bytes)
}

/// Whether `dir` holds results (a `best.json`) of any owner.
pub fn holds_results(dir: &Path) -> bool {
    dir.join("best.json").exists()
}

#[cfg(test)]
mod tests {
    use super::{claim, read, Owner};

    #[test]
    fn an_owner_claimed_reads_back_and_a_directory_without_one_has_none() {
        let dir = std::env::temp_dir().join(format!("gaform-owner-{}", std::process::id()));
        let results = dir.join("results/quickstart");
        assert_eq!(read(&results), None);
        let owner = Owner { file: "/w/quickstart.gaf".into(), job: "quickstart".into(), spec: "ab12".into() };
        claim(&results, &owner).unwrap();
        assert_eq!(read(&results), Some(owner));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
