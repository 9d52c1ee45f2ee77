//! How many workers each group gets: chosen from its jobs' workload within `[min, max]`,
//! then cut to fit the compute's caps, its quota and its budget's `max_cost_per_hour`. An
//! autoscaled group on aws starts at `min` instead, with the ceiling its head may grow it
//! to. Pure: the same program always gets the same counts, and each comes with its reason.

use crate::catalog::{Catalog, FALLBACK_PRICE_REGION};
use crate::ir::{Compute, Program, Provider, WorkerGroup};
use serde::{Deserialize, Serialize};

/// A worker group's planned size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Count {
    /// Instances wanted.
    pub value: u64,
    /// Why this many, without the number (`islands = 3`, `cut from 6 by quota max_cpus = 64`).
    pub reason: String,
    pub min: u64,
    pub max: u64,
    /// Set when the group's head sizes it at run time (`autoscale = true` on aws): `value`
    /// is what apply starts, and the head grows it with the work up to this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<Autoscale>,
}

/// How far a head may size an autoscaled group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Autoscale {
    /// The most workers the caps, the quota and the budget's `max_cost_per_hour` allow.
    pub ceiling: u64,
    /// What the jobs' islands ask for at the start (the count a group that does not
    /// autoscale gets): a job that leaves `islands` open runs this many.
    pub demand: u64,
}

impl Count {
    /// The count the jobs' islands are dealt over: what the work asks for, whether the
    /// group starts there or its head grows it there.
    pub fn demand(&self) -> u64 {
        self.autoscale.as_ref().map_or(self.value, |a| a.demand)
    }
}

/// How many of a job's islands a worker with `vcpus` runs at once when its head sizes the
/// group: an island evaluates its `population` in parallel, so one island keeps up to
/// `population` vCPUs busy; a worker with more runs more islands rather than idle.
pub fn islands_per_worker(vcpus: u64, population: u64) -> u64 {
    (vcpus / population.max(1)).max(1)
}

/// What one instance of a head or group needs and costs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Footprint {
    /// The largest type of a diversified group: the one caps must allow for.
    pub instance_type: String,
    pub vcpus: u64,
    pub gpus: u64,
    /// On-demand USD per hour; 0 on the local cloud.
    pub hourly: f64,
    /// On-demand USD per hour on AWS in the cloud's region (us-east-1 for a local cloud
    /// without one), on every cloud: what the local cloud's ledger charges, as simulated.
    #[serde(default)]
    pub list_hourly: f64,
    /// The price is the fallback region's, standing in for this one.
    pub estimated: bool,
    /// `x86_64` or `arm64` (of the largest type).
    #[serde(default)]
    pub arch: String,
}

/// The footprint of one instance of any of `types` on `compute`'s cloud.
pub fn footprint<'a>(
    program: &Program,
    compute: &Compute,
    types: impl Iterator<Item = &'a str>,
) -> Footprint {
    let cloud = program.clouds.get(compute.cloud.0);
    let local = cloud.is_none_or(|c| c.provider == Provider::Local);
    let region = cloud.and_then(|c| c.region.as_deref()).unwrap_or(FALLBACK_PRICE_REGION);
    let mut out = Footprint::default();
    for t in types.filter_map(|t| Catalog::get().lookup(t)) {
        if u64::from(t.vcpus) > out.vcpus || out.instance_type.is_empty() {
            out.instance_type = t.name.clone();
            out.arch = t.arch.clone();
        }
        out.vcpus = out.vcpus.max(u64::from(t.vcpus));
        out.gpus = out.gpus.max(u64::from(t.gpus));
        if let Some((price, own)) = t.price(region) {
            out.list_hourly = out.list_hourly.max(price);
            if !local {
                out.hourly = out.hourly.max(price);
                out.estimated |= !own;
            }
        }
    }
    out
}

/// The footprint of one of `group`'s instances.
pub fn group_footprint(program: &Program, compute: &Compute, group: &WorkerGroup) -> Footprint {
    footprint(program, compute, group.instance_types.iter().map(|t| t.value.as_str()))
}

