//! `apply` on AWS, one change at a time. Every create first looks for what its address
//! already has, so a retried or re-run create never makes a second copy (moto ignores
//! ClientToken, and a killed apply may have made part of a change). Worker groups are EC2
//! Fleets of type `instant` (`fleet.rs`).

use super::tags::{self, spec};
use super::{sdk_error, AwsProvider};
use crate::CloudError;
use aws_sdk_ec2::types::{
    Filter, InstanceType, IpPermission, IpRange, Ipv6Range, LaunchTemplateBlockDeviceMappingRequest,
    LaunchTemplateEbsBlockDeviceRequest, LaunchTemplateHttpTokensState,
    LaunchTemplateInstanceMetadataEndpointState, LaunchTemplateInstanceMetadataOptionsRequest,
    LaunchTemplateSpecification, RequestLaunchTemplateData, ResourceType, ShutdownBehavior, UserIdGroupPair,
    VolumeType,
};
use gaform_compiler::plan::{Action, Addr, Change, Kind};
use std::time::Duration;

/// Instances per CreateTags request (EC2 takes up to 1,000 resource ids in one).
const RETAG_BATCH: usize = 500;

impl AwsProvider {
    pub(super) async fn apply_async(
        &self,
        change: &Change,
        desired: &gaform_compiler::plan::Desired,
    ) -> Result<String, CloudError> {
        match change.kind {
            Kind::SecurityGroup => self.security_group(change).await,
            Kind::LaunchTemplate => self.launch_template(change).await,
            Kind::Head | Kind::WorkerGroup => self.instances_change(change).await,
            Kind::Job => self.job(change, desired, self.setup.as_deref()).await,
            Kind::Artifacts => self.artifacts(change).await,
            Kind::Role => self.role(change).await,
            Kind::StateDir => Err("an aws cloud keeps no state directory".into()),
            Kind::Service => self.service(change).await,
        }
    }

    pub(super) fn tags_of(&self, change: &Change) -> Vec<aws_sdk_ec2::types::Tag> {
        self.owner().tags(
            &change.address,
            change.kind,
            &change.needs,
            &change.after.clone().unwrap_or_default(),
        )
    }

