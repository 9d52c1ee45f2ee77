//! The gaform binary as instances get it: the build without its debug sections. Line
//! tables and DWARF make up four fifths of a release build's bytes and none of what an
//! instance runs; the symbol table stays, so that a panic's backtrace on an instance still
//! names its functions.

use crate::CloudError;
use object::build::elf::Builder;

/// What dropping the debug sections made of a binary.
pub struct Lean {
    /// The binary without them, ready to upload.
    pub bytes: Vec<u8>,
    /// How many bytes the binary had as built.
    pub built: usize,
}

/// `binary` (a Linux ELF executable) without its `.debug_*` sections. An executable
/// without any is returned as it is.
pub fn lean(binary: &[u8]) -> Result<Lean, CloudError> {
    let mut elf = Builder::read(binary).map_err(|e| format!("not a Linux (ELF) executable: {e}"))?;
    let mut dropped = 0;
    for section in elf.sections.iter_mut() {
        if is_debug(section.name.as_slice()) {
            section.delete = true;
            dropped += 1;
        }
    }
    if dropped == 0 {
        return Ok(Lean { bytes: binary.to_vec(), built: binary.len() });
    }
    let mut bytes = Vec::with_capacity(binary.len() / 4);
    elf.write(&mut bytes).map_err(|e| format!("cannot write the executable without its debug info: {e}"))?;
    Ok(Lean { bytes, built: binary.len() })
}

/// `lean` bytes gzipped, as they are uploaded: an instance unpacks them with `gunzip` as it
/// downloads them. A quarter of the bytes to send (BENCHMARKS.md, "The artifact instances
/// get"); unpacking takes a fraction of a second.
pub fn gzip(lean: &[u8]) -> Result<Vec<u8>, CloudError> {
    use std::io::Write;
    let mut packed =
        flate2::write::GzEncoder::new(Vec::with_capacity(lean.len() / 3), flate2::Compression::fast());
    packed
        .write_all(lean)
        .and_then(|()| packed.finish())
        .map_err(|e| CloudError::from(format!("cannot gzip the binary: {e}")))
}

/// Whether a section holds debug information only (DWARF, plain or compressed).
fn is_debug(name: &[u8]) -> bool {
    name.starts_with(b".debug_") || name.starts_with(b".zdebug_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_binary_loses_its_debug_sections_and_keeps_its_code() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let lean = lean(&exe).unwrap();
        let sections = |bytes: &[u8]| -> Vec<String> {
            let elf = Builder::read(bytes).unwrap();
            elf.sections.iter().map(|s| String::from_utf8_lossy(s.name.as_slice()).into_owned()).collect()
        };
        let (before, after) = (sections(&exe), sections(&lean.bytes));
        assert!(before.iter().any(|s| s == ".debug_line"), "{before:?}");
        assert!(!after.iter().any(|s| s.starts_with(".debug_")), "{after:?}");
        let kept: Vec<&String> = before.iter().filter(|s| !s.starts_with(".debug_")).collect();
        assert_eq!(after.iter().collect::<Vec<_>>(), kept, "every other section kept, in order");
        assert!(lean.bytes.len() < exe.len() && lean.built == exe.len());
        // Dropping nothing more gives the same bytes back.
        assert_eq!(super::lean(&lean.bytes).unwrap().bytes, lean.bytes);
    }

    #[test]
    fn the_gzipped_artifact_unpacks_to_the_lean_bytes() {
        use std::io::Read;
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let lean = lean(&exe).unwrap().bytes;
        let packed = gzip(&lean).unwrap();
        assert!(packed.len() < lean.len() / 2, "{} of {}", packed.len(), lean.len());
        let mut unpacked = Vec::new();
        flate2::read::GzDecoder::new(packed.as_slice()).read_to_end(&mut unpacked).unwrap();
        assert!(unpacked == lean);
    }

    #[test]
    fn what_is_not_an_executable_is_refused_with_why() {
        let err = lean(b"#!/bin/sh\necho not elf\n").err().unwrap();
        assert!(err.to_string().starts_with("not a Linux (ELF) executable"), "{err}");
    }
}
