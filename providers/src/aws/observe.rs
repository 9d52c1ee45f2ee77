//! `observe` on AWS: one paginated listing per kind (security groups, launch templates and
//! their tags, instances), filtered by the stack's tags; never one call per resource. Instances
//! shutting down or terminated are gone. Slots are given in launch order, on-demand first,
//! so that scaling down stops the newest spot instances first.

use super::tags::{self, Owner};
use super::{sdk_error, AwsProvider};
use crate::CloudError;
use aws_sdk_ec2::types::{InstanceLifecycleType, Tag};
use gaform_compiler::plan::{Addr, Instance, Kind, Observed, ObservedResource};
use std::collections::BTreeMap;

impl AwsProvider {
    pub(super) fn owner(&self) -> Owner<'_> {
        Owner { stack: &self.stack, cloud: &self.cloud, apply_id: &self.apply_id, user: &self.user_tags }
    }

    pub(super) async fn observe_async(&self) -> Result<Observed, CloudError> {
        let mut observed = Observed::default();
        let owned = tags::owned(&self.stack, &self.cloud);
        let mut pages =
            self.ec2.describe_security_groups().set_filters(Some(owned.clone())).into_paginator().send();
        while let Some(page) = pages.next().await {
            for g in page.map_err(sdk_error)?.security_groups() {
                self.insert(&mut observed, g.tags(), Kind::SecurityGroup);
            }
        }
        let mut templates: Vec<(String, Vec<Tag>)> = Vec::new();
        let mut pages =
            self.ec2.describe_launch_templates().set_filters(Some(owned.clone())).into_paginator().send();
        while let Some(page) = pages.next().await {
            for t in page.map_err(sdk_error)?.launch_templates() {
                templates.push((t.launch_template_id().unwrap_or_default().to_string(), t.tags().to_vec()));
            }
        }
        let mut current = self.template_tags(templates.iter().map(|t| t.0.as_str())).await?;
        for (id, listed) in templates {
            let tags = current.remove(&id).unwrap_or(listed);
            self.insert(&mut observed, &tags, Kind::LaunchTemplate);
        }
        for (address, mut found) in self.instances(None).await? {
            found.sort_by(|a, b| (a.spot, &a.launched, &a.id).cmp(&(b.spot, &b.launched, &b.id)));
            let Some(first) = found.first() else { continue };
            let kind =
                tags::value(&first.tags, tags::KIND).and_then(tags::kind_of).unwrap_or(Kind::WorkerGroup);
            let mut resource = self.resource(&first.tags, kind);
            // What the group is, as all its instances say (not its oldest alone).
            let each: Vec<_> = found.iter().map(|f| tags::attributes(&f.tags)).collect();
            resource.attributes = crate::agreed(&each);
            // The tags say what was made; a single-type head or group whose instances run
            // another type was changed by hand: that drift shows as a replacement.
            if let Some(recorded) = resource.attributes.get("instance_type").cloned() {
                if let Some(other) = found.iter().map(|f| f.instance_type.as_str()).find(|t| *t != recorded) {
                    resource.attributes.insert("instance_type".into(), other.to_string());
                }
            }
            resource.instances = found
                .iter()
                .enumerate()
                .map(|(i, f)| Instance { index: i as u64, id: f.id.clone() })
                .collect();
            let spot = found.iter().filter(|f| f.spot).count() as u64;
            resource.mix = Some(gaform_compiler::plan::Mix { spot, on_demand: found.len() as u64 - spot });
            observed.resources.insert(address, resource);
        }
        self.observe_objects(&mut observed).await?;
        self.observe_services(&mut observed).await?;
        self.observe_role(&mut observed).await?;
        // A group whose instances are all gone may still hold fleets (a failed apply or
        // destroy): it is observed, with no instance, so that destroy removes them.
        let mut pages = self.ec2.describe_fleets().into_paginator().send();
        while let Some(page) = pages.next().await {
            for f in page.map_err(sdk_error)?.fleets() {
                let ours = tags::value(f.tags(), tags::STACK) == Some(self.stack.as_str())
                    && tags::value(f.tags(), tags::CLOUD) == Some(self.cloud.as_str());
                let deleted = f.fleet_state().is_some_and(|s| s.as_str().starts_with("deleted"));
                if let (true, false, Some(address)) = (ours, deleted, tags::value(f.tags(), tags::ADDRESS)) {
                    let address = Addr(address.to_string());
                    observed
                        .resources
                        .entry(address)
                        .or_insert_with(|| self.resource(f.tags(), Kind::WorkerGroup));
                }
            }
        }
        Ok(observed)
    }

    /// The launch templates' tags as DescribeTags lists them, by template id: what a
    /// template's attributes are after an update in place retagged it. (DescribeTags is right
    /// on EC2 and on moto alike; moto's DescribeLaunchTemplates keeps the tags a template was
    /// made with.) One paginated listing per 200 templates, whatever the instance count.
    async fn template_tags(
        &self,
        ids: impl Iterator<Item = &str>,
    ) -> Result<BTreeMap<String, Vec<Tag>>, CloudError> {
        let ids: Vec<String> = ids.filter(|id| !id.is_empty()).map(str::to_string).collect();
        let mut out: BTreeMap<String, Vec<Tag>> = BTreeMap::new();
        for batch in ids.chunks(200) {
            let filters = vec![
                aws_sdk_ec2::types::Filter::builder().name("resource-type").values("launch-template").build(),
                aws_sdk_ec2::types::Filter::builder()
                    .name("resource-id")
                    .set_values(Some(batch.to_vec()))
                    .build(),
            ];
            let mut pages = self.ec2.describe_tags().set_filters(Some(filters)).into_paginator().send();
            while let Some(page) = pages.next().await {
                for t in page.map_err(sdk_error)?.tags() {
                    let tag = Tag::builder()
                        .set_key(t.key().map(str::to_string))
                        .set_value(t.value().map(str::to_string))
                        .build();
                    out.entry(t.resource_id().unwrap_or_default().to_string()).or_default().push(tag);
                }
            }
        }
        Ok(out)
    }

    /// The stack's live instances by address (or those of one address).
    pub(super) async fn instances(
        &self,
        address: Option<&Addr>,
    ) -> Result<BTreeMap<Addr, Vec<Found>>, CloudError> {
        let mut filters = tags::owned(&self.stack, &self.cloud);
        filters.push(tags::running());
        if let Some(a) = address {
            filters.push(tags::address_filter(a));
        }
        let mut out: BTreeMap<Addr, Vec<Found>> = BTreeMap::new();
        // Pages hold whole reservations (a fleet's instances may share one): loop on them.
        let mut pages = self.ec2.describe_instances().set_filters(Some(filters)).into_paginator().send();
        while let Some(page) = pages.next().await {
            for reservation in page.map_err(sdk_error)?.reservations() {
                for i in reservation.instances() {
                    let Some(address) = tags::value(i.tags(), tags::ADDRESS) else { continue };
                    out.entry(Addr(address.to_string())).or_default().push(Found {
                        id: i.instance_id().unwrap_or_default().to_string(),
                        instance_type: i.instance_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
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
            frozen: None,
            mix: None,
        }
    }
}

/// One live instance as listed.
pub(super) struct Found {
    pub id: String,
    pub instance_type: String,
    pub spot: bool,
    pub launched: i64,
    pub tags: Vec<Tag>,
}

impl AwsProvider {
    /// Spot prices, images and vCPU quotas for what `desired` asks of this cloud.
    pub(super) async fn facts_async(
        &self,
        desired: &gaform_compiler::plan::Desired,
    ) -> Result<gaform_compiler::plan::Facts, CloudError> {
        use gaform_compiler::plan::{quota, Facts};
        let mut facts = Facts::default();
        let ours: Vec<_> =
            desired.resources.iter().filter(|r| r.provider == "aws" && r.cloud == self.cloud).collect();
        let mut images = std::collections::BTreeSet::new();
        let mut spot_types = std::collections::BTreeSet::new();
        for r in &ours {
            if let (Some(image), Some(arch)) = (r.attributes.get("image"), r.attributes.get("arch")) {
                images.insert((image.clone(), arch.clone()));
            }
            if r.kind == Kind::WorkerGroup
                && r.attributes.get("purchase").is_some_and(|p| p.starts_with("spot"))
            {
                if let Some(fp) = &r.footprint {
                    spot_types.insert(fp.instance_type.clone());
                }
            }
        }
        for (image, arch) in images {
            let ami = self.resolve_image(&image, &arch).await?;
            facts.images.insert(format!("{}/{image}/{arch}", self.cloud), ami);
        }
        if !spot_types.is_empty() {
            let out = self
                .ec2
                .describe_spot_price_history()
                .set_instance_types(Some(
                    spot_types.iter().map(|t| aws_sdk_ec2::types::InstanceType::from(t.as_str())).collect(),
                ))
                .product_descriptions("Linux/UNIX")
                .start_time(aws_sdk_ec2::primitives::DateTime::from(std::time::SystemTime::now()))
                .send()
                .await
                .map_err(sdk_error)?;
            for p in out.spot_price_history() {
                let (Some(t), Some(price)) =
                    (p.instance_type(), p.spot_price().and_then(|s| s.parse::<f64>().ok()))
                else {
                    continue;
                };
                let key = format!("{}/{}", self.cloud, t.as_str());
                let lowest = facts.spot_prices.get(&key).map_or(price, |&old: &f64| old.min(price));
                facts.spot_prices.insert(key, lowest);
            }
        }
        let codes: std::collections::BTreeSet<String> = quota::needed(desired)
            .into_keys()
            .filter(|(cloud, _)| *cloud == self.cloud)
            .map(|(_, code)| code)
            .collect();
        if !codes.is_empty() {
            self.quotas(&codes, &mut facts).await?;
        }
        Ok(facts)
    }

    /// The live vCPU quotas named by `codes` and the account's usage of each; a note, and
    /// the file's own `quota` (checked already), when Service Quotas cannot be read.
    async fn quotas(
        &self,
        codes: &std::collections::BTreeSet<String>,
        facts: &mut gaform_compiler::plan::Facts,
    ) -> Result<(), CloudError> {
        use gaform_compiler::plan::{quota, VcpuQuota};
        let mut limits = Vec::new();
        for code in codes {
            match self.quotas.get_service_quota().service_code("ec2").quota_code(code).send().await {
                Ok(out) => {
                    let limit = out.quota().and_then(|q| q.value()).unwrap_or(0.0);
                    let name = out.quota().and_then(|q| q.quota_name()).unwrap_or(code).to_string();
                    limits.push((code.clone(), name, limit));
                }
                Err(e) => {
                    let why = sdk_error(e);
                    facts.notes.push(format!(
                        "cloud `{}`: live vCPU quotas could not be read from Service Quotas ({why}); the file's own `quota` stands in",
                        self.cloud
                    ));
                    return Ok(());
                }
            }
        }
        // The account's usage, all stacks and all tools: one paginated listing.
        let mut used: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
        let running = tags::running();
        let mut pages = self.ec2.describe_instances().filters(running).into_paginator().send();
        while let Some(page) = pages.next().await {
            for reservation in page.map_err(sdk_error)?.reservations() {
                for i in reservation.instances() {
                    let Some(t) = i.instance_type() else { continue };
                    let spot = i.instance_lifecycle() == Some(&InstanceLifecycleType::Spot);
                    let vcpus =
                        gaform_compiler::catalog::Catalog::get().lookup(t.as_str()).map_or(0, |t| t.vcpus);
                    if let Some((code, _)) = quota::class_of(t.as_str(), spot) {
                        *used.entry(code.to_string()).or_insert(0.0) += f64::from(vcpus);
                    }
                }
            }
        }
        for (code, name, limit) in limits {
            let used = used.get(&code).copied().unwrap_or(0.0);
            facts.quotas.insert(format!("{}/{code}", self.cloud), VcpuQuota { name, limit, used });
        }
        Ok(())
    }
}
