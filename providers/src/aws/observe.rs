//! `observe` on AWS: one paginated listing per kind (security groups, launch templates,
//! instances), filtered by the stack's tags; never one call per resource. Instances
//! shutting down or terminated are gone. Slots are given in launch order, on-demand first,
//! so that scaling down stops the newest spot instances first.

use super::tags::{self, Owner};
use super::{describe_error, AwsProvider};
use aws_sdk_ec2::types::{Filter, InstanceLifecycleType, Tag};
use gaform_compiler::plan::{Addr, Instance, Kind, Observed, ObservedResource};
use std::collections::BTreeMap;

impl AwsProvider {
    pub(super) fn owner(&self) -> Owner<'_> {
        Owner { stack: &self.stack, cloud: &self.cloud, apply_id: &self.apply_id, user: &self.user_tags }
    }

    pub(super) async fn observe_async(&self) -> Result<Observed, String> {
        let mut observed = Observed::default();
        let owned = tags::owned(&self.stack, &self.cloud);
        let mut pages =
            self.ec2.describe_security_groups().set_filters(Some(owned.clone())).into_paginator().send();
        while let Some(page) = pages.next().await {
            for g in page.map_err(describe_error)?.security_groups() {
                self.insert(&mut observed, g.tags(), Kind::SecurityGroup);
            }
        }
        let mut pages =
            self.ec2.describe_launch_templates().set_filters(Some(owned.clone())).into_paginator().send();
        while let Some(page) = pages.next().await {
            for t in page.map_err(describe_error)?.launch_templates() {
                self.insert(&mut observed, t.tags(), Kind::LaunchTemplate);
            }
        }
        for (address, mut found) in self.instances(None).await? {
            found.sort_by(|a, b| (a.spot, &a.launched, &a.id).cmp(&(b.spot, &b.launched, &b.id)));
            let Some(first) = found.first() else { continue };
            let kind =
                tags::value(&first.tags, tags::KIND).and_then(tags::kind_of).unwrap_or(Kind::WorkerGroup);
            let mut resource = self.resource(&first.tags, kind);
            resource.instances = found
                .iter()
                .enumerate()
                .map(|(i, f)| Instance { index: i as u64, id: f.id.clone() })
                .collect();
            observed.resources.insert(address, resource);
        }
        // A group whose instances are all gone may still hold fleets (a failed apply or
        // destroy): it is observed, with no instance, so that destroy removes them.
        let mut pages = self.ec2.describe_fleets().into_paginator().send();
        while let Some(page) = pages.next().await {
            for f in page.map_err(describe_error)?.fleets() {
                let ours = tags::value(f.tags(), tags::STACK) == Some(self.stack.as_str())
                    && tags::value(f.tags(), tags::CLOUD) == Some(self.cloud.as_str());
                let deleted = f.fleet_state().is_some_and(|s| s.as_str().starts_with("deleted"));
                if let (true, false, Some(address)) = (ours, deleted, tags::value(f.tags(), tags::ADDRESS)) {
                    let address = Addr(address.to_string());
                    if !observed.resources.contains_key(&address) {
                        observed.resources.insert(address, self.resource(f.tags(), Kind::WorkerGroup));
                    }
                }
            }
        }
        Ok(observed)
    }

    /// The stack's live instances by address (or those of one address).
    pub(super) async fn instances(
        &self,
        address: Option<&Addr>,
    ) -> Result<BTreeMap<Addr, Vec<Found>>, String> {
        let mut filters = tags::owned(&self.stack, &self.cloud);
        filters
            .push(Filter::builder().name("instance-state-name").values("pending").values("running").build());
        if let Some(a) = address {
            filters.push(tags::address_filter(a));
        }
        let mut out: BTreeMap<Addr, Vec<Found>> = BTreeMap::new();
        // Pages hold whole reservations (a fleet's instances may share one): loop on them.
        let mut pages = self.ec2.describe_instances().set_filters(Some(filters)).into_paginator().send();
        while let Some(page) = pages.next().await {
            for reservation in page.map_err(describe_error)?.reservations() {
                for i in reservation.instances() {
                    let Some(address) = tags::value(i.tags(), tags::ADDRESS) else { continue };
                    out.entry(Addr(address.to_string())).or_default().push(Found {
                        id: i.instance_id().unwrap_or_default().to_string(),
                        spot: i.instance_lifecycle() == Some(&InstanceLifecycleType::Spot),
                        launched: i.launch_time().map(|t| t.secs()).unwrap_or(0),
                        tags: i.tags().to_vec(),
                    });
                }
            }
        }
        Ok(out)
    }

    fn insert(&self, observed: &mut Observed, tags: &[Tag], kind: Kind) {
        if let Some(address) = tags::value(tags, tags::ADDRESS) {
            observed.resources.insert(Addr(address.to_string()), self.resource(tags, kind));
        }
    }

    fn resource(&self, tags: &[Tag], kind: Kind) -> ObservedResource {
        ObservedResource {
            kind,
            provider: "aws".into(),
            cloud: self.cloud.clone(),
            attributes: tags::attributes(tags),
            instances: vec![],
            job: None,
            depends_on: tags::needs(tags),
        }
    }
}

/// One live instance as listed.
pub(super) struct Found {
    pub id: String,
    pub spot: bool,
    pub launched: i64,
    pub tags: Vec<Tag>,
}
