//! What a head on aws needs to heal its compute: starting workers in the place of lost ones,
//! as apply starts them (the same launch template, tags and purchase policy), and billing
//! them from their first second.

use super::agent::Agent;
use super::{describe_error, tags};
use gaform_compiler::plan::Addr;

impl Agent {
    /// Starts `need` workers in `group`: spot first and on-demand for the shortfall as its
    /// policy says, tagged as its instances are (the latest one's tags, read back from EC2:
    /// a terminated instance stays listed for about an hour). What started, in words.
    pub fn replace_workers(&self, group: &Addr, need: u64) -> Result<String, String> {
        let (stack, cloud) = self.stack_and_cloud();
        self.runtime.block_on(async {
            let out = self
                .ec2
                .describe_instances()
                .set_filters(Some(tags::owned_at(&stack, &cloud, group)))
                .send()
                .await
                .map_err(describe_error)?;
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
            let attributes = tags::attributes(&tags);
            let template = Addr::launch_template(group);
            let templates = self
                .ec2
                .describe_launch_templates()
                .set_filters(Some(tags::owned_at(&stack, &cloud, &template)))
                .send()
                .await
                .map_err(describe_error)?;
            let lt = templates
                .launch_templates()
                .iter()
                .find_map(|t| t.launch_template_id())
                .ok_or_else(|| format!("{template} does not exist"))?;
            let region = self.ec2.config().region().map(|r| r.to_string()).unwrap_or_default();
            let launch = super::fleet::Group { lt, tags: &tags, attributes: &attributes, region: &region };
            let started = super::fleet::fill(&self.ec2, None, &launch, need).await;
            // Billed from here on, even when the group could be filled only in part.
            super::bill::record_new(&self.ec2, &self.books(), &stack, &cloud, Some(group)).await?;
            started
        })
    }
}
