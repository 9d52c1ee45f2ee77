//! Real components the tests run against, installed by the tests themselves on first use
//! (as testcontainers-style harnesses do), so that `cargo test --workspace` on a fresh clone
//! needs nothing but the toolchain, python3 and the package registry. Each component lives
//! in its own folder under `target/`, is installed once under a file lock (parallel tests
//! and parallel test processes wait for the first), and is reused while its fingerprint
//! (what was asked for) is unchanged.

use crate::support::root;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

/// The file written last into a component's folder: its fingerprint, proof of a whole install.
const MARKER: &str = ".gaform-installed";

/// Returns `target/NAME`, installing it first (with `install`) unless a finished install of
/// the same `fingerprint` is there. A folder left by an interrupted install is removed and
/// installed afresh.
pub fn component(
    name: &str,
    fingerprint: &str,
    install: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<PathBuf, String> {
    let dir = root().join("target").join(name);
    let installed = || std::fs::read_to_string(dir.join(MARKER)).is_ok_and(|f| f == fingerprint);
    if installed() {
        return Ok(dir);
    }
    let target = root().join("target");
    std::fs::create_dir_all(&target).map_err(|e| format!("cannot create {}: {e}", target.display()))?;
    let lock_path = target.join(format!("{name}.lock"));
    let lock = File::create(&lock_path).map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock.lock().map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    // Another process may have finished the install while this one waited for the lock.
    if installed() {
        return Ok(dir);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
    }
    eprintln!("installing {name} into {} (once; later runs reuse it)", dir.display());
    install(&dir).map_err(|e| format!("cannot install {name} into {}: {e}", dir.display()))?;
    std::fs::write(dir.join(MARKER), fingerprint)
        .map_err(|e| format!("cannot write {}: {e}", dir.join(MARKER).display()))?;
    Ok(dir)
}

/// Starts installing, on a thread of its own, every component the whole suite uses, in the
/// order its tests (run in name order) first need them. On a fresh clone the suite's first
/// aws test would otherwise find moto missing and both test threads would wait on one pip
/// (half a minute with a core idle); started with the first test, the installs overlap the
/// tests that need nothing. Only when the whole suite runs: a test named on the command line
/// installs only what it uses. A test that needs a component waits for its install (the
/// same lock) and reports its error if it failed.
pub fn prefetch() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        if !whole_suite() {
            return;
        }
        std::thread::spawn(|| {
            let _ = std::panic::catch_unwind(|| {
                // Only the aws tests run moto.
                #[cfg(feature = "aws")]
                crate::moto::venv();
                crate::quant::python();
                crate::lsp::editor_venv();
                let _ = debian_package("prometheus");
                let _ = debian_package("hey");
            });
        });
    });
}

/// Whether the test binary was asked to run every test: no name filter among its arguments
/// (flags, and the values of libtest's flags that take one, are not filters).
fn whole_suite() -> bool {
    const TAKE_A_VALUE: [&str; 7] =
        ["--test-threads", "--format", "--skip", "--logfile", "--color", "-Z", "--shuffle-seed"];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if TAKE_A_VALUE.contains(&arg.as_str()) {
            args.next();
        } else if !arg.starts_with('-') {
            return false;
        }
    }
    true
}

/// A Python virtual environment at `dir` with `requirements` installed from the registry.
pub fn python_venv(dir: &Path, requirements: &[&str]) -> Result<(), String> {
    let venv = Command::new("python3").args(["-m", "venv"]).arg(dir).output().map_err(|e| {
        format!("python3 could not be started ({e}): install Python 3 (Debian: apt-get install python3 python3-venv)")
    })?;
    if !venv.status.success() {
        return Err(format!(
            "`python3 -m venv` failed (Debian: apt-get install python3-venv):\n{}",
            String::from_utf8_lossy(&venv.stderr)
        ));
    }
    let pip = Command::new(dir.join("bin/python"))
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .args(requirements)
        .output()
        .map_err(|e| format!("the venv's python could not be started: {e}"))?;
    if !pip.status.success() {
        return Err(format!(
            "pip could not install {} (is the package registry reachable?):\n{}",
            requirements.join(" "),
            String::from_utf8_lossy(&pip.stderr)
        ));
    }
    Ok(())
}

/// `target/NAME/root`: Debian's package NAME downloaded and unpacked there (no root needed,
/// nothing installed system-wide): Prometheus, a load tool.
pub fn debian_package(name: &str) -> Result<PathBuf, String> {
    let dir = component(name, &format!("debian {name} (apt-get download) v1"), |dir| {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let download = || Command::new("apt-get").args(["download", name]).current_dir(dir).output();
        let mut out = download().map_err(|e| format!("apt-get could not be started: {e}"))?;
        if !out.status.success() {
            // A machine whose package lists were never fetched: fetch them once.
            let _ = Command::new("apt-get").arg("update").output();
            out = download().map_err(|e| e.to_string())?;
        }
        if !out.status.success() {
            return Err(format!(
                "`apt-get download {name}` failed (is Debian's package registry reachable?):\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let deb = std::fs::read_dir(dir)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "deb"))
            .ok_or("apt-get download left no .deb")?;
        let unpack = Command::new("dpkg-deb").arg("-x").arg(&deb).arg(dir.join("root")).output();
        match unpack {
            Ok(o) if o.status.success() => Ok(()),
            Ok(o) => Err(format!("dpkg-deb -x failed: {}", String::from_utf8_lossy(&o.stderr))),
            Err(e) => Err(format!("dpkg-deb could not be started: {e}")),
        }
    })?;
    Ok(dir.join("root"))
}
