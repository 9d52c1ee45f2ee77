//! The planner: diff(desired, observed) → Plan. Pure. A counted resource is compared slot
//! by slot (worker k runs islands k, k + count, …), so a dead worker is re-created in its
//! own slot and a duplicate is stopped; a finished job with an unchanged spec is done, and
//! the compute it ran on stays down.

use super::addr::{Addr, Kind};
use super::cost;
use super::desired::{Attributes, Desired, Resource};
use super::observed::{Instance, JobStatus, Observed, ObservedResource};
use super::{Action, Change, CountChange, Mode, Plan, Summary, FORMAT_VERSION};
use petgraph::algo::has_path_connecting;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::{BTreeMap, BTreeSet};

/// The plan that makes `observed` match `desired`.
pub fn diff(desired: &Desired, observed: &Observed, configuration: &str, sha256: &str) -> Plan {
    let mut notes: Vec<String> = Vec::new();
    let status = JobView::new(desired, observed);
    let mut changes = Vec::new();
    let mut planned: BTreeMap<String, u64> = BTreeMap::new();
    for r in &desired.resources {
        let seen = observed.resources.get(&r.addr);
        let resolved = resolve_image(r, &observed.facts);
        let r = resolved.as_ref().unwrap_or(r);
        let change = match r.kind {
            Kind::Job => job_change(r, seen, &status, &mut notes),
            Kind::Head | Kind::WorkerGroup => {
                let (want, reason) = autoscaled(r, seen, status.count(r));
                planned.insert(r.addr.to_string(), want);
                counted_change(r, seen, want, &reason, &mut notes)
            }
            // Replicas serve whatever the job's state: a finished job's best is what they serve.
            Kind::Service => match &r.count {
                Some(c) => counted_change(r, seen, c.value, &c.reason, &mut notes),
                // On aws a service is the spec its compute's replicas read: one object.
                None => single_change(r, seen),
            },
            _ => single_change(r, seen),
        };
        changes.extend(change);
    }
    for (addr, seen) in &observed.resources {
        if desired.get(addr).is_none() {
            changes.push(delete(addr, seen, "not in the file any more"));
        }
    }
    notes.extend(status.down_notes());
    notes.extend(desired.warnings.iter().cloned());
    notes.extend(desired.not_provisioned.iter().cloned());
    notes.extend(desired.monitors.iter().map(|m| {
        let alerts = m.alerts.len();
        format!(
            "monitor.{}: compute.{}'s head measures job.{} every tick ({alerts} alert(s))",
            m.name, m.compute, m.job
        )
    }));
    notes.extend(observed.facts.notes.iter().cloned());
    let cost = cost::cost(desired, &planned, &observed.facts);
    finish(Mode::Plan, desired, observed, configuration, sha256, changes, notes, cost)
}

/// A launch template whose image name its cloud resolved: `al2023 (ami-0abc…)`, so that a
/// new release of the image plans a new template.
fn resolve_image(r: &Resource, facts: &super::observed::Facts) -> Option<Resource> {
    let (image, arch) = (r.attributes.get("image")?, r.attributes.get("arch")?);
    let ami = facts.images.get(&format!("{}/{image}/{arch}", r.cloud))?;
    let mut resolved = r.clone();
    resolved.attributes.insert("image".into(), format!("{image} ({ami})"));
    Some(resolved)
}

/// An autoscaled group's count: what its head made of it, anywhere from its start to its
/// ceiling, is left as it is; only a group outside that range is brought back into it.
fn autoscaled(r: &Resource, seen: Option<&ObservedResource>, (want, reason): (u64, String)) -> (u64, String) {
    let Some(scale) = r.count.as_ref().and_then(|c| c.autoscale.as_ref()) else { return (want, reason) };
    // Slots, not instances: a duplicate of a slot is stopped, not kept as growth.
    let live = seen.map_or(0, |s| s.instances.iter().map(|i| i.index).collect::<BTreeSet<_>>().len() as u64);
    if want == 0 || live <= want {
        return (want, reason);
    }
    let kept = live.min(scale.ceiling);
    (kept, format!("sized by its head between {want} and {}", scale.ceiling))
}

