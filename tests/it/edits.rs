//! Random edits to a stack, for the convergence property tests (`converge.rs` on the local
//! cloud, `aws_converge.rs` against moto): `min` and `max`, instance types, on-demand or one
//! of two spot policies, the cloud's tags, `auto_terminate`, `autoscale`, jobs and groups
//! added and removed. Every stack rendered checks clean; a seed gives the same edits every time.

use crate::support::Workspace;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const TYPES: [&str; 3] = ["c5.large", "c5.xlarge", "m5.large"];

/// One stack as the edits leave it.
pub struct Stack {
    aws: bool,
    tag: u32,
    auto_terminate: bool,
    groups: Vec<Group>,
    jobs: Vec<Job>,
    names: u32,
    rng: StdRng,
}

struct Group {
    name: String,
    instance_type: &'static str,
    min: u32,
    max: u32,
    /// On-demand, or on the spot market under policy `sp1` or `sp2`.
    spot: Option<u8>,
    autoscale: bool,
}

struct Job {
    name: String,
    group: String,
    seed: u32,
}

/// The seed of a run: `GAFORM_CONVERGE_SEED`, or a fixed one.
pub fn seed() -> u64 {
    std::env::var("GAFORM_CONVERGE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(17)
}

/// How many edits a run makes: `GAFORM_CONVERGE_STEPS`, or `default`.
pub fn steps(default: usize) -> usize {
    std::env::var("GAFORM_CONVERGE_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

impl Stack {
    /// One on-demand group of one `c5.large`, no job.
    pub fn new(aws: bool, seed: u64) -> Stack {
        let mut stack = Stack {
            aws,
            tag: 0,
            auto_terminate: false,
            groups: vec![],
            jobs: vec![],
            names: 0,
            rng: StdRng::seed_from_u64(seed),
        };
        stack.add_group();
        stack
    }

    fn name(&mut self, prefix: &str) -> String {
        self.names += 1;
        format!("{prefix}{}", self.names)
    }

    fn add_group(&mut self) {
        let name = self.name("g");
        self.groups.push(Group {
            name,
            instance_type: TYPES[0],
            min: 1,
            max: 1,
            spot: None,
            autoscale: true,
        });
    }

    /// Makes one random edit and says what it was.
    pub fn edit(&mut self) -> String {
        loop {
            let g = self.rng.random_range(0..self.groups.len());
            let said = match self.rng.random_range(0..10) {
                0 => {
                    let min = self.rng.random_range(1..=3);
                    let max = self.rng.random_range(min..=3);
                    (self.groups[g].min, self.groups[g].max) = (min, max);
                    format!("{}: min = {min}, max = {max}", self.groups[g].name)
                }
                1 => {
                    let t = TYPES[self.rng.random_range(0..TYPES.len())];
                    self.groups[g].instance_type = t;
                    format!("{}: instance_type = {t}", self.groups[g].name)
                }
                2 => {
                    let spot = [None, Some(1), Some(2)][self.rng.random_range(0..3)];
                    self.groups[g].spot = spot;
                    format!("{}: spot policy {spot:?}", self.groups[g].name)
                }
                3 => {
                    self.groups[g].autoscale = !self.groups[g].autoscale;
                    format!("{}: autoscale = {}", self.groups[g].name, self.groups[g].autoscale)
                }
                4 if self.aws => {
                    self.tag += 1;
                    format!("cloud tag team = t{}", self.tag)
                }
                5 => {
                    self.auto_terminate = !self.auto_terminate;
                    format!("auto_terminate {}", if self.auto_terminate { "= 30m" } else { "removed" })
                }
                6 if self.jobs.len() < 2 => {
                    let name = self.name("j");
                    let group = self.groups[g].name.clone();
                    let seed = self.rng.random_range(0..1000);
                    let said = format!("job {name} added on {group}");
                    self.jobs.push(Job { name, group, seed });
                    said
                }
                7 if !self.jobs.is_empty() => {
                    let job = self.jobs.remove(self.rng.random_range(0..self.jobs.len()));
                    format!("job {} removed", job.name)
                }
                8 if self.groups.len() < 3 => {
                    self.add_group();
                    format!("group {} added", self.groups.last().map_or("", |g| g.name.as_str()))
                }
                9 if self.groups.len() > 1 && !self.jobs.iter().any(|j| j.group == self.groups[g].name) => {
                    format!("group {} removed", self.groups.remove(g).name)
                }
                _ => continue,
            };
            return said;
        }
    }

    /// The stack as a `.gaf` file.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.aws {
            out.push_str(&format!(
                "cloud west {{\n  provider = aws\n  region   = \"us-west-2\"\n  tags {{\n    team = \"t{}\"\n  }}\n}}\n\n",
                self.tag
            ));
        } else {
            out.push_str("cloud west {\n  provider = local\n}\n\n");
        }
        out.push_str("spot_policy sp1 {\n  market   = spot\n  fallback = on_demand\n}\n\n");
        out.push_str(
            "spot_policy sp2 {\n  market     = spot\n  fallback   = on_demand\n  allocation = capacity_optimized\n  max_price  = 80%\n}\n\n",
        );
        out.push_str("compute c {\n  cloud = west\n  head {\n    instance_type = \"m5.large\"\n  }\n");
        for g in &self.groups {
            let market = match g.spot {
                Some(p) => format!("spot          = sp{p}"),
                None => "market        = on_demand".to_string(),
            };
            out.push_str(&format!(
                "  workers {} {{\n    instance_type = \"{}\"\n    min           = {}\n    max           = {}\n    {market}\n    autoscale     = {}\n  }}\n",
                g.name, g.instance_type, g.min, g.max, g.autoscale
            ));
        }
        if self.auto_terminate {
            out.push_str("  auto_terminate = 30m\n");
        }
        out.push_str("}\n");
        for j in &self.jobs {
            out.push_str(&format!(
                "\njob {} {{\n  compute     = c\n  workers     = {}\n  data        = \"GOOG_wiki.csv\"\n  strategy    = sma_crossover(fast = 2..20, slow = 21..60)\n  population  = 10\n  generations = 2\n  seed        = {}\n}}\n",
                j.name, j.group, j.seed
            ));
        }
        out
    }
}

/// The property on one cloud: the first stack, then `steps(24)` random edits from `seed()`,
/// each written to `w`'s `job.gaf` and handed to `apply_then_plan`, which says why the stack
/// did not converge. Panics with the seed, the step, the edit and the file when one did not.
pub fn converge(
    w: &Workspace,
    mut stack: Stack,
    mut apply_then_plan: impl FnMut(usize) -> Result<(), String>,
) {
    let (seed, steps) = (seed(), steps(24));
    let started = std::time::Instant::now();
    for step in 0..steps {
        let what = if step == 0 { "the first apply".to_string() } else { stack.edit() };
        let file = stack.render();
        std::fs::write(w.0.join("job.gaf"), &file).unwrap();
        if let Err(why) = apply_then_plan(step) {
            panic!("seed {seed}, step {step} ({what}) did not converge:\n{file}\n{why}");
        }
    }
    let cloud = if stack.aws { "aws" } else { "local" };
    eprintln!("{cloud} convergence: {steps} edits (seed {seed}) in {:.0?}", started.elapsed());
}
