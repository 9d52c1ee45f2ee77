//! A worker on aws (`gaform worker --s3-stack URL --address A`): what a worker group's
//! launch template's user data starts on an instance. The worker claims its share of the running jobs' islands
//! (S3 conditional writes) and runs them on the job's S3 store. It takes over orphans (their
//! holder gone or let go of them), hands over what a new deal no longer gives it, and saves
//! its islands mid-epoch when EC2 gives notice, the head moves it to spot, or the job is
//! stopped (a budget, a monitor, `max_runtime`): then it lets go of them, which tells the
//! head that the results so far hold every generation done.

use super::notices::{self, Notices};
use crate::worker::{Next, Pace, Work, WorkerCloud};
use gaform_compiler::plan::{Addr, JobStatus};
use gaform_providers::aws::agent::{self, Agent, Claim};
use gaform_providers::aws::deal;
use gaform_providers::aws::store::S3Store;
use gaform_providers::local::JobRecord;
use gaform_providers::CloudError;
use gaform_runtime::ga::{self, RunError, Steer};
use gaform_runtime::store::Store;
use std::collections::btree_map::{BTreeMap, Entry};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a worker looks at its jobs, and re-reads a running job's record.
const TICK: Duration = Duration::from_secs(2);

/// A worker on aws.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// The stack's place on S3 (`s3://BUCKET/stacks/STACK/CLOUD`).
    pub stack_url: String,
    /// `compute.NAME.workers.GROUP`.
    pub address: Addr,
    /// This instance's id; from the instance metadata service when `None`.
    pub instance_id: Option<String>,
    /// Backtest threads; the machine's cores when `None`.
    pub threads: Option<usize>,
    /// How long an island waits for its neighbour's checkpoint.
    pub patience: Duration,
    /// Its head's tick: how often it reports (`report_every`).
    pub tick: Duration,
    /// How often it asks the instance metadata for EC2's notices.
    pub notice_poll: Duration,
}

/// A worker: claims islands of its group's running jobs and runs them, watching its
/// instance's metadata for EC2's notices meanwhile (`notices`).
pub fn worker(config: &WorkerConfig) -> Result<(), CloudError> {
    let agent = Agent::connect(&config.stack_url)?;
    let me = match &config.instance_id {
        Some(id) => id.clone(),
        None => agent::instance_id()?,
    };
    let notices = Notices::default();
    std::thread::scope(|scope| {
        scope.spawn(|| notices::watch(&agent, &me, &config.address, config.notice_poll, &notices));
        let worked = work(&agent, &me, config, &notices);
        notices.stop();
        worked
    })
}

/// The worker's loop, until its group's jobs are over or EC2 takes its instance back.
fn work(agent: &Agent, me: &str, config: &WorkerConfig, notices: &Notices) -> Result<(), CloudError> {
    let address = &config.address;
    let compute = address.compute().ok_or_else(|| format!("{address} is not a worker group"))?.to_string();
    let threads =
        config.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| e.to_string())?;
    let report_every = crate::budget::report_every(config.tick);
    let pace = Pace { pool: &pool, threads, report_every, patience: config.patience };
    let mut instance = Instance {
        agent,
        me,
        address,
        compute,
        notices,
        seen_running: false,
        ran_just_now: false,
        stores: BTreeMap::new(),
        looked: BTreeMap::new(),
        waiting: BTreeSet::new(),
        restarted: BTreeSet::new(),
    };
    let why = crate::worker::work(&mut instance, &pace)?;
    outln!("{me}: {why}");
    Ok(())
}

/// A run of a job: its name and when it started.
type RunKey = (String, u64);

/// A worker's instance: the worker loop's cloud on aws.
struct Instance<'a> {
    agent: &'a Agent,
    me: &'a str,
    address: &'a Addr,
    compute: String,
    notices: &'a Notices,
    /// Whether it has seen a job of its group running: once all are over, it goes.
    seen_running: bool,
    /// Whether a run of islands has just ended: the next look waits a tick first.
    ran_just_now: bool,
    /// Opened once per job: a store brings its own client and runtime.
    stores: BTreeMap<String, Arc<S3Store>>,
    /// Each run's deal and claims as they were when this worker last looked for islands and
    /// had all it could take: it looks again only when either changed (a budget dealt the
    /// islands anew; an island was let go of, or taken over from a worker gone).
    looked: BTreeMap<RunKey, (u64, String)>,
    /// The runs and deals under which this worker said it waits for islands.
    waiting: BTreeSet<(RunKey, u64)>,
    /// Runs whose islands this worker stopped to claim again: its next look keeps to its
    /// share, leaving orphans beyond it to idle workers.
    restarted: BTreeSet<RunKey>,
}

/// One run of claimed islands: the run, the deal and claims it was claimed under, and what
/// the job's record says while it runs.
struct Claimed {
    key: RunKey,
    claimed: (u64, String),
    dealt: Dealt,
}