/// The plan that removes everything `observed` holds.
pub fn destroy(desired: &Desired, observed: &Observed, configuration: &str, sha256: &str) -> Plan {
    let changes = observed.resources.iter().map(|(a, r)| delete(a, r, "destroy")).collect();
    let cost = cost::cost(desired, &BTreeMap::new(), &observed.facts);
    // Said before the prompt: an unfinished run cannot resume once its store is gone.
    let notes = observed
        .resources
        .iter()
        .filter(|(_, r)| r.job == Some(JobStatus::Running))
        .map(|(a, _)| {
            format!("{a}: still running; destroy deletes its checkpoints, so a later apply starts it from generation 0 (the results it has written stay)")
        })
        .collect();
    finish(Mode::Destroy, desired, observed, configuration, sha256, changes, notes, cost)
}

#[allow(clippy::too_many_arguments)]
fn finish(
    mode: Mode,
    desired: &Desired,
    observed: &Observed,
    configuration: &str,
    sha256: &str,
    mut changes: Vec<Change>,
    notes: Vec<String>,
    cost: super::Cost,
) -> Plan {
    // Creates and changes in dependency order, then deletes in reverse.
    changes.sort_by_key(order_key);
    let needs = Needs::new(desired, observed);
    let position: BTreeMap<&Addr, usize> = changes.iter().enumerate().map(|(i, c)| (&c.address, i)).collect();
    let deps: Vec<Vec<usize>> = changes
        .iter()
        .map(|c| {
            let mut out = BTreeSet::new();
            if c.action == Action::Delete {
                // A delete waits for the deletes of everything that needs this resource.
                for (other, i) in &position {
                    let deleting = changes.get(*i).is_some_and(|o| o.action == Action::Delete);
                    if deleting && needs.reaches(other, &c.address) {
                        out.insert(*i);
                    }
                }
            } else {
                out = needs.nearest_changed(&c.address, &position, &changes);
            }
            out.into_iter().collect()
        })
        .collect();
    for (c, d) in changes.iter_mut().zip(deps) {
        c.depends_on = d;
    }
    let mut summary = Summary::default();
    for c in &changes {
        match c.action {
            Action::Create => summary.add += 1,
            Action::Update | Action::Scale => summary.change += 1,
            Action::Replace => {
                summary.add += 1;
                summary.destroy += 1;
            }
            Action::Delete => summary.destroy += 1,
        }
    }
    Plan {
        format_version: FORMAT_VERSION,
        configuration: configuration.to_string(),
        configuration_sha256: sha256.to_string(),
        mode,
        observed: observed.fingerprints(),
        resource_changes: changes,
        notes,
        cost,
        summary,
    }
}

fn order_key(c: &Change) -> (bool, i32, Addr) {
    let rank = c.kind as i32;
    if c.action == Action::Delete {
        (true, -rank, c.address.clone())
    } else {
        (false, rank, c.address.clone())
    }
}

/// What depends on what, from the file and from the records of what exists (so that a
/// resource gone from the file is still deleted in order): a petgraph with an edge from
/// each resource to each resource it needs.
struct Needs {
    graph: DiGraph<Addr, ()>,
    index: BTreeMap<Addr, NodeIndex>,
}

impl Needs {
    fn new(desired: &Desired, observed: &Observed) -> Needs {
        let mut needs = Needs { graph: DiGraph::new(), index: BTreeMap::new() };
        let pairs = desired
            .resources
            .iter()
            .map(|r| (&r.addr, &r.depends_on))
            .chain(observed.resources.iter().map(|(a, r)| (a, &r.depends_on)));
        for (addr, depends_on) in pairs {
            let from = needs.node(addr);
            for d in depends_on {
                let to = needs.node(d);
                needs.graph.update_edge(from, to, ());
            }
        }
        needs
    }

