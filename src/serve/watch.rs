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

/// Where `best.json` comes from.
pub enum Source {
    File(std::path::PathBuf),
    /// The job's results on S3, read by a replica on an aws instance.
    #[cfg(feature = "aws")]
    S3(Box<S3Source>),
}

/// A replica's view of its stack on S3.
#[cfg(feature = "aws")]
pub struct S3Source {
    /// `s3://…/best.json`, for messages.
    pub name: String,
    pub cloud: gaform_providers::aws::agent::Agent,
    pub job: String,
    /// The ETag of the bytes last read: unchanged bytes are not sent again.
    pub etag: Option<String>,
    /// This replica's instance and service, for its heartbeat.
    pub instance: String,
    pub address: gaform_compiler::plan::Addr,
    pub last_beat: Option<(std::time::Instant, gaform_providers::aws::services::Heartbeat)>,
}

impl Source {
    /// How the source is named in messages.
    pub fn name(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            #[cfg(feature = "aws")]
            Source::S3(s3) => s3.name.clone(),
        }
    }

    /// The bytes, when there are any and (on S3) they changed since the last read.
    fn read(&mut self) -> Result<Option<Vec<u8>>, String> {
        match self {
            Source::File(path) => Ok(std::fs::read(path).ok()),
            #[cfg(feature = "aws")]
            Source::S3(s3) => match s3.cloud.best_json(&s3.job, s3.etag.as_deref())? {
                Some((bytes, tag)) => {
                    s3.etag = Some(tag);
                    Ok(Some(bytes))
                }
                None => Ok(None),
            },
        }
    }

    /// On S3: writes this replica's heartbeat when it changed or is due.
    #[cfg_attr(not(feature = "aws"), allow(unused_variables))]
    fn beat(&mut self, shared: &Shared) {
        #[cfg(feature = "aws")]
        if let Source::S3(s3) = self {
            use gaform_providers::aws::services::Heartbeat;
            /// How often a replica on aws writes its heartbeat when nothing changed.
            const EVERY: Duration = Duration::from_secs(10);
            let current = shared.current();
            let beat = Heartbeat {
                instance: s3.instance.clone(),
                ready: current.is_some(),
                version: current.as_ref().map(|c| c.version),
                run: current.as_ref().map(|c| c.run.clone()),
                strategy: current.as_ref().map(|c| c.parameters.clone()),
                waiting: current.is_none().then(|| shared.waiting()),
                at: gaform_providers::local::records::now(),
            };
            let same = |last: &Heartbeat| Heartbeat { at: last.at, ..beat.clone() } == *last;
            if s3.last_beat.as_ref().is_some_and(|(when, last)| when.elapsed() < EVERY && same(last)) {
                return;
            }
            match s3.cloud.heartbeat(&s3.address, &beat) {
                Ok(()) => s3.last_beat = Some((std::time::Instant::now(), beat)),
                Err(e) => errln!("cannot write the heartbeat: {e}"),
            }
        }
    }
}

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
