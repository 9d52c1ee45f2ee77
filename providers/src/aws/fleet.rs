//! Filling a worker group with `instant` EC2 Fleets: spot first with the policy's
//! allocation strategy and price, then on-demand for what spot could not supply when the
//! policy falls back. Apply fills a group this way, and a head replaces lost workers the
//! same way, so both start the same kind of instance with the same tags.

use super::tags::{self, spec};
use super::{sdk_error, Pace};
use crate::CloudError;
use aws_sdk_ec2::types::{
    DefaultTargetCapacityType, FleetLaunchTemplateConfigRequest, FleetLaunchTemplateOverridesRequest,
    FleetLaunchTemplateSpecificationRequest, FleetType, InstanceType, ResourceType, SpotAllocationStrategy,
    SpotOptionsRequest, Tag, TargetCapacitySpecificationRequest,
};
use gaform_compiler::catalog::Catalog;
use gaform_compiler::plan::{Addr, Attributes};

/// What a fleet request for a worker group needs.
pub(super) struct Group<'a> {
    /// The group's launch template.
    pub lt: &'a str,
    /// The tags its instances (and fleets) carry.
    pub tags: &'a [Tag],
    /// Its attributes as planned: `instance_type(s)`, `purchase`, the spot policy's.
    pub attributes: &'a Attributes,
    pub region: &'a str,
}

/// The ids of the launch templates at `address` of a stack's cloud (one at most, unless a
/// replace was cut short).
pub(super) async fn template_ids(
    ec2: &aws_sdk_ec2::Client,
    (stack, cloud): (&str, &str),
    address: &Addr,
) -> Result<Vec<String>, CloudError> {
    let out = ec2
        .describe_launch_templates()
        .set_filters(Some(tags::owned_at(stack, cloud, address)))
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(out.launch_templates().iter().filter_map(|t| t.launch_template_id().map(str::to_string)).collect())
}

/// Starts `need` workers of `group`; what started, in words, or why too few did.
pub(super) async fn fill(
    ec2: &aws_sdk_ec2::Client,
    pace: Option<&Pace>,
    group: &Group<'_>,
    need: u64,
) -> Result<String, CloudError> {
    let spot = group.attributes.get("purchase").is_some_and(|p| p.starts_with("spot"));
    let mut parts = Vec::new();
    let mut missing = need;
    if spot {
        let (got, errors) = fleet(ec2, pace, group, missing, true).await?;
        parts.push(format!("{} spot", got.len()));
        missing -= (got.len() as u64).min(missing);
        if missing > 0 {
            let why = if errors.is_empty() { "no capacity".to_string() } else { errors.join("; ") };
            if group.attributes.get("spot_fallback").map(String::as_str) != Some("on_demand") {
                return Err(format!(
                    "spot capacity: got {} of {need} ({why}) and the spot policy's fallback is none; started: {}",
                    need - missing,
                    got.join(", ")
                ).into());
            }
            parts.push(format!("fallback to on-demand after: {why}"));
        }
    }
    if missing > 0 {
        let (got, errors) = fleet(ec2, pace, group, missing, false).await?;
        parts.push(format!("{} on-demand", got.len()));
        if (got.len() as u64) < missing {
            return Err(format!(
                "on-demand capacity: got {} of {missing} ({})",
                got.len(),
                errors.join("; ")
            )
            .into());
        }
    }
    Ok(format!("started {}", parts.join(", ")))
}

/// One `instant` EC2 Fleet of `count` instances; the ids it started and its errors.
pub(super) async fn fleet(
    ec2: &aws_sdk_ec2::Client,
    pace: Option<&Pace>,
    group: &Group<'_>,
    count: u64,
    spot: bool,
) -> Result<(Vec<String>, Vec<String>), CloudError> {
    let after = group.attributes;
    let types =
        after.get("instance_type").or_else(|| after.get("instance_types")).cloned().unwrap_or_default();
    let overrides: Vec<FleetLaunchTemplateOverridesRequest> = types
        .split(", ")
        .map(|t| {
            let max_price = if spot { max_price(after.get("spot_max_price"), t, group.region) } else { None };
            FleetLaunchTemplateOverridesRequest::builder()
                .instance_type(InstanceType::from(t))
                .set_max_price(max_price)
                .build()
        })
        .collect();
    let config = FleetLaunchTemplateConfigRequest::builder()
        .launch_template_specification(
            FleetLaunchTemplateSpecificationRequest::builder()
                .launch_template_id(group.lt)
                .version("$Latest")
                .build(),
        )
        .set_overrides(Some(overrides))
        .build();
    let count =
        i32::try_from(count).map_err(|_| format!("{count} instances is more than one fleet can ask for"))?;
    let mut target = TargetCapacitySpecificationRequest::builder().total_target_capacity(count);
    target = if spot {
        target.default_target_capacity_type(DefaultTargetCapacityType::Spot).spot_target_capacity(count)
    } else {
        target
            .default_target_capacity_type(DefaultTargetCapacityType::OnDemand)
            .on_demand_target_capacity(count)
    };
    let allocation = SpotAllocationStrategy::from(
        after.get("spot_allocation").map_or("price-capacity-optimized", |a| allocation_name(a)),
    );
    if let Some(pace) = pace {
        pace.write().await;
    }
    let out = ec2
        .create_fleet()
        .r#type(FleetType::Instant)
        .launch_template_configs(config)
        .target_capacity_specification(target.build())
        .spot_options(SpotOptionsRequest::builder().allocation_strategy(allocation).build())
        .tag_specifications(spec(ResourceType::Instance, group.tags))
        .tag_specifications(spec(ResourceType::Fleet, group.tags))
        .send()
        .await
        .map_err(sdk_error)?;
    let ids = out.instances().iter().flat_map(|i| i.instance_ids().iter().cloned()).collect();
    let errors = out
        .errors()
        .iter()
        .map(|e| format!("{}: {}", e.error_code().unwrap_or("error"), e.error_message().unwrap_or("")))
        .collect();
    Ok((ids, errors))
}

/// The `.gaf` allocation keyword as EC2 spells it.
fn allocation_name(keyword: &str) -> &'static str {
    match keyword {
        "capacity_optimized" => "capacity-optimized",
        "lowest_price" => "lowest-price",
        _ => "price-capacity-optimized",
    }
}

/// A spot policy's `max_price` for one type, as EC2 wants it (USD per hour).
fn max_price(policy: Option<&String>, instance_type: &str, region: &str) -> Option<String> {
    let policy = policy?;
    if let Some(pct) = policy.strip_suffix("% of on-demand") {
        let fraction: f64 = pct.parse::<f64>().ok()? / 100.0;
        let (price, _) = Catalog::get().lookup(instance_type)?.price(region)?;
        return Some(format!("{:.4}", price * fraction));
    }
    policy.strip_prefix('$').and_then(|p| p.strip_suffix("/hour")).map(str::to_string)
}