impl Instance<'_> {
    /// The islands of `job` this worker runs now, claimed; `None` when it has none to run.
    fn claim(&mut self, job: &JobRecord) -> Result<Option<Work<Claimed>>, CloudError> {
        let (agent, me) = (self.agent, self.me);
        let key = (job.name.clone(), job.started_at.to_bits());
        let seen = (job.dealt, agent.claims_version(&job.name)?);
        if self.looked.get(&key) == Some(&seen) {
            return Ok(None);
        }
        let (stack, cloud) = agent.stack_and_cloud();
        let live = agent.live_instances(&stack, &cloud, self.address)?;
        // Dealt over the workers alive now that stay: after a budget shed some, the rest
        // take more; on-demand workers moving to spot (`retiring`) hand theirs over, so the
        // spot workers that replace them must have room for all of them, or the islands
        // they let go of would wait for a neighbour nobody runs. Finished islands are
        // nobody's to run.
        let staying = live.iter().filter(|id| !job.retiring.contains(id)).count();
        let share = job.islands.div_ceil(staying.max(1) as u64);
        let store = match self.stores.entry(job.name.clone()) {
            Entry::Occupied(o) => o.get().clone(),
            Entry::Vacant(v) => v.insert(Arc::new(agent.store(&job.name)?)).clone(),
        };
        let generations: u64 = job.attributes.get("generations").and_then(|g| g.parse().ok()).unwrap_or(0);
        let idle = !self.restarted.remove(&key);
        let mut mine = Vec::new();
        let mut dealt_to_me = 0;
        let mut unfinished = 0;
        for island in 0..job.islands {
            let finished =
                store.contains(&ga::checkpoint_key(island, generations)).map_err(|e| e.to_string())?;
            if finished {
                continue;
            }
            unfinished += 1;
            // A worker's share caps what it takes of a deal; an orphan runs now.
            let dealing = dealt_to_me < share;
            let claim = if dealing {
                agent.claim(&job.name, island, me, &live)?
            } else {
                beyond_share(agent, job, island, me, &live, idle)?
            };
            match claim {
                Claim::New | Claim::Mine => {
                    dealt_to_me += 1;
                    mine.push(island);
                }
                Claim::Orphan => {
                    dealt_to_me += u64::from(dealing);
                    mine.push(island);
                }
                Claim::NotFree => {}
            }
        }
        if mine.is_empty() {
            // Up, with nothing to run while others hold more than a share: the head deals
            // again once the workers it grew the group by are all up.
            if unfinished > 0 && self.waiting.insert((key.clone(), job.dealt)) {
                agent.wait_for_islands(&job.name, job.dealt, me)?;
            }
            // Anything that changed since `seen` was read makes the next look a new one.
            self.looked.insert(key, seen);
            return Ok(None);
        }
        let claimed = (job.dealt, agent.claims_version(&job.name)?);
        // With room in its share, it looks again whenever islands are handed over.
        let room = (dealt_to_me < share).then(|| claimed.1.clone());
        outln!("{me}: job {} islands {mine:?}", job.name);
        Ok(Some(Work {
            job: job.name.clone(),
            store,
            islands: mine,
            generations,
            run: Claimed { key, claimed, dealt: Dealt::new(job.clone(), room) },
        }))
    }
}

impl WorkerCloud for Instance<'_> {
    type Run = Claimed;

    fn reporter(&self) -> String {
        self.me.to_string()
    }

    fn next(&mut self) -> Result<Next<Claimed>, CloudError> {
        let (agent, me) = (self.agent, self.me);
        // A tick between a run's end and the next look, as the worker always paced itself: a
        // shed or lost instance's own worker gets that long to end before this one takes its
        // islands over (looking at once, it could run them beside a worker not yet gone).
        if std::mem::take(&mut self.ran_just_now) {
            return Ok(Next::Wait(TICK));
        }
        if self.notices.interrupted() {
            self.notices.handed_over(agent)?;
            return Ok(Next::Exit("EC2 takes this instance back; nothing of its own to hand over".into()));
        }
        let jobs: Vec<JobRecord> =
            agent.jobs()?.into_iter().filter(|j| j.group.compute() == Some(self.compute.as_str())).collect();
        let running: Vec<&JobRecord> =
            jobs.iter().filter(|j| &j.group == self.address && j.status == JobStatus::Running).collect();
        // Moved to spot while it had nothing running: it lets go of what it holds, and goes.
        if let Some(job) = running.iter().find(|j| j.retiring.iter().any(|r| r == me)) {
            agent.release_all(&job.name, job.islands, me)?;
            return Ok(Next::Exit(format!(
                "moved to spot by the head; its claims on job {} let go of",
                job.name
            )));
        }
        for job in running {
            self.seen_running = true;
            if self.notices.at_risk() {
                continue;
            }
            if let Some(work) = self.claim(job)? {
                return Ok(Next::Run(work));
            }
        }
        if self.seen_running && jobs.iter().all(agent::is_over) {
            return Ok(Next::Exit(format!("the jobs of compute `{}` are over", self.compute)));
        }
        Ok(Next::Wait(TICK))
    }

    fn steer(&self, work: &Work<Claimed>) -> Steer {
        // A notice first: the islands save where they are before the instance goes.
        if self.notices.interrupted() {
            Steer::SaveAndStop
        } else {
            work.run.dealt.steer(self.agent, self.me)
        }
    }

    fn say(&self, _: &Work<Claimed>, line: &str) {
        outln!("{line}");
    }

    fn ran(&mut self, work: Work<Claimed>, ran: Result<(), RunError>) -> Result<Option<String>, CloudError> {
        let (agent, me) = (self.agent, self.me);
        self.ran_just_now = true;
        let Work { job, islands: mine, run: Claimed { key, claimed, dealt }, .. } = work;
        match ran {
            Ok(()) => {
                self.looked.insert(key, claimed);
                Ok(None)
            }
            Err(RunError::Interrupted) if dealt.says() == Says::Retire => {
                agent.release_all(&job, dealt.job.islands, me)?;
                Ok(Some(format!("moved to spot by the head; job {job} islands {mine:?} saved and let go of")))
            }
            Err(RunError::Interrupted) if dealt.says() == Says::Stop => {
                for island in &mine {
                    agent.release(&job, *island, me)?;
                }
                outln!("{me}: job {job} was stopped; islands {mine:?} saved and let go of");
                Ok(None)
            }
            Err(RunError::Interrupted) if self.notices.interrupted() => {
                for island in &mine {
                    agent.release(&job, *island, me)?;
                }
                self.notices.handed_over(agent)?;
                Ok(Some(format!(
                    "EC2 takes this instance back; job {job} islands {mine:?} saved and let go of"
                )))
            }
            // Dealt anew (a budget shed workers, or the head grew the group), or islands
            // were handed over while this worker had room: claim again.
            Err(RunError::Interrupted) => {
                self.restarted.insert(key);
                outln!("{me}: job {job} was dealt anew; claiming again");
                Ok(None)
            }
            Err(e) => Err(format!("job {job} islands {mine:?}: {e}").into()),
        }
    }
}

