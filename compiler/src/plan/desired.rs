//! The desired state: every resource a program asks for, with its attributes, its planned
//! count and what it depends on (the planner makes the dependency graph of these and of what
//! exists). Pure: built from the IR alone (plus the host's digest of each job's data, so that
//! new data plans a new run).

use super::addr::{Addr, Kind};
use super::count::{self, Count, Footprint};
use super::describe;
use crate::ir::{self, Image, Keyword, Program, Provider, Purchase};
use crate::source::Span;
use crate::Host;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Attribute name → value as `.gaf` text. Sorted, so plans render in a fixed order.
pub type Attributes = BTreeMap<String, String>;

/// One resource the program wants.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Resource {
    pub addr: Addr,
    pub kind: Kind,
    /// `local` or `aws`.
    pub provider: String,
    /// The cloud it lives on.
    pub cloud: String,
    pub attributes: Attributes,
    /// Heads and worker groups: how many instances, and why.
    pub count: Option<Count>,
    /// Heads and worker groups: one instance's size and price.
    pub footprint: Option<Footprint>,
    /// Addresses this resource needs to exist first.
    pub depends_on: Vec<Addr>,
    /// Where the resource is declared, for messages.
    #[serde(skip)]
    pub span: Span,
}

/// A budget and the computes that spend it, for the plan's runway line.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BudgetUse {
    pub name: String,
    pub amount: f64,
    /// `day`, `week`, `month` or `total`.
    pub period: String,
    pub max_cost_per_hour: Option<f64>,
    pub computes: Vec<String>,
    /// Its alerts, in the file's order: the threshold as a fraction and the action's keyword.
    #[serde(default)]
    pub alerts: Vec<(f64, String)>,
    /// Where its notifications go (secrets by variable name only).
    #[serde(default)]
    pub notify: Option<crate::ir::Notify>,
}

/// A monitor as its job's head evaluates it: what the file said at the last apply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitorUse {
    pub name: String,
    pub job: String,
    /// The compute whose head runs the job, and so measures and acts.
    pub compute: String,
    /// The metrics it names (`generation`, `best_fitness`, ...), in the file's order.
    pub metrics: Vec<String>,
    pub alerts: Vec<MonitorRule>,
    /// Where its notifications go (secrets by variable name only).
    pub notify: Option<crate::ir::Notify>,
}

/// `alert { when = METRIC OP VALUE  for = DURATION  action = ... }`, keywords as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitorRule {
    /// The alert's name, if the file gives it one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub metric: String,
    /// `<`, `<=`, `>`, `>=`, `==` or `!=`.
    pub comparison: String,
    /// In the metric's base unit: a count, a fitness, seconds, a fraction or dollars.
    pub threshold: f64,
    pub for_secs: f64,
    pub action: String,
}

/// The desired state of one program.
#[derive(Clone, Debug)]
pub struct Desired {
    /// In topological order: every resource after everything it depends on.
    pub resources: Vec<Resource>,
    /// Blocks that are checked but not provisioned, one line each.
    pub not_provisioned: Vec<String>,
    /// Caps that could not be honoured without going below a group's `min`.
    pub warnings: Vec<String>,
    pub budgets: Vec<BudgetUse>,
    pub monitors: Vec<MonitorUse>,
}

impl Desired {
    /// The resource at `addr`.
    pub fn get(&self, addr: &Addr) -> Option<&Resource> {
        self.resources.iter().find(|r| &r.addr == addr)
    }
}

