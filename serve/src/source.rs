//! Where a server's `best.json` comes from: a file (by hand, or a local replica), or the
//! job's results on S3 (a replica on an aws instance, which also writes its heartbeat there).

use super::http::Shared;

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
    pub(super) fn read(&mut self) -> Result<Option<Vec<u8>>, gaform_providers::CloudError> {
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
    pub(super) fn beat(&mut self, shared: &Shared) {
        #[cfg(feature = "aws")]
        if let Source::S3(s3) = self {
            use gaform_providers::aws::services::Heartbeat;
            /// How often a replica on aws writes its heartbeat when nothing changed.
            const EVERY: std::time::Duration = std::time::Duration::from_secs(10);
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