/// What a worker whose share is full does with `island`: hands it over when it holds it
/// (a new deal gave it a smaller share); when it was `idle`, claims it if it is an orphan
/// (its holder gone or let go of it), so that it takes no fresh island but leaves no island
/// without a worker. An island handed over in a deal is left to the workers with room for
/// it, and a worker that stopped its islands to claim again keeps to its share.
fn beyond_share(
    agent: &Agent,
    job: &JobRecord,
    island: u64,
    me: &str,
    live: &BTreeSet<String>,
    idle: bool,
) -> Result<Claim, CloudError> {
    match agent.claim_holder(&job.name, island)? {
        Some(holder) if holder == me => {
            agent.hand_over(&job.name, island, me)?;
            Ok(Claim::NotFree)
        }
        Some(holder) if deal::is_handed_over(&holder) => Ok(Claim::NotFree),
        Some(holder) if idle && !live.contains(&holder) => agent.claim(&job.name, island, me, live),
        _ => Ok(Claim::NotFree),
    }
}

/// What a running job's record says to this worker's islands, read at most every [`TICK`]:
/// go on; stop, because it no longer runs; save and stop, because it was dealt anew (a
/// budget shed workers, the head grew the group) or the head is moving this on-demand
/// worker to spot; or, for a worker with room in its share, because islands were handed
/// over (its claims changed).
struct Dealt {
    job: JobRecord,
    /// The job's claims as they were when this worker took its islands, if it has room for
    /// more.
    room: Option<String>,
    last: Mutex<(Instant, Says)>,
}

/// What the job's record (and claims) said when last read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Says {
    Go,
    /// The job no longer runs.
    Stop,
    /// Dealt anew, or islands handed over that this worker has room for.
    DealAgain,
    /// Moved to spot.
    Retire,
}

impl Dealt {
    fn new(job: JobRecord, room: Option<String>) -> Dealt {
        Dealt { job, room, last: Mutex::new((Instant::now(), Says::Go)) }
    }

    fn steer(&self, agent: &Agent, me: &str) -> Steer {
        let Ok(mut last) = self.last.lock() else { return Steer::Go };
        if last.0.elapsed() >= TICK {
            // A record that cannot be read now is read again next time.
            let mut says = match agent.job(&self.job.name).ok().flatten() {
                Some(j) if j.retiring.iter().any(|r| r == me) => Says::Retire,
                Some(j) if j.status != JobStatus::Running => Says::Stop,
                Some(j) if j.dealt != self.job.dealt => Says::DealAgain,
                _ => Says::Go,
            };
            if let (Says::Go, Some(claims)) = (says, &self.room) {
                if agent.claims_version(&self.job.name).is_ok_and(|now| &now != claims) {
                    says = Says::DealAgain;
                }
            }
            *last = (Instant::now(), says);
        }
        match last.1 {
            Says::Go => Steer::Go,
            // Saved where they are: the islands this worker keeps, those it hands over, and
            // the results so far of a stopped job lose nothing.
            Says::Stop | Says::DealAgain | Says::Retire => Steer::SaveAndStop,
        }
    }

    /// What the record last read said.
    fn says(&self) -> Says {
        self.last.lock().map_or(Says::Go, |l| l.1)
    }
}
