//! Services on aws. A service's spec lies beside the stack's artifacts
//! (`services/NAME/spec.json`): apply writes it once the service's compute is up, and each
//! replica (every instance of that compute, booted into `gaform serve`) reads it to learn
//! its job, route and port. Each replica says how it is every few seconds
//! (`services/NAME/replicas/INSTANCE.json`), which is what `status` shows.

use super::agent::Agent;
use super::AwsProvider;
pub use crate::service::{Heartbeat, ServiceSpec};
use crate::CloudError;
use gaform_compiler::plan::{Action, Addr, Change, Kind, Observed, ObservedResource};

fn service_prefix(stack_prefix: &str, address: &Addr) -> String {
    format!("{stack_prefix}services/{}/", address.as_str().trim_start_matches("service."))
}

impl AwsProvider {
    /// Writes (or, for a delete, removes with its replicas' heartbeats) a service's spec.
    pub(super) async fn service(&self, change: &Change) -> Result<String, CloudError> {
        let prefix = service_prefix(&self.stack_prefix(), &change.address);
        if matches!(change.action, Action::Delete | Action::Replace) {
            let n = self.delete_under(&prefix, &[]).await?;
            if change.action == Action::Delete {
                return Ok(format!("deleted its spec and {} heartbeat(s)", n.saturating_sub(1)));
            }
        }
        let spec = ServiceSpec {
            address: change.address.clone(),
            attributes: change.after.clone().unwrap_or_default(),
            depends_on: change.needs.clone(),
        };
        let bucket = self.bucket().await?;
        self.put_json(&bucket, &format!("{prefix}spec.json"), &spec).await?;
        Ok(format!("spec in s3://{bucket}/{prefix}spec.json for its replicas"))
    }

    /// The services whose specs are on S3.
    pub(super) async fn observe_services(&self, observed: &mut Observed) -> Result<(), CloudError> {
        let bucket = self.bucket().await?;
        let folders =
            super::listing::folders(&self.s3, &bucket, &format!("{}services/", self.stack_prefix())).await?;
        for folder in folders {
            let spec: Option<ServiceSpec> = self.get_json(&bucket, &format!("{folder}spec.json")).await?;
            if let Some(s) = spec {
                observed.resources.insert(
                    s.address,
                    ObservedResource {
                        kind: Kind::Service,
                        provider: "aws".into(),
                        cloud: self.cloud.clone(),
                        attributes: s.attributes,
                        instances: vec![],
                        job: None,
                        depends_on: s.depends_on,
                        frozen: None,
                        mix: None,
                    },
                );
            }
        }
        Ok(())
    }
}

impl Agent {
    /// A service's spec, once apply wrote it.
    pub fn service_spec(&self, address: &Addr) -> Result<Option<ServiceSpec>, CloudError> {
        self.get_json(&format!("{}spec.json", service_prefix(&self.prefix, address)))
    }

    /// The job's `best.json` on S3 with its ETag, unless its ETag is still `seen` or there
    /// is none yet (`None`).
    pub fn best_json(&self, job: &str, seen: Option<&str>) -> Result<Option<(Vec<u8>, String)>, CloudError> {
        self.get(&format!("{}jobs/{job}/results/best.json", self.prefix), seen)
    }

    /// Writes this replica's heartbeat.
    pub fn heartbeat(&self, address: &Addr, beat: &Heartbeat) -> Result<(), CloudError> {
        let key = format!("{}replicas/{}.json", service_prefix(&self.prefix, address), beat.instance);
        let bytes = serde_json::to_vec_pretty(beat).map_err(|e| e.to_string())?;
        self.put(&key, bytes, None, None).map(|_| ())
    }

    /// Every replica's last heartbeat, by instance.
    pub fn heartbeats(&self, address: &Addr) -> Result<Vec<Heartbeat>, CloudError> {
        let prefix = format!("{}replicas/", service_prefix(&self.prefix, address));
        let keys = self.runtime.block_on(super::listing::keys(&self.s3, &self.bucket, &prefix))?;
        let mut out = Vec::new();
        for key in keys {
            out.extend(self.get_json(&key)?);
        }
        Ok(out)
    }

    /// The services with a spec on S3.
    pub fn services(&self) -> Result<Vec<Addr>, CloudError> {
        let folders = self.runtime.block_on(super::listing::folders(
            &self.s3,
            &self.bucket,
            &format!("{}services/", self.prefix),
        ))?;
        Ok(folders
            .iter()
            .filter_map(|f| f.trim_end_matches('/').rsplit('/').next())
            .map(Addr::service)
            .collect())
    }
}