/// The footprint of `compute`'s head.
pub fn head_footprint(program: &Program, compute: &Compute) -> Footprint {
    footprint(program, compute, std::iter::once(compute.head.instance_type.value.as_str()))
}

/// Every group's count, per compute in program order, and warnings for groups whose `min`
/// had to be kept although a cap asked for fewer.
pub fn choose(program: &Program) -> (Vec<Vec<Count>>, Vec<String>) {
    let mut warnings = Vec::new();
    // Quotas and budgets are shared: what earlier computes take is not there for later ones.
    let mut quota_used = vec![Usage::default(); program.quotas.len()];
    let mut budget_used = vec![0.0f64; program.budgets.len()];
    let mut all = Vec::new();
    for (ci, compute) in program.computes.iter().enumerate() {
        let head = head_footprint(program, compute);
        let mut own = Usage::default();
        own.add(&head, 1);
        if let Some(q) = &compute.quota {
            if let Some(u) = quota_used.get_mut(q.value.0) {
                u.add(&head, 1);
            }
        }
        if let Some(b) = compute.budget.and_then(|b| budget_used.get_mut(b.0)) {
            *b += head.hourly;
        }
        let mut counts = Vec::new();
        for (gi, group) in compute.workers.iter().enumerate() {
            let fp = group_footprint(program, compute, group);
            let (wanted, why) = wanted(program, ci, gi, group);
            let quota =
                compute.quota.as_ref().and_then(|q| Some((q.value.0, program.quotas.get(q.value.0)?)));
            let budget = compute.budget.and_then(|b| Some((b.0, program.budgets.get(b.0)?)));
            let fit = Fit {
                compute,
                fp: &fp,
                own,
                quota: quota.map(|(qi, q)| (q, quota_used.get(qi).copied().unwrap_or_default())),
                budget: budget.map(|(bi, b)| (b, budget_used.get(bi).copied().unwrap_or(0.0))),
            };
            let (mut value, mut reason) = fit.cut(wanted, why);
            if value < group.min {
                warnings.push(format!(
                    "compute.{}.workers.{}: {reason} leaves {value}, below its min = {}; keeping {}",
                    compute.name, group.name, group.min, group.min
                ));
                reason = format!("min = {}, although {reason}", group.min);
                value = group.min;
            }
            let runs_jobs = program.jobs.iter().any(|j| j.compute.0 == ci && j.workers == gi);
            let on_aws = program.clouds.get(compute.cloud.0).is_some_and(|c| c.provider == Provider::Aws);
            // Sized by its head: it starts small and grows with the work, so the caps, the
            // quota and the budget are held against the most it may grow to. A group that
            // cannot be sized (min = max, or caps that leave no room) is not.
            let (mut autoscale, mut counted) = (None, value);
            let (cut, why) = fit.cut(group.max.value, String::new());
            let ceiling = cut.max(value);
            let start = group.min.max(1).min(ceiling);
            if group.autoscale && on_aws && runs_jobs && start < ceiling {
                let from = if start == group.min { format!("min = {start}") } else { start.to_string() };
                let why = if why.is_empty() { String::new() } else { format!(" ({why})") };
                reason = format!("autoscale: starts at {from}; its head sizes it to the work ({reason}), up to {ceiling}{why}");
                autoscale = Some(Autoscale { ceiling, demand: value });
                (value, counted) = (start, ceiling);
            }
            own.add(&fp, counted);
            if let Some(u) = quota.and_then(|(qi, _)| quota_used.get_mut(qi)) {
                u.add(&fp, counted);
            }
            if let Some(b) = budget.and_then(|(bi, _)| budget_used.get_mut(bi)) {
                *b += fp.hourly * counted as f64;
            }
            counts.push(Count { value, reason, min: group.min, max: group.max.value, autoscale });
        }
        all.push(counts);
    }
    (all, warnings)
}