    fn node(&mut self, addr: &Addr) -> NodeIndex {
        if let Some(&i) = self.index.get(addr) {
            return i;
        }
        let i = self.graph.add_node(addr.clone());
        self.index.insert(addr.clone(), i);
        i
    }

    /// True when `from` depends on `to`, directly or not.
    fn reaches(&self, from: &Addr, to: &Addr) -> bool {
        match (self.index.get(from), self.index.get(to)) {
            (Some(&f), Some(&t)) if f != t => has_path_connecting(&self.graph, f, t, None),
            _ => false,
        }
    }

    /// The changes among `addr`'s dependencies that are nearest to it: a dependency with
    /// no change of its own (or only a delete) is looked through.
    fn nearest_changed(
        &self,
        addr: &Addr,
        position: &BTreeMap<&Addr, usize>,
        changes: &[Change],
    ) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        let Some(&start) = self.index.get(addr) else { return out };
        let mut stack = vec![start];
        let mut seen = BTreeSet::from([start]);
        while let Some(n) = stack.pop() {
            for d in self.graph.neighbors(n) {
                if !seen.insert(d) {
                    continue;
                }
                match self.graph.node_weight(d).and_then(|a| position.get(a)) {
                    Some(&i) if changes.get(i).is_some_and(|c| c.action != Action::Delete) => {
                        out.insert(i);
                    }
                    _ => stack.push(d),
                }
            }
        }
        out
    }
}

fn base(r: &Resource, action: Action, reason: impl Into<String>, seen: Option<&ObservedResource>) -> Change {
    Change {
        address: r.addr.clone(),
        kind: r.kind,
        provider: r.provider.clone(),
        cloud: r.cloud.clone(),
        action,
        reason: reason.into(),
        forced_by: vec![],
        before: seen.map(|s| s.attributes.clone()),
        after: Some(r.attributes.clone()),
        count: None,
        start: vec![],
        stop: vec![],
        depends_on: vec![],
        needs: r.depends_on.clone(),
    }
}

fn delete(addr: &Addr, seen: &ObservedResource, reason: &str) -> Change {
    Change {
        address: addr.clone(),
        kind: seen.kind,
        provider: seen.provider.clone(),
        cloud: seen.cloud.clone(),
        action: Action::Delete,
        reason: reason.to_string(),
        forced_by: vec![],
        before: Some(seen.attributes.clone()),
        after: None,
        count: seen.kind.is_counted().then(|| CountChange {
            before: seen.instances.len() as u64,
            after: 0,
            reason: reason.to_string(),
        }),
        start: vec![],
        stop: seen.instances.clone(),
        depends_on: vec![],
        needs: seen.depends_on.clone(),
    }
}

/// Attributes that differ, split into those that force a replacement and the rest.
fn differing(kind: Kind, before: &Attributes, after: &Attributes) -> (Vec<String>, Vec<String>) {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let changed = keys.into_iter().filter(|k| before.get(*k) != after.get(*k));
    changed.map(|k| k.to_string()).partition(|k| kind.forces_replacement(k))
}

fn single_change(r: &Resource, seen: Option<&ObservedResource>) -> Option<Change> {
    let Some(seen) = seen else { return Some(base(r, Action::Create, "not found", None)) };
    let (forced, other) = differing(r.kind, &seen.attributes, &r.attributes);
    if !forced.is_empty() {
        let mut c =
            base(r, Action::Replace, format!("{} cannot change in place", forced.join(", ")), Some(seen));
        c.forced_by = forced;
        return Some(c);
    }
    (!other.is_empty()).then(|| base(r, Action::Update, format!("{} changed", other.join(", ")), Some(seen)))
}