/// Builds the desired state of `program`.
pub fn desired(program: &Program, host: &dyn Host) -> Desired {
    let (counts, warnings) = count::choose(program);
    let mut resources = Vec::new();
    let provider = |cloud: &ir::Cloud| cloud.provider.keyword().to_string();
    let mut cloud_roots: BTreeMap<usize, Addr> = BTreeMap::new();
    for (ci, cloud) in program.clouds.iter().enumerate() {
        if !program.computes.iter().any(|c| c.cloud.0 == ci) {
            continue;
        }
        let base = |addr: Addr, kind: Kind, attributes: Attributes, depends_on: Vec<Addr>| Resource {
            addr,
            kind,
            provider: provider(cloud),
            cloud: cloud.name.clone(),
            attributes,
            count: None,
            footprint: None,
            depends_on,
            span: cloud.span,
        };
        match cloud.provider {
            Provider::Local => {
                if !resources.iter().any(|r: &Resource| r.kind == Kind::StateDir) {
                    let attrs = attrs([("path", ".gaform".to_string())]);
                    resources.push(base(Addr::state_dir(), Kind::StateDir, attrs, vec![]));
                }
                cloud_roots.insert(ci, Addr::state_dir());
            }
            // The rest of an aws cloud belongs to its computes: see below.
            Provider::Aws => {
                let on_cloud = |c: &&ir::Compute| c.cloud.0 == ci;
                let runs_jobs = program
                    .jobs
                    .iter()
                    .any(|j| program.computes.get(j.compute.0).is_some_and(|c| on_cloud(&c)));
                let serves = program
                    .services
                    .iter()
                    .any(|s| s.compute.and_then(|c| program.computes.get(c.0)).is_some_and(|c| on_cloud(&c)));
                if runs_jobs || serves {
                    let archs: std::collections::BTreeSet<String> = program
                        .computes
                        .iter()
                        .filter(on_cloud)
                        .flat_map(|c| {
                            let head = count::head_footprint(program, c).arch;
                            c.workers
                                .iter()
                                .map(move |g| count::group_footprint(program, c, g).arch)
                                .chain([head])
                                .collect::<Vec<_>>()
                        })
                        .collect();
                    let attributes = attrs([
                        ("region", cloud.region.clone().unwrap_or_default()),
                        ("architectures", archs.into_iter().collect::<Vec<_>>().join(", ")),
                    ]);
                    resources.push(base(Addr::artifacts(&cloud.name), Kind::Artifacts, attributes, vec![]));
                    let mut role = attrs([
                        ("region", cloud.region.clone().unwrap_or_default()),
                        (
                            "may",
                            "read and write the stack's artifacts; terminate the stack's instances".into(),
                        ),
                    ]);
                    // Its heads publish their budgets' alerts to these topics.
                    let topics: std::collections::BTreeSet<&str> = program
                        .computes
                        .iter()
                        .filter(on_cloud)
                        .filter_map(|c| program.budgets.get(c.budget?.0)?.notify.as_ref()?.sns.as_deref())
                        .collect();
                    if !topics.is_empty() {
                        role.insert("publishes_to".into(), topics.into_iter().collect::<Vec<_>>().join(", "));
                    }
                    resources.push(base(
                        Addr::instance_role(&cloud.name),
                        Kind::Role,
                        role,
                        vec![Addr::artifacts(&cloud.name)],
                    ));
                }
            }
        }
    }
    let jobs_on =
        |ci: usize| -> Vec<&ir::Job> { program.jobs.iter().filter(|j| j.compute.0 == ci).collect() };
    for (ci, compute) in program.computes.iter().enumerate() {
        let Some(cloud) = program.clouds.get(compute.cloud.0) else { continue };
        let aws = cloud.provider == Provider::Aws;
        let mut root: Vec<Addr> = cloud_roots.get(&compute.cloud.0).cloned().into_iter().collect();
        let base = |addr: Addr, kind: Kind, span: Span| Resource {
            addr,
            kind,
            provider: provider(cloud),
            cloud: cloud.name.clone(),
            attributes: Attributes::new(),
            count: None,
            footprint: None,
            depends_on: vec![],
            span,
        };
        // A service's own compute: on aws its instances are the replicas; on a local
        // cloud the service is one process and the compute starts nothing.
        let serving = program.services.iter().find(|s| s.compute.is_some_and(|c| c.0 == ci));
        if serving.is_some() && !aws {
            continue;
        }
        let sg = Addr::security_group(&compute.name);
        let region = cloud.region.clone().unwrap_or_default();
        // How an aws instance of `owner` boots; the file's image, the rest fixed by policy.
        let runs_jobs = program.jobs.iter().any(|j| j.compute.0 == ci);
        let head_addr = Addr::head(&compute.name);
        let template = |owner: &Addr, image_: &Image, types: &mut dyn Iterator<Item = &str>| {
            let mut lt = base(Addr::launch_template(owner), Kind::LaunchTemplate, compute.span);
            let arch = count::footprint(program, compute, types).arch;
            lt.attributes = attrs([
                ("region", region.clone()),
                ("image", image(image_)),
                ("arch", arch),
                ("metadata", "IMDSv2 required".into()),
                ("root_volume", "encrypted".into()),
                ("shutdown", "terminate".into()),
                ("tags", tags(cloud, &compute.name)),
            ]);
            lt.depends_on = vec![sg.clone()];
            // The instance fetches the binary from the stack's artifacts and starts it.
            let bootstrap = match serving {
                Some(s) => Some(format!(
                    "gaform serve --s3-stack (the stack's artifacts) --address {}",
                    Addr::service(&s.name)
                )),
                None if runs_jobs => {
                    let role = if owner == &head_addr { "gaform head" } else { "gaform worker" };
                    Some(format!("{role} --s3-stack (the stack's artifacts) --address {owner}"))
                }
                None => None,
            };
            if let Some(bootstrap) = bootstrap {
                lt.attributes.insert("bootstrap".into(), bootstrap);
                lt.attributes.insert("instance_profile".into(), Addr::instance_role(&cloud.name).to_string());
                lt.depends_on.push(Addr::instance_role(&cloud.name));
            }
            lt
        };
        if aws {
            let mut group = base(sg.clone(), Kind::SecurityGroup, compute.span);
            group.attributes = attrs([
                ("region", region.clone()),
                ("vpc", "the region's default".into()),
                ("ingress", "from this group's members only".into()),
            ]);
            // The head's metrics port, opened to exactly the blocks the file names.
            if !compute.head.metrics_from.is_empty() {
                group.attributes.insert("metrics_port".into(), compute.head.metrics_port.to_string());
                group.attributes.insert("metrics_from".into(), compute.head.metrics_from.join(", "));
            }
            // The service's port, likewise.
            if let Some(s) = serving.filter(|s| !s.allow_from.is_empty()) {
                group.attributes.insert("serve_port".into(), s.port.to_string());
                group.attributes.insert("serve_from".into(), s.allow_from.join(", "));
            }
            resources.push(group);
            let lt = template(
                &head_addr,
                &compute.head.image,
                &mut std::iter::once(compute.head.instance_type.value.as_str()),
            );
            root = vec![lt.addr.clone()];
            resources.push(lt);
        }
        let mut head = base(head_addr.clone(), Kind::Head, compute.span);
        head.attributes.insert("instance_type".into(), compute.head.instance_type.value.clone());
        head.attributes.insert("market".into(), compute.head.market.keyword().into());
        if aws {
            head.attributes.insert("image".into(), image(&compute.head.image));
            // The cloud's tags are on every instance: editing them retags the instances.
            if !cloud.tags.is_empty() {
                head.attributes.insert("tags".into(), user_tags(cloud));
            }
        }
        let names: Vec<&str> = jobs_on(ci).iter().map(|j| j.name.as_str()).collect();
        head.attributes
            .insert("jobs".into(), if names.is_empty() { "none".into() } else { names.join(", ") });
        if let Some(secs) = compute.auto_terminate_secs {
            head.attributes.insert("auto_terminate".into(), describe::duration(secs));
        }
        // Shown only when written: a default the plan would list on every head.
        if compute.head.metrics_port != ir::DEFAULT_METRICS_PORT {
            head.attributes.insert("metrics_port".into(), compute.head.metrics_port.to_string());
        }
        if !compute.head.metrics_from.is_empty() {
            head.attributes.insert("metrics_from".into(), compute.head.metrics_from.join(", "));
        }
        let serves = serving.map(|s| {
            let job = program.jobs.get(s.job.0).map_or("", |j| j.name.as_str());
            format!("{} (job {job}, route {}, port {})", Addr::service(&s.name), s.route, s.port)
        });
        if let Some(serves) = &serves {
            head.attributes.insert("serves".into(), serves.clone());
        }
        head.count =
            Some(Count { value: 1, reason: "one per compute".into(), min: 1, max: 1, autoscale: None });
        head.footprint = Some(count::head_footprint(program, compute));
        head.depends_on = root;
        resources.push(head);
        let group_counts = counts.get(ci).cloned().unwrap_or_default();
        for (gi, group) in compute.workers.iter().enumerate() {
            let mut r = base(Addr::workers(&compute.name, &group.name), Kind::WorkerGroup, group.span);
            let types: Vec<&str> = group.instance_types.iter().map(|t| t.value.as_str()).collect();
            let key = if types.len() == 1 { "instance_type" } else { "instance_types" };
            r.attributes.insert(key.into(), types.join(", "));
            r.attributes.insert("purchase".into(), purchase(program, group.purchase));
            if let Purchase::Spot(policy) = group.purchase {
                let policy = policy.and_then(|p| program.spot_policies.get(p.0));
                r.attributes.insert(
                    "spot_allocation".into(),
                    policy.map_or("price_capacity_optimized", |p| p.allocation.keyword()).into(),
                );
                r.attributes.insert(
                    "spot_fallback".into(),
                    policy.map_or("on_demand", |p| p.fallback.keyword()).into(),
                );
                let back = policy.map_or(Some(ir::DEFAULT_RETURN_TO_SPOT_SECS), |p| p.return_to_spot_secs);
                r.attributes.insert("return_to_spot".into(), back.map_or("never".into(), describe::duration));
                if let Some(price) = policy.and_then(|p| p.max_price) {
                    r.attributes.insert(
                        "spot_max_price".into(),
                        match price {
                            ir::MaxPrice::FractionOfOnDemand(f) => format!("{}% of on-demand", f * 100.0),
                            ir::MaxPrice::PerHour(d) => format!("{}/hour", describe::money(d)),
                        },
                    );
                }
            }
            if aws {
                r.attributes.insert("image".into(), image(&group.image));
                if !cloud.tags.is_empty() {
                    r.attributes.insert("tags".into(), user_tags(cloud));
                }
            }
            r.attributes.insert("min".into(), group.min.to_string());
            r.attributes.insert("max".into(), group.max.value.to_string());
            r.attributes.insert("autoscale".into(), group.autoscale.to_string());
            r.count = group_counts.get(gi).cloned();
            r.footprint = Some(count::group_footprint(program, compute, group));
            if let Some(serves) = &serves {
                r.attributes.insert("serves".into(), serves.clone());
            }
            r.depends_on = vec![head_addr.clone()];
            if aws {
                let lt = template(
                    &r.addr,
                    &group.image,
                    &mut group.instance_types.iter().map(|t| t.value.as_str()),
                );
                r.depends_on.push(lt.addr.clone());
                resources.push(lt);
            }
            resources.push(r);
        }
    }
    for job in &program.jobs {
        let Some(compute) = program.computes.get(job.compute.0) else { continue };
        let Some(group) = compute.workers.get(job.workers) else { continue };
        let Some(cloud) = program.clouds.get(compute.cloud.0) else { continue };
        let workers = Addr::workers(&compute.name, &group.name);
        // Dealt over what the work asks for, even where the group starts smaller.
        let planned =
            counts.get(job.compute.0).and_then(|c| c.get(job.workers)).map_or(1, |c| c.demand().max(1));
        let mut a = attrs([
            ("compute", compute.name.clone()),
            ("workers", group.name.clone()),
            ("islands", job.islands.unwrap_or(planned).to_string()),
            ("data", job.data.join(", ")),
            ("strategy", describe::strategy(&job.strategy)),
            ("fitness", describe::fitness(&job.fitness)),
            ("population", job.population.to_string()),
            ("generations", job.generations.to_string()),
            ("selection", describe::selection(&job.selection)),
            ("crossover", describe::crossover(&job.crossover)),
            ("mutation", describe::mutation(&job.mutation)),
            ("elitism", job.elitism.to_string()),
            ("migration", format!("every {}, count {}", job.migration.every, job.migration.count)),
            ("seed", job.seed.to_string()),
            ("cash", describe::money(job.cash)),
            ("commission", format!("{}%", job.commission * 100.0)),
        ]);
        if let Some(digest) = host.data_digest(&job.data) {
            a.insert("data_sha256".into(), digest);
        }
        if job.data.len() > 1 {
            a.insert("aggregate".into(), job.aggregate.keyword().into());
        }
        if !job.constraints.is_empty() {
            let shown: Vec<String> = job.constraints.iter().map(describe::constraint).collect();
            a.insert("constraints".into(), format!("[{}]", shown.join(", ")));
        }
        if let Some(validation) = describe::validation(&job.validation) {
            a.insert("validation".into(), validation);
        }
        if job.folds > 1 {
            a.insert("folds".into(), job.folds.to_string());
        }
        if let Some(secs) = job.max_runtime_secs {
            a.insert("max_runtime".into(), describe::duration(secs));
        }
        resources.push(Resource {
            addr: Addr::job(&job.name),
            kind: Kind::Job,
            provider: provider(cloud),
            cloud: cloud.name.clone(),
            attributes: a,
            count: None,
            footprint: None,
            depends_on: if cloud.provider == Provider::Aws {
                vec![workers, Addr::artifacts(&cloud.name)]
            } else {
                vec![workers]
            },
            span: job.span,
        });
    }
    let mut not_provisioned = Vec::new();
    for service in &program.services {
        match service_resource(program, service) {
            Ok(r) => resources.push(r),
            Err(why) => {
                not_provisioned.push(format!("service.{}: checked, not provisioned ({why})", service.name))
            }
        }
    }
    let budgets = program
        .budgets
        .iter()
        .enumerate()
        .map(|(bi, b)| BudgetUse {
            name: b.name.clone(),
            amount: b.amount.value,
            period: b.period.keyword().into(),
            max_cost_per_hour: b.max_cost_per_hour,
            computes: program
                .computes
                .iter()
                .filter(|c| c.budget.is_some_and(|id| id.0 == bi))
                .map(|c| c.name.clone())
                .collect(),
            alerts: b.alerts.iter().map(|a| (a.at, a.action.keyword().to_string())).collect(),
            notify: b.notify.clone(),
        })
        .filter(|b| !b.computes.is_empty())
        .collect();
    let monitors = program.monitors.iter().filter_map(|m| monitor_use(program, m)).collect();
    let resources = sorted(resources);
    Desired { resources, not_provisioned, warnings, budgets, monitors }
}