/// What one group may have, given what the groups before it took.
struct Fit<'a> {
    compute: &'a Compute,
    fp: &'a Footprint,
    own: Usage,
    quota: Option<(&'a crate::ir::Quota, Usage)>,
    budget: Option<(&'a crate::ir::Budget, f64)>,
}

impl Fit<'_> {
    /// `value` cut to fit the compute's caps, its quota and its budget's hourly cap, with
    /// the reason of the last cut (or `reason` when nothing cut it).
    fn cut(&self, value: u64, reason: String) -> (u64, String) {
        let (compute, fp, own) = (self.compute, self.fp, self.own);
        let (mut value, mut reason) = (value, reason);
        {
            let mut cut = |limit: u64, by: String| {
                if limit < value {
                    reason = format!("cut from {value} by {by}");
                    value = limit;
                }
            };
            let room = |cap: u64, used: u64, each: u64| {
                cap.saturating_sub(used).checked_div(each).unwrap_or(u64::MAX)
            };
            if let Some(cap) = &compute.max_cpus {
                cut(room(cap.value, own.vcpus, fp.vcpus), format!("compute max_cpus = {}", cap.value));
            }
            if let Some(cap) = &compute.max_gpus {
                cut(room(cap.value, own.gpus, fp.gpus), format!("compute max_gpus = {}", cap.value));
            }
            if let Some((q, used)) = self.quota {
                if let Some(cap) = &q.max_cpus {
                    cut(room(cap.value, used.vcpus, fp.vcpus), format!("quota max_cpus = {}", cap.value));
                }
                if let Some(cap) = &q.max_gpus {
                    cut(room(cap.value, used.gpus, fp.gpus), format!("quota max_gpus = {}", cap.value));
                }
                if let Some(cap) = &q.max_instances {
                    cut(room(cap.value, used.instances, 1), format!("quota max_instances = {}", cap.value));
                }
            }
            if let Some((b, used)) = self.budget {
                if let (Some(cap), true) = (b.max_cost_per_hour, fp.hourly > 0.0) {
                    let fits = ((cap - used) / fp.hourly).floor().max(0.0) as u64;
                    cut(fits, format!("budget max_cost_per_hour = ${cap:.2}"));
                }
            }
        }
        (value, reason)
    }
}

/// What the group's jobs ask for, clamped to `[min, max]`.
fn wanted(program: &Program, compute: usize, index: usize, group: &WorkerGroup) -> (u64, String) {
    let (min, max) = (group.min, group.max.value);
    let jobs: Vec<_> = program.jobs.iter().filter(|j| j.compute.0 == compute && j.workers == index).collect();
    if jobs.is_empty() {
        return (min, format!("min = {min}, no job runs on it"));
    }
    if !group.autoscale {
        return (max, "autoscale = false".into());
    }
    let (want, why) = jobs
        .iter()
        .map(|j| match j.islands {
            Some(n) => (n, format!("islands = {n}")),
            None => (max, format!("max = {max}, one island per worker")),
        })
        .max_by_key(|(n, _)| *n)
        .unwrap_or((min, String::new()));
    if want > max {
        (max, format!("max = {max}; {want} islands share the workers"))
    } else if want < min {
        (min, format!("min = {min}; {why}"))
    } else {
        (want, why)
    }
}

#[derive(Clone, Copy, Default)]
struct Usage {
    vcpus: u64,
    gpus: u64,
    instances: u64,
}