fn counted_change(
    r: &Resource,
    seen: Option<&ObservedResource>,
    want: u64,
    why: &str,
    notes: &mut Vec<String>,
) -> Option<Change> {
    let with_count = |mut c: Change, before: u64| {
        c.count = Some(CountChange { before, after: want, reason: why.to_string() });
        c
    };
    let live = seen.map_or(&[][..], |s| s.instances.as_slice());
    let Some(seen) = seen.filter(|_| !live.is_empty()) else {
        if want == 0 {
            return None;
        }
        let mut c = with_count(base(r, Action::Create, "not found", None), 0);
        c.start = (0..want).collect();
        return Some(c);
    };
    let before = live.len() as u64;
    if want == 0 {
        let mut c = with_count(base(r, Action::Delete, why, Some(seen)), before);
        c.after = None;
        c.stop = live.to_vec();
        return Some(c);
    }
    let (forced, other) = differing(r.kind, &seen.attributes, &r.attributes);
    if !forced.is_empty() {
        let reason = format!("{} cannot change in place", forced.join(", "));
        let mut c = with_count(base(r, Action::Replace, reason, Some(seen)), before);
        c.forced_by = forced;
        c.stop = live.to_vec();
        c.start = (0..want).collect();
        return Some(c);
    }
    let mut kept = BTreeSet::new();
    let mut stop: Vec<Instance> = Vec::new();
    let mut sorted = live.to_vec();
    sorted.sort();
    for i in sorted {
        if i.index < want && kept.insert(i.index) {
            continue;
        }
        stop.push(i);
    }
    if let Some(mix) = seen.mix.filter(|m| m.on_demand > 0) {
        let purchase = r.attributes.get("purchase").map_or("", String::as_str);
        if purchase.starts_with("spot") {
            let back = match r.attributes.get("return_to_spot").map(String::as_str) {
                Some("never") | None => "it stays so (return_to_spot = never)".to_string(),
                Some(after) => format!("its head asks for spot again {after} after the fall back"),
            };
            notes.push(format!(
                "{}: {} spot and {} on-demand running (spot capacity was short); {back}",
                r.addr, mix.spot, mix.on_demand
            ));
        }
    }
    let mut start: Vec<u64> = (0..want).filter(|k| !kept.contains(k)).collect();
    if let Some(frozen) = seen.frozen.as_ref().filter(|_| !start.is_empty()) {
        notes.push(format!(
            "{}: {} of {want} running; nothing starts in it while {frozen}",
            r.addr,
            kept.len()
        ));
        start.clear();
    }
    if start.is_empty() && stop.is_empty() {
        return (!other.is_empty())
            .then(|| base(r, Action::Update, format!("{} changed", other.join(", ")), Some(seen)));
    }
    let mut reasons = Vec::new();
    if !start.is_empty() {
        let slots: Vec<String> = start.iter().map(|k| format!("[{k}]")).collect();
        reasons.push(format!("{} not running", slots.join(", ")));
    }
    if !stop.is_empty() {
        let duplicates = stop.iter().filter(|i| i.index < want).count();
        if duplicates > 0 {
            reasons.push(format!("{duplicates} duplicate instance(s)"));
        }
        if stop.len() > duplicates {
            reasons.push(format!("{} over the planned count", stop.len() - duplicates));
        }
    }
    if !other.is_empty() {
        reasons.push(format!("{} changed", other.join(", ")));
    }
    let mut c = with_count(base(r, Action::Scale, reasons.join("; "), Some(seen)), before);
    c.start = start;
    c.stop = stop;
    Some(c)
}