/// A service: on a local cloud one `gaform serve` process on this machine; on aws the spec
/// its own compute's replicas read, written once they are started.
fn service_resource(program: &Program, service: &ir::Service) -> Result<Resource, String> {
    let job = program.jobs.get(service.job.0).ok_or("its job is missing")?;
    let compute = program.computes.get(service.compute.unwrap_or(job.compute).0).ok_or("no compute")?;
    let cloud = program.clouds.get(compute.cloud.0).ok_or("no cloud")?;
    let aws = cloud.provider == Provider::Aws;
    if aws && service.compute.is_none() {
        return Err(format!(
            "cloud.{} is aws: name a `compute` of its own for the service, whose head and workers are its replicas",
            cloud.name
        ));
    }
    let mut attributes = attrs([
        ("job", job.name.clone()),
        ("route", service.route.clone()),
        ("port", service.port.to_string()),
    ]);
    if service.compute.is_some() {
        attributes.insert("compute".into(), compute.name.clone());
    }
    if aws && !service.allow_from.is_empty() {
        attributes.insert("allow_from".into(), service.allow_from.join(", "));
    }
    let (count, depends_on) = if aws {
        let replicas = std::iter::once(Addr::head(&compute.name))
            .chain(compute.workers.iter().map(|g| Addr::workers(&compute.name, &g.name)));
        (None, replicas.chain([Addr::artifacts(&cloud.name)]).collect())
    } else {
        let n = service.replicas;
        let reason = match n {
            1 => "one `gaform serve` process".to_string(),
            n => {
                // Each replica learns its siblings from its record, to start a dead one again.
                attributes.insert("replicas".into(), n.to_string());
                format!("`replicas = {n}`: `gaform serve` processes sharing port {}", service.port)
            }
        };
        (Some(Count { value: n, reason, min: n, max: n, autoscale: None }), vec![Addr::job(&job.name)])
    };
    Ok(Resource {
        addr: Addr::service(&service.name),
        kind: Kind::Service,
        provider: cloud.provider.keyword().to_string(),
        cloud: cloud.name.clone(),
        attributes,
        count,
        footprint: None,
        depends_on,
        span: service.span,
    })
}