    /// Gives `ids` the tags `change` leaves them with: its tags written over theirs, and the
    /// ones it no longer has (an attribute the file dropped, a cloud tag removed) deleted,
    /// so that what observe reads back is exactly what the plan showed.
    async fn retag(&self, ids: &[String], change: &Change) -> Result<(), CloudError> {
        let (before, after) =
            (change.before.clone().unwrap_or_default(), change.after.clone().unwrap_or_default());
        let user_keys = |a: &gaform_compiler::plan::Attributes| -> Vec<String> {
            let tags = a.get("tags").map_or("", String::as_str);
            tags.split(", ").filter_map(|kv| kv.split_once(" = ")).map(|(k, _)| k.to_string()).collect()
        };
        let mut stale: Vec<String> =
            before.keys().filter(|k| !after.contains_key(*k)).map(|k| tags::attribute_key(k)).collect();
        let kept = user_keys(&after);
        stale.extend(
            user_keys(&before).into_iter().filter(|k| !kept.contains(k) && !k.starts_with("gaform:")),
        );
        let stale: Vec<aws_sdk_ec2::types::Tag> =
            stale.iter().map(|k| aws_sdk_ec2::types::Tag::builder().key(k).build()).collect();
        for ids in ids.chunks(RETAG_BATCH) {
            self.pace.write().await;
            self.ec2
                .create_tags()
                .set_resources(Some(ids.to_vec()))
                .set_tags(Some(self.tags_of(change)))
                .send()
                .await
                .map_err(sdk_error)?;
            if !stale.is_empty() {
                self.pace.write().await;
                self.ec2
                    .delete_tags()
                    .set_resources(Some(ids.to_vec()))
                    .set_tags(Some(stale.clone()))
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
        }
        Ok(())
    }

    async fn security_group_ids(&self, address: &Addr) -> Result<Vec<String>, CloudError> {
        let filters = tags::owned_at(&self.stack, &self.cloud, address);
        let out =
            self.ec2.describe_security_groups().set_filters(Some(filters)).send().await.map_err(sdk_error)?;
        Ok(out.security_groups().iter().filter_map(|g| g.group_id().map(str::to_string)).collect())
    }

    async fn security_group(&self, change: &Change) -> Result<String, CloudError> {
        let existing = self.security_group_ids(&change.address).await?;
        if matches!(change.action, Action::Delete | Action::Replace) {
            for id in &existing {
                self.delete_security_group(id).await?;
            }
            if change.action == Action::Delete {
                return Ok(format!("deleted {}", existing.join(", ")));
            }
        } else if let Some(id) = existing.first() {
            // Already there (an update, or a create retried after a cut): record the attributes.
            self.retag(std::slice::from_ref(id), change).await?;
            self.ranged_ingress(id, change).await?;
            return Ok(format!("{id} tagged"));
        }
        let vpcs = self
            .ec2
            .describe_vpcs()
            .filters(Filter::builder().name("is-default").values("true").build())
            .send()
            .await
            .map_err(sdk_error)?;
        let vpc = vpcs
            .vpcs()
            .first()
            .and_then(|v| v.vpc_id())
            .ok_or("the region has no default VPC to put the security group in")?;
        let compute = change.address.compute().unwrap_or("compute");
        self.pace.write().await;
        let created = self
            .ec2
            .create_security_group()
            .group_name(format!("gaform-{}-{compute}", self.stack))
            .description(format!("gaform stack {} compute {compute}: members talk to each other", self.stack))
            .vpc_id(vpc)
            .tag_specifications(spec(ResourceType::SecurityGroup, &self.tags_of(change)))
            .send()
            .await
            .map_err(sdk_error)?;
        let id = created.group_id().ok_or("CreateSecurityGroup returned no id")?.to_string();
        // Members of the group may reach each other on every port; nothing else may enter.
        let members = IpPermission::builder()
            .ip_protocol("-1")
            .user_id_group_pairs(UserIdGroupPair::builder().group_id(&id).build())
            .build();
        self.pace.write().await;
        self.ec2
            .authorize_security_group_ingress()
            .group_id(&id)
            .ip_permissions(members)
            .send()
            .await
            .map_err(sdk_error)?;
        self.ranged_ingress(&id, change).await?;
        Ok(format!("{id} in {vpc}"))
    }

    /// Makes the group's address-range ingress exactly the file's: the head's metrics port
    /// from its `metrics_from` blocks and a service's port from its `allow_from` (none when
    /// the file names none). Ranges it no longer names are revoked first; the members' own
    /// rule (a group pair) is left alone.
    async fn ranged_ingress(&self, id: &str, change: &Change) -> Result<(), CloudError> {
        let after = change.after.clone().unwrap_or_default();
        let mut wanted: Vec<(i32, String, &str)> = Vec::new();
        for (port, from, what) in [
            ("metrics_port", "metrics_from", "gaform head metrics"),
            ("serve_port", "serve_from", "gaform service"),
        ] {
            let Some(port) = after.get(port).and_then(|p| p.parse::<i32>().ok()) else { continue };
            for cidr in after.get(from).map(|f| f.split(", ").filter(|c| !c.is_empty())).into_iter().flatten()
            {
                wanted.push((port, cidr.to_string(), what));
            }
        }
        let groups = self.ec2.describe_security_groups().group_ids(id).send().await.map_err(sdk_error)?;
        let ranged: Vec<IpPermission> = groups
            .security_groups()
            .iter()
            .flat_map(|g| g.ip_permissions())
            .filter(|p| !p.ip_ranges().is_empty() || !p.ipv6_ranges().is_empty())
            .cloned()
            .collect();
        let mut have: Vec<(i32, String)> = ranged
            .iter()
            .filter(|p| p.from_port() == p.to_port())
            .flat_map(|p| {
                let port = p.from_port().unwrap_or(-1);
                let v4 = p.ip_ranges().iter().filter_map(|r| r.cidr_ip());
                let v6 = p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6());
                v4.chain(v6).map(move |c| (port, c.to_string()))
            })
            .collect();
        let ranges = ranged.iter().map(|p| p.ip_ranges().len() + p.ipv6_ranges().len()).sum::<usize>();
        let mut want: Vec<(i32, String)> = wanted.iter().map(|(p, c, _)| (*p, c.clone())).collect();
        have.sort();
        want.sort();
        if have == want && ranges == want.len() {
            return Ok(());
        }
        if !ranged.is_empty() {
            self.pace.write().await;
            self.ec2
                .revoke_security_group_ingress()
                .group_id(id)
                .set_ip_permissions(Some(ranged))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        let mut ports: Vec<i32> = wanted.iter().map(|w| w.0).collect();
        ports.sort();
        ports.dedup();
        for port in ports {
            let mut rule = IpPermission::builder().ip_protocol("tcp").from_port(port).to_port(port);
            for (_, cidr, what) in wanted.iter().filter(|w| w.0 == port) {
                if cidr.contains(':') {
                    rule = rule.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).description(*what).build());
                } else {
                    rule = rule.ip_ranges(IpRange::builder().cidr_ip(cidr).description(*what).build());
                }
            }
            self.pace.write().await;
            self.ec2
                .authorize_security_group_ingress()
                .group_id(id)
                .ip_permissions(rule.build())
                .send()
                .await
                .map_err(sdk_error)?;
        }
        Ok(())
    }

    /// Deletes a security group, waiting while terminating instances still hold it.
    async fn delete_security_group(&self, id: &str) -> Result<(), CloudError> {
        for attempt in 0..30 {
            self.pace.write().await;
            match self.ec2.delete_security_group().group_id(id).send().await {
                Ok(_) => return Ok(()),
                Err(e) => {
                    let error = sdk_error(e);
                    if !error.is_busy() || attempt == 29 {
                        return Err(error);
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
        Ok(())
    }

    async fn launch_template_ids(&self, address: &Addr) -> Result<Vec<String>, CloudError> {
        super::fleet::template_ids(&self.ec2, (&self.stack, &self.cloud), address).await
    }

    async fn launch_template(&self, change: &Change) -> Result<String, CloudError> {
        let existing = self.launch_template_ids(&change.address).await?;
        if matches!(change.action, Action::Delete | Action::Replace) {
            for id in &existing {
                self.pace.write().await;
                self.ec2.delete_launch_template().launch_template_id(id).send().await.map_err(sdk_error)?;
            }
            if change.action == Action::Delete {
                return Ok(format!("deleted {}", existing.join(", ")));
            }
        } else if let Some(id) = existing.first() {
            self.retag(std::slice::from_ref(id), change).await?;
            return Ok(format!("{id} tagged"));
        }
        let after = change.after.clone().unwrap_or_default();
        let arch = after.get("arch").cloned().unwrap_or_else(|| "x86_64".into());
        // The plan resolved the name (`al2023 (ami-…)`); resolve again only for a plan
        // made without the cloud's facts.
        let written = after.get("image").map_or("al2023", String::as_str);
        let image = match written.split_once(" (").and_then(|(_, rest)| rest.strip_suffix(')')) {
            Some(ami) => ami.to_string(),
            None => self.resolve_image(written, &arch).await?,
        };
        let sg = match change.needs.first() {
            Some(a) => self.security_group_ids(a).await?,
            None => vec![],
        };
        let metadata = LaunchTemplateInstanceMetadataOptionsRequest::builder()
            .http_tokens(LaunchTemplateHttpTokensState::Required)
            .http_endpoint(LaunchTemplateInstanceMetadataEndpointState::Enabled)
            .build();
        let root = LaunchTemplateBlockDeviceMappingRequest::builder()
            .device_name("/dev/xvda")
            .ebs(
                LaunchTemplateEbsBlockDeviceRequest::builder()
                    .encrypted(true)
                    .volume_size(16)
                    .volume_type(VolumeType::Gp3)
                    .delete_on_termination(true)
                    .build(),
            )
            .build();
        let mut data = RequestLaunchTemplateData::builder();
        if let Some(script) = self.user_data(change, &arch).await? {
            data = data.user_data(aws_smithy_types::base64::encode(script.as_bytes())).iam_instance_profile(
                aws_sdk_ec2::types::LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                    .name(self.role_name())
                    .build(),
            );
        }
        let data = data
            .image_id(&image)
            .set_security_group_ids(Some(sg))
            .metadata_options(metadata)
            .block_device_mappings(root)
            .instance_initiated_shutdown_behavior(ShutdownBehavior::Terminate)
            .build();
        let name: String = format!("gaform.{}.{}", self.stack, change.address).chars().take(128).collect();
        self.pace.write().await;
        let created = self
            .ec2
            .create_launch_template()
            .launch_template_name(name)
            .launch_template_data(data)
            .tag_specifications(spec(ResourceType::LaunchTemplate, &self.tags_of(change)))
            .send()
            .await
            .map_err(sdk_error)?;
        let id = created
            .launch_template()
            .and_then(|t| t.launch_template_id())
            .ok_or("no launch template id returned")?;
        Ok(format!("{id} ({image}, {arch})"))
    }

    /// The boot script of an instance that runs jobs or serves: fetch this stack's binary for
    /// the instance's architecture with the instance role, then start the head, the worker
    /// or the service's replica.
    async fn user_data(&self, change: &Change, arch: &str) -> Result<Option<String>, CloudError> {
        let after = change.after.clone().unwrap_or_default();
        if !after.contains_key("bootstrap") {
            return Ok(None);
        }
        let owner = change.address.as_str().trim_end_matches(".launch_template");
        let stack = format!("s3://{}/stacks/{}/{}", self.bucket().await?, self.stack, self.cloud);
        let bootstrap = after.get("bootstrap").map_or("", String::as_str);
        // A replica listens on every interface: the security group decides who reaches it.
        let command = match bootstrap.split_once(" --address ") {
            Some((start, service)) if start.starts_with("gaform serve") => {
                format!("serve --s3-stack {stack} --address {service} --bind 0.0.0.0 --poll 5s")
            }
            _ => {
                let role = if owner.ends_with(".head") { "head" } else { "worker" };
                format!("{role} --s3-stack {stack} --address {owner}")
            }
        };
        let region = self.region().unwrap_or_default();
        // How often heads measure their budget, as apply was told (it checked the value is
        // a duration: digits, units and spaces, nothing a shell would read otherwise).
        let tick = std::env::var("GAFORM_TICK")
            .ok()
            .filter(|t| humantime::parse_duration(t).is_ok() && !t.contains('\''))
            .map_or(String::new(), |t| format!("export GAFORM_TICK='{t}'\n"));
        Ok(Some(format!(
            "#!/bin/bash\n# gaform: boots {owner} of stack {stack_name}\nset -euo pipefail\nexport AWS_REGION={region}\n{tick}\
             aws s3 cp {stack}/bin/gaform-{arch}.gz - | gunzip > /usr/local/bin/gaform\nchmod +x /usr/local/bin/gaform\n\
             exec /usr/local/bin/gaform {command} >>/var/log/gaform.log 2>&1\n",
            stack_name = self.stack
        )))
    }

    /// The latest Amazon image named by `image` (`al2023`, `ubuntu-24.04`, or an AMI id).
    pub(super) async fn resolve_image(&self, image: &str, arch: &str) -> Result<String, CloudError> {
        let (owner, pattern) = match image {
            "al2023" => ("amazon", format!("al2023-ami-2023.*-{arch}")),
            "ubuntu-24.04" => {
                let ubuntu = if arch == "arm64" { "arm64" } else { "amd64" };
                ("099720109477", format!("ubuntu/images/*ubuntu-noble-24.04-{ubuntu}-server-*"))
            }
            ami => return Ok(ami.to_string()),
        };
        let out = self
            .ec2
            .describe_images()
            .owners(owner)
            .filters(Filter::builder().name("name").values(&pattern).build())
            .filters(Filter::builder().name("architecture").values(arch).build())
            .send()
            .await
            .map_err(sdk_error)?;
        let mut images: Vec<_> = out.images().iter().filter(|i| i.image_id().is_some()).collect();
        images.sort_by_key(|i| i.creation_date().unwrap_or_default().to_string());
        images.last().and_then(|i| i.image_id()).map(str::to_string).ok_or_else(|| {
            CloudError::from(format!(
                "no {image} image for {arch} in this region (looked for {pattern} owned by {owner})"
            ))
        })
    }

    async fn instances_change(&self, change: &Change) -> Result<String, CloudError> {
        let mut said = Vec::new();
        let stop: Vec<String> = match change.action {
            Action::Delete | Action::Replace => {
                self.instances(Some(&change.address)).await?.into_values().flatten().map(|f| f.id).collect()
            }
            _ => change.stop.iter().map(|i| i.id.clone()).collect(),
        };
        if !stop.is_empty() {
            self.pace.write().await;
            self.ec2
                .terminate_instances()
                .set_instance_ids(Some(stop.clone()))
                .send()
                .await
                .map_err(sdk_error)?;
            said.push(format!("terminated {}", stop.join(", ")));
            let books = self.writable_books().await?;
            super::bill::record_ends(&books, &stop, crate::local::records::now()).await?;
        }
        if change.action == Action::Delete {
            said.extend(self.delete_fleets(&change.address).await?);
            return Ok(said.join("; "));
        }
        let live: Vec<String> =
            self.instances(Some(&change.address)).await?.into_values().flatten().map(|f| f.id).collect();
        // The instances kept take the attributes the plan showed, whatever else the change
        // does (a scale that also edits `min`, say): the new ones start with them.
        if matches!(change.action, Action::Update | Action::Scale) && change.before != change.after {
            self.retag(&live, change).await?;
            said.push(format!("attributes tagged on {} kept", live.len()));
        }
        if change.action == Action::Update {
            return Ok(said.join("; "));
        }
        let want = change.count.as_ref().map_or(0, |c| c.after);
        let need = want.saturating_sub(live.len() as u64);
        if need == 0 {
            said.push(format!("{} running already", live.len()));
            return Ok(said.join("; "));
        }
        let template = Addr::launch_template(&change.address);
        let lt = self
            .launch_template_ids(&template)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| format!("{template} does not exist"))?;
        let started = match change.kind {
            Kind::Head => self.run_head(change, &lt).await,
            _ => self.fill_group(change, &lt, need).await,
        };
        // Billed from here on, even when the group could be filled only in part.
        let books = self.writable_books().await?;
        super::bill::record_new(&self.ec2, &books, &self.stack, &self.cloud, Some(&change.address)).await?;
        said.push(started?);
        Ok(said.join("; "))
    }

    async fn run_head(&self, change: &Change, lt: &str) -> Result<String, CloudError> {
        let after = change.after.clone().unwrap_or_default();
        let instance_type = after.get("instance_type").cloned().unwrap_or_default();
        self.pace.write().await;
        let out = self
            .ec2
            .run_instances()
            .launch_template(
                LaunchTemplateSpecification::builder().launch_template_id(lt).version("$Latest").build(),
            )
            .instance_type(InstanceType::from(instance_type.as_str()))
            .min_count(1)
            .max_count(1)
            .tag_specifications(spec(ResourceType::Instance, &self.tags_of(change)))
            .send()
            .await
            .map_err(sdk_error)?;
        let ids: Vec<&str> = out.instances().iter().filter_map(|i| i.instance_id()).collect();
        Ok(format!("started {} ({instance_type}, on-demand)", ids.join(", ")))
    }

    /// Starts `need` workers: spot first where the group asks for it, then on-demand for
    /// what spot could not supply when the policy falls back.
    async fn fill_group(&self, change: &Change, lt: &str, need: u64) -> Result<String, CloudError> {
        let attributes = change.after.clone().unwrap_or_default();
        let region = self.region().unwrap_or_default();
        let group =
            super::fleet::Group { lt, tags: &self.tags_of(change), attributes: &attributes, region: &region };
        super::fleet::fill(&self.ec2, Some(&self.pace), &group, need).await
    }

    /// Deletes the stack's fleets of `address` (instant fleets stay listed otherwise).
    async fn delete_fleets(&self, address: &Addr) -> Result<Vec<String>, CloudError> {
        let mut ids = Vec::new();
        let mut pages = self.ec2.describe_fleets().into_paginator().send();
        while let Some(page) = pages.next().await {
            for f in page.map_err(sdk_error)?.fleets() {
                let ours = tags::value(f.tags(), tags::STACK) == Some(self.stack.as_str())
                    && tags::value(f.tags(), tags::ADDRESS) == Some(address.as_str());
                let deleted = f.fleet_state().is_some_and(|s| s.as_str().starts_with("deleted"));
                if ours && !deleted {
                    ids.extend(f.fleet_id().map(str::to_string));
                }
            }
        }
        if ids.is_empty() {
            return Ok(vec![]);
        }
        self.pace.write().await;
        self.ec2
            .delete_fleets()
            .set_fleet_ids(Some(ids.clone()))
            .terminate_instances(false)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(vec![format!("deleted fleets {}", ids.join(", "))])
    }

    pub(super) fn region(&self) -> Option<String> {
        self.ec2.config().region().map(|r| r.to_string())
    }
}
