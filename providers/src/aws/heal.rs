//! What a head on aws needs to heal its compute: starting workers in the place of lost ones,
//! as apply starts them (the same launch template, tags and purchase policy), or spot
//! workers in the place of on-demand ones once spot capacity is back, billing them from
//! their first second.

use super::agent::Agent;
use super::{sdk_error, tags};
use crate::CloudError;
use aws_sdk_ec2::types::Tag;
use gaform_compiler::plan::{Addr, Attributes};

/// How a group's instances are launched, as read back from EC2.
struct Launch {
    tags: Vec<Tag>,
    attributes: Attributes,
    lt: String,
    region: String,
}

impl Launch {
    fn fleet(&self) -> super::fleet::Group<'_> {
        super::fleet::Group {
            lt: &self.lt,
            tags: &self.tags,
            attributes: &self.attributes,
            region: &self.region,
        }
    }
}

impl Agent {
    /// Starts `need` workers in `group`: spot first and on-demand for the shortfall as its
    /// policy says. What started, in words.
    pub fn replace_workers(&self, group: &Addr, need: u64) -> Result<String, CloudError> {
        self.runtime.block_on(async {
            let launch = self.launch_of(group).await?;
            let started = super::fleet::fill(&self.ec2, None, &launch.fleet(), need).await;
            self.bill_new(group).await?;
            started
        })
    }

    /// Starts up to `count` spot workers in `group` (no on-demand in their place): the ids
    /// started and, when fewer, EC2's errors.
    pub fn start_spot(&self, group: &Addr, count: u64) -> Result<(Vec<String>, Vec<String>), CloudError> {
        self.runtime.block_on(async {
            let launch = self.launch_of(group).await?;
            let started = super::fleet::fleet(&self.ec2, None, &launch.fleet(), count, true).await;
            self.bill_new(group).await?;
            started
        })
    }

    /// `group`'s attributes, as its instances' tags record them.
    pub fn group_attributes(&self, group: &Addr) -> Result<Attributes, CloudError> {
        self.runtime.block_on(async { Ok(self.launch_of(group).await?.attributes) })
    }

    /// The tags of `group`'s latest instance (a terminated one stays listed for about an
    /// hour) and its launch template.
    async fn launch_of(&self, group: &Addr) -> Result<Launch, CloudError> {
        let (stack, cloud) = self.stack_and_cloud();
        let out = self
            .ec2
            .describe_instances()
            .set_filters(Some(tags::owned_at(&stack, &cloud, group)))
            .send()
            .await
            .map_err(sdk_error)?;
        let latest = out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .max_by_key(|i| i.launch_time().map_or(0, |t| t.secs()))
            .ok_or_else(|| format!("no instance of {group} is listed to take its tags from"))?;
        // `aws:` tags are EC2's own (the fleet an instance came from): not ours to give.
        let tags: Vec<_> = latest
            .tags()
            .iter()
            .filter(|t| !t.key().unwrap_or("aws:").starts_with("aws:"))
            .cloned()
            .collect();
        let template = Addr::launch_template(group);
        let lt = super::fleet::template_ids(&self.ec2, (&stack, &cloud), &template)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| format!("{template} does not exist"))?;
        let region = self.ec2.config().region().map(|r| r.to_string()).unwrap_or_default();
        Ok(Launch { attributes: tags::attributes(&tags), tags, lt, region })
    }

    /// Bills what was just started in `group`, even when it could be filled only in part.
    async fn bill_new(&self, group: &Addr) -> Result<(), CloudError> {
        let (stack, cloud) = self.stack_and_cloud();
        super::bill::record_new(&self.ec2, &self.books(), &stack, &cloud, Some(group)).await.map(|_| ())
    }
}
