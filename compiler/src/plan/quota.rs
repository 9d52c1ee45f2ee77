//! EC2's vCPU quotas: which class each instance falls in, what a desired state needs of
//! each at max scale, and whether the account's live quotas leave room for it. Pure: the
//! provider reads the quotas and usage; this decides, before any change is made.

use super::addr::Kind;
use super::desired::Desired;
use super::observed::Observed;
use std::collections::BTreeMap;

/// Service Quotas code, name, the instance families it covers, and whether it is spot.
const CLASSES: [(&str, &str, &str, bool); 6] = [
    ("L-1216C47A", "standard on-demand", "acdhimrtz", false),
    ("L-34B43A08", "standard spot", "acdhimrtz", true),
    ("L-DB2E81BA", "G and VT on-demand", "gv", false),
    ("L-3819A6DF", "G and VT spot", "gv", true),
    ("L-417A185B", "P on-demand", "p", false),
    ("L-7212CCBC", "P spot", "p", true),
];

/// The quota code and name an instance of `instance_type` counts against.
pub fn class_of(instance_type: &str, spot: bool) -> Option<(&'static str, &'static str)> {
    let family = instance_type.chars().next()?.to_ascii_lowercase();
    CLASSES.iter().find(|c| c.3 == spot && c.2.contains(family)).map(|c| (c.0, c.1))
}

/// vCPUs each aws cloud needs of each quota at max scale, by (cloud, code).
pub fn needed(desired: &Desired) -> BTreeMap<(String, String), f64> {
    let mut out = BTreeMap::new();
    for r in desired.resources.iter().filter(|r| r.provider == "aws" && r.kind.is_counted()) {
        let (Some(fp), Some(count)) = (&r.footprint, &r.count) else { continue };
        let spot = r.attributes.get("purchase").is_some_and(|p| p.starts_with("spot"));
        let Some((code, _)) = class_of(&fp.instance_type, spot) else { continue };
        let max = if r.kind == Kind::Head { 1 } else { count.max };
        *out.entry((r.cloud.clone(), code.to_string())).or_insert(0.0) += (fp.vcpus * max) as f64;
    }
    out
}

/// One message per live quota the desired state cannot fit in at max scale.
pub fn check(desired: &Desired, observed: &Observed) -> Vec<String> {
    // What the stack runs now counts as in use, but it is ours to resize.
    let mut ours: BTreeMap<(String, String), f64> = BTreeMap::new();
    for r in desired.resources.iter().filter(|r| r.provider == "aws" && r.kind.is_counted()) {
        let (Some(fp), Some(seen)) = (&r.footprint, observed.resources.get(&r.addr)) else { continue };
        let spot = r.attributes.get("purchase").is_some_and(|p| p.starts_with("spot"));
        if let Some((code, _)) = class_of(&fp.instance_type, spot) {
            *ours.entry((r.cloud.clone(), code.to_string())).or_insert(0.0) +=
                (fp.vcpus * seen.instances.len() as u64) as f64;
        }
    }
    let mut out = Vec::new();
    for ((cloud, code), need) in needed(desired) {
        let Some(quota) = observed.facts.quotas.get(&format!("{cloud}/{code}")) else { continue };
        let others = (quota.used - ours.get(&(cloud.clone(), code.clone())).copied().unwrap_or(0.0)).max(0.0);
        let free = (quota.limit - others).max(0.0);
        if need > free {
            out.push(format!(
                "cloud `{cloud}`: the account's {} vCPU quota ({code}) is {}, {} in use by other instances, so {} are free; the file needs {} at max scale. Ask AWS for more, or lower the groups' `max`",
                quota.name, quota.limit, others, free, need
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::class_of;

    #[test]
    fn families_fall_in_their_classes() {
        assert_eq!(class_of("c5.4xlarge", false).map(|c| c.0), Some("L-1216C47A"));
        assert_eq!(class_of("c5.4xlarge", true).map(|c| c.0), Some("L-34B43A08"));
        assert_eq!(class_of("g5.xlarge", false).map(|c| c.0), Some("L-DB2E81BA"));
        assert_eq!(class_of("p3.2xlarge", true).map(|c| c.0), Some("L-7212CCBC"));
    }
}