fn monitor_use(program: &Program, m: &ir::Monitor) -> Option<MonitorUse> {
    let job = program.jobs.get(m.job.0)?;
    let compute = program.computes.get(job.compute.0)?;
    Some(MonitorUse {
        name: m.name.clone(),
        job: job.name.clone(),
        compute: compute.name.clone(),
        metrics: m.metrics.iter().map(|x| x.keyword().to_string()).collect(),
        alerts: m
            .alerts
            .iter()
            .map(|a| MonitorRule {
                name: a.name.clone(),
                metric: a.metric.keyword().into(),
                comparison: a.comparison.keyword().into(),
                threshold: a.threshold,
                for_secs: a.for_secs,
                action: a.action.keyword().into(),
            })
            .collect(),
        notify: m.notify.clone(),
    })
}

/// Sorts the resources into topological order. Every dependency is of an earlier `Kind`
/// (see `Kind`), so ordering by kind, then address, is topological and stable: tests can
/// snapshot it.
fn sorted(mut resources: Vec<Resource>) -> Vec<Resource> {
    resources.sort_by(|a, b| (a.kind, &a.addr).cmp(&(b.kind, &b.addr)));
    resources
}

fn attrs<const N: usize>(pairs: [(&str, String); N]) -> Attributes {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn image(image: &Image) -> String {
    match image {
        Image::Ami(id) => id.clone(),
        Image::Al2023 => "al2023".into(),
        Image::Ubuntu2404 => "ubuntu-24.04".into(),
    }
}

fn purchase(program: &Program, p: Purchase) -> String {
    match p {
        Purchase::OnDemand => "on_demand".into(),
        Purchase::Spot(None) => "spot".into(),
        Purchase::Spot(Some(id)) => {
            program.spot_policies.get(id.0).map_or_else(|| "spot".into(), |s| format!("spot ({})", s.name))
        }
    }
}

/// The tags every aws resource of a compute carries: the cloud's own plus ownership.
fn tags(cloud: &ir::Cloud, compute: &str) -> String {
    let mut t: Vec<String> = cloud.tags.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    t.push(format!("gaform:compute = {compute}"));
    t.join(", ")
}

/// The cloud block's `tags`, as an instance's attribute shows them.
fn user_tags(cloud: &ir::Cloud) -> String {
    cloud.tags.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ")
}