impl Usage {
    fn add(&mut self, fp: &Footprint, count: u64) {
        self.vcpus = self.vcpus.saturating_add(fp.vcpus.saturating_mul(count));
        self.gpus = self.gpus.saturating_add(fp.gpus.saturating_mul(count));
        self.instances = self.instances.saturating_add(count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Spanned;
    use crate::source::{SourceFile, Span};
    use crate::{CheckOptions, NoHost};

    fn program(text: &str) -> Program {
        let checked = crate::check(
            &SourceFile::new("t.gaf".to_string(), text.to_string()),
            &NoHost,
            &CheckOptions::default(),
        );
        checked.program.unwrap_or_else(|| panic!("{:?}", checked.diagnostics))
    }

    /// On the local cloud a group runs the count its work asks for from the start.
    const TEXT: &str = r#"
cloud west { provider = local }
quota account { max_cpus = 500 }
compute c {
  cloud = west
  quota = account
  head { instance_type = "m5.large" }
  workers cpu { instance_type = "c5.4xlarge"  min = 1  max = 8 }
  workers spare { instance_type = "c5.large"  min = 2  max = 4 }
}
job j {
  compute     = c
  workers     = cpu
  data        = "x.csv"
  strategy    = sma_crossover(fast = 2..50, slow = 10..200)
  population  = 100
  generations = 10
  islands     = 6
}
"#;

    fn counts(p: &Program) -> Vec<(u64, String)> {
        choose(p).0.concat().into_iter().map(|c| (c.value, c.reason)).collect()
    }

    #[test]
    fn islands_set_the_count_and_idle_groups_sit_at_min() {
        assert_eq!(
            counts(&program(TEXT)),
            [(6, "islands = 6".to_string()), (2, "min = 2, no job runs on it".to_string())]
        );
        let open = program(&TEXT.replace("  islands     = 6\n", ""));
        assert_eq!(counts(&open)[0], (8, "max = 8, one island per worker".to_string()));
        let many = program(&TEXT.replace("islands     = 6", "islands     = 12"));
        assert_eq!(counts(&many)[0], (8, "max = 8; 12 islands share the workers".to_string()));
    }

    #[test]
    fn a_quota_cuts_the_count_and_names_itself() {
        // The checker refuses a quota too small at max scale (E0011); a quota that shrank
        // (an account limit read live, later) still has to be honoured, with its reason.
        let mut p = program(TEXT);
        p.quotas[0].max_cpus = Some(Spanned { value: 52, span: Span::default() });
        // head m5.large: 2 vCPUs; c5.4xlarge: 16 each; (52 - 2) / 16 = 3, which leaves 2 vCPUs: one c5.large, below spare's min.
        assert_eq!(counts(&p)[0], (3, "cut from 6 by quota max_cpus = 52".to_string()));
        let (_, warnings) = choose(&p);
        assert!(
            warnings.iter().any(|w| w.contains("workers.spare") && w.contains("keeping 2")),
            "{warnings:?}"
        );
    }

    #[test]
    fn the_local_cloud_costs_nothing() {
        let p = program(TEXT);
        let c = &p.computes[0];
        assert_eq!(group_footprint(&p, c, &c.workers[0]).hourly, 0.0);
        assert_eq!(group_footprint(&p, c, &c.workers[0]).vcpus, 16);
    }

    #[test]
    fn on_aws_an_autoscaled_group_starts_at_min_and_may_grow_to_what_the_caps_allow() {
        let aws = TEXT.replace("provider = local", r#"provider = aws  region = "us-east-1""#);
        let p = program(&aws);
        let (chosen, _) = choose(&p);
        let cpu = &chosen[0][0];
        assert_eq!(cpu.value, 1);
        assert_eq!(
            cpu.reason,
            "autoscale: starts at min = 1; its head sizes it to the work (islands = 6), up to 8"
        );
        assert_eq!(cpu.autoscale, Some(Autoscale { ceiling: 8, demand: 6 }));
        assert_eq!(cpu.demand(), 6, "a job's open islands are dealt over what the work asks for");
        assert_eq!(chosen[0][1].autoscale, None, "no job runs on it: min, nothing to size");
        // A quota of 90 vCPUs: the head's 2 leave 88 for c5.4xlarge's 16 each, 5 at most.
        let mut tight = p.clone();
        tight.quotas[0].max_cpus = Some(Spanned { value: 90, span: Span::default() });
        assert_eq!(choose(&tight).0[0][0].autoscale, Some(Autoscale { ceiling: 5, demand: 5 }));
        let fixed = program(&aws.replace("min = 1  max = 8", "min = 1  max = 8  autoscale = false"));
        assert_eq!(counts(&fixed)[0], (8, "autoscale = false".to_string()));
    }
}