fn job_change(
    r: &Resource,
    seen: Option<&ObservedResource>,
    view: &JobView,
    notes: &mut Vec<String>,
) -> Option<Change> {
    let Some(seen) = seen else {
        // A job on workers another job has is handed over with it: the workers run their
        // group's jobs one after another (by name), and the head waits for all of them.
        let reason = match view.waits_for(r) {
            Some(first) => format!("not started; runs after {first} on the same workers"),
            None => "not started".to_string(),
        };
        return Some(base(r, Action::Create, reason, None));
    };
    let (forced, other) = differing(r.kind, &seen.attributes, &r.attributes);
    if !forced.is_empty() {
        let reason = format!("{} changed: a new run", forced.join(", "));
        let mut c = base(r, Action::Replace, reason, Some(seen));
        c.forced_by = forced;
        return Some(c);
    }
    match &seen.job {
        Some(JobStatus::Failed { reason }) => {
            return Some(base(
                r,
                Action::Update,
                format!("the last run failed ({reason}): run again from its checkpoints"),
                Some(seen),
            ))
        }
        Some(JobStatus::Stopped { reason }) => {
            return Some(base(
                r,
                Action::Update,
                format!("the last run was {reason}: run on from its checkpoints"),
                Some(seen),
            ))
        }
        Some(s) if s.is_done() && other.is_empty() => {
            notes.push(format!(
                "{}: {} with this spec; not run again (change it, or destroy, to rerun)",
                r.addr,
                s.word()
            ));
        }
        _ => {}
    }
    (!other.is_empty()).then(|| base(r, Action::Update, format!("{} changed", other.join(", ")), Some(seen)))
}

/// Which jobs are done, and what that means for the computes they run on.
struct JobView<'a> {
    /// Job address → (compute, group address, done).
    jobs: Vec<(&'a Addr, &'a str, Addr, bool)>,
}

impl<'a> JobView<'a> {
    fn new(desired: &'a Desired, observed: &Observed) -> JobView<'a> {
        let jobs = desired
            .resources
            .iter()
            .filter(|r| r.kind == Kind::Job)
            .map(|r| {
                let compute = r.attributes.get("compute").map_or("", String::as_str);
                let group = Addr::workers(compute, r.attributes.get("workers").map_or("", String::as_str));
                let done = observed.resources.get(&r.addr).is_some_and(|o| {
                    o.job.as_ref().is_some_and(JobStatus::is_done)
                        && differing(Kind::Job, &o.attributes, &r.attributes).0.is_empty()
                });
                (&r.addr, compute, group, done)
            })
            .collect();
        JobView { jobs }
    }

    /// A compute is wanted while one of its jobs is not done, or when it has no job.
    fn compute_wanted(&self, compute: &str) -> bool {
        let mut on = self.jobs.iter().filter(|j| j.1 == compute).peekable();
        on.peek().is_none() || on.any(|j| !j.3)
    }

    /// The count a head or group gets after the jobs' states are taken into account.
    fn count(&self, r: &Resource) -> (u64, String) {
        let planned = r.count.as_ref().map_or((1, String::new()), |c| (c.value, c.reason.clone()));
        let compute = r.addr.compute().unwrap_or("");
        if !self.compute_wanted(compute) {
            return (0, self.done_reason(|j| j.1 == compute));
        }
        if r.kind == Kind::WorkerGroup {
            let mut on = self.jobs.iter().filter(|j| j.2 == r.addr).peekable();
            if on.peek().is_some() && on.all(|j| j.3) {
                return (0, self.done_reason(|j| j.2 == r.addr));
            }
        }
        planned
    }

    fn done_reason(&self, pick: impl Fn(&&(&Addr, &str, Addr, bool)) -> bool) -> String {
        let names: Vec<String> = self.jobs.iter().filter(pick).map(|j| j.0.to_string()).collect();
        format!("{} done", names.join(", "))
    }

    /// The earlier job, on the same workers, that is not done yet.
    fn waits_for(&self, r: &Resource) -> Option<&Addr> {
        let group = self.jobs.iter().find(|j| j.0 == &r.addr)?.2.clone();
        self.jobs.iter().take_while(|j| j.0 != &r.addr).find(|j| j.2 == group && !j.3).map(|j| j.0)
    }

    /// One line per compute kept down because its jobs are done.
    fn down_notes(&self) -> Vec<String> {
        let computes: BTreeSet<&str> = self.jobs.iter().map(|j| j.1).collect();
        computes
            .into_iter()
            .filter(|c| !self.compute_wanted(c))
            .map(|c| format!("compute.{c}: stays down ({})", self.done_reason(|j| j.1 == c)))
            .collect()
    }
}
