//! All the clouds of a stack behind one `Provider`: observations are merged, and each
//! change goes to the provider of the cloud it belongs to.

use crate::CloudError;
use crate::Provider;
use gaform_compiler::plan::{Change, Desired, Facts, Observed};
use std::sync::Arc;

/// The providers of one stack.
pub struct Clouds {
    /// The local provider (also the keeper of the stack's local records).
    pub local: Arc<dyn Provider>,
    /// The aws provider of each aws cloud, by cloud name.
    pub aws: Vec<(String, Arc<dyn Provider>)>,
}

impl Provider for Clouds {
    fn observe(&self) -> Result<Observed, CloudError> {
        let mut observed = self.local.observe()?;
        for (_, provider) in &self.aws {
            observed.resources.extend(provider.observe()?.resources);
        }
        Ok(observed)
    }

    fn facts(&self, desired: &Desired) -> Result<Facts, CloudError> {
        let mut facts = self.local.facts(desired)?;
        for (_, provider) in &self.aws {
            let f = provider.facts(desired)?;
            facts.spot_prices.extend(f.spot_prices);
            facts.images.extend(f.images);
            facts.quotas.extend(f.quotas);
            facts.notes.extend(f.notes);
            facts.spend.extend(f.spend);
        }
        Ok(facts)
    }

    fn finished(
        &self,
        job: &str,
        into: &std::path::Path,
    ) -> Result<Option<crate::local::JobRecord>, CloudError> {
        for (_, provider) in &self.aws {
            if let Some(record) = provider.finished(job, into)? {
                return Ok(Some(record));
            }
        }
        Ok(None)
    }

    fn apply(&self, change: &Change, desired: &Desired) -> Result<String, CloudError> {
        if change.provider != "aws" {
            return self.local.apply(change, desired);
        }
        match self.aws.iter().find(|(cloud, _)| *cloud == change.cloud) {
            Some((_, provider)) => provider.apply(change, desired),
            None => {
                Err(format!("{}: cloud `{}` is not an aws cloud of this file", change.address, change.cloud)
                    .into())
            }
        }
    }
}
