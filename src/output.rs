//! Standard output for commands whose output is piped (`gaform plan | head`): a reader that
//! went away is not an error, where `println!` would panic.

use std::io::Write;

/// Writes `text` to stdout; a closed pipe ends the output quietly.
pub fn emit(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("cannot write output: {e}")),
        _ => Ok(()),
    }
}
