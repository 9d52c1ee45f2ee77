//! The watcher beside the server: reads the job's `best.json` every poll, swaps in each new
//! one, and (a replica on aws) says how it is in a heartbeat on S3. A blocking thread: file
//! and S3 reads are its only work, and they never hold up a request.

use super::http::Shared;
use super::served;
use super::setup::Setup;
use gaform_providers::local::agent::Registration;
use gaform_providers::local::StackDir;
use std::sync::Arc;
use std::time::Duration;

/// Loads `best.json` whenever its bytes change and swaps it in; a file that is not a
/// finished run's best is said once and the last good one kept. Returns only when a local
/// replica's slot is no longer its own.
pub fn watch(shared: Arc<Shared>, mut setup: Setup, slot: Option<(StackDir, Registration)>, poll: Duration) {
    let mut version = 0;
    // The bytes served now, and the last ones refused: neither is read again until it changes.
    let (mut loaded, mut refused): (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
    let mut failing = false;
    loop {
        if let Some((stack, me)) = &slot {
            if !me.is_current(stack) {
                errln!(
                    "{} was replaced or removed by apply: stopping",
                    me.record.address.instance(me.record.index)
                );
                return;
            }
        }
        let bytes = match setup.source.read() {
            Ok(bytes) => {
                failing = false;
                bytes
            }
            Err(e) => {
                // Said once per outage; the strategy served stays.
                if !failing {
                    errln!("{e}");
                }
                failing = true;
                None
            }
        };
        if let Some(bytes) = bytes.filter(|b| Some(b) != loaded.as_ref() && Some(b) != refused.as_ref()) {
            match served::load(&bytes, version + 1, setup.costs, setup.data_digest.as_deref()) {
                Ok(served) => {
                    version = served.version;
                    errln!("serving version {version} (run {}): {}", served.run, served.strategy);
                    shared.swap(served);
                    (loaded, refused) = (Some(bytes), None);
                }
                Err(why) => {
                    let why = format!("{} is not served: {why}", setup.source.name());
                    errln!("{why}");
                    shared.wait(why);
                    refused = Some(bytes);
                }
            }
        }
        setup.source.beat(&shared);
        std::thread::sleep(poll);
    }
}
