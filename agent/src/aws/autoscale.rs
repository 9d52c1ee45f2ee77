//! What an autoscaled group's sizing reads on aws (`crate::fleet` decides): the islands a
//! job has not finished, from its S3 store's final checkpoints, once a tick.

use super::cloud::AwsCloud;
use gaform_providers::local::JobRecord;
use gaform_providers::CloudError;
use gaform_runtime::ga;

impl AwsCloud {
    /// `job`'s islands without their final checkpoint, read once a tick (its run's
    /// configuration once).
    pub(super) fn unfinished_islands(&mut self, job: &JobRecord) -> Result<Vec<u64>, CloudError> {
        if let Some(left) = self.left.get(&job.name) {
            return Ok(left.clone());
        }
        // A run's configuration: a job applied again is a new run, perhaps another one.
        let run = (job.name.clone(), job.started_at.to_bits());
        let config = match self.configs.get(&run) {
            Some(config) => config.clone(),
            None => {
                let config = ga::load_job(self.s3_store(&job.name)?).map_err(|e| e.to_string())?;
                self.configs.insert(run, config.clone());
                config
            }
        };
        let left = ga::unfinished_islands(self.s3_store(&job.name)?, &config).map_err(|e| e.to_string())?;
        self.left.insert(job.name.clone(), left.clone());
        Ok(left)
    }
}
