//! One apply converges on the local cloud (issue 17): a change that scales a group and edits
//! its attributes at once leaves the kept instances' records as the plan showed, so the next
//! plan has nothing to do. (The aws side: `aws_converge.rs`.)

use crate::support::{ok, Workspace};

fn stack(count: u32, autoscale: bool) -> String {
    format!(
        r#"
cloud laptop {{ provider = local }}
compute here {{
  cloud = laptop
  head {{ instance_type = "m5.large" }}
  workers w {{
    instance_type = "c5.large"
    min           = {count}
    max           = {count}
    autoscale     = {autoscale}
  }}
}}
"#
    )
}

#[test]
fn a_scale_that_also_edits_attributes_converges_in_one_apply() {
    let w = Workspace::new("converge-local", &stack(1, true));
    for (count, autoscale) in [(1, true), (2, false), (3, true), (1, false)] {
        std::fs::write(w.0.join("job.gaf"), stack(count, autoscale)).unwrap();
        ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]));
        let plan = w.gaform(&["plan", "job.gaf", "--detailed-exitcode"], &[]);
        assert_eq!(
            plan.status.code(),
            Some(0),
            "after min = max = {count}, autoscale = {autoscale}:\n{}",
            String::from_utf8_lossy(&plan.stdout)
        );
    }
    ok(&w.gaform(&["destroy", "job.gaf", "--auto-approve"], &[]));
}

const TWO_JOBS: &str = r#"
cloud laptop { provider = local }
compute here {
  cloud = laptop
  head { instance_type = "m5.large" }
  workers w {
    instance_type = "c5.large"
    min           = 2
    max           = 2
  }
}
job zeta {
  compute     = here
  data        = "GOOG_wiki.csv"
  strategy    = sma_crossover(fast = 2..50, slow = 10..200)
  population  = 40
  generations = 5
  seed        = 1
}
job alpha {
  compute     = here
  data        = "GOOG_wiki.csv"
  strategy    = rsi_reversion(period = 2..30, lower = 10..45, upper = 55..90)
  population  = 40
  generations = 5
  seed        = 2
}
"#;

#[test]
fn two_jobs_on_one_compute_run_in_one_apply_and_the_next_plan_is_clean() {
    let w = Workspace::new("converge-two-jobs", TWO_JOBS);
    let applied = ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]));
    for job in ["alpha", "zeta"] {
        assert!(applied.contains(&format!("\n{job}: best ")), "apply reports {job}:\n{applied}");
        // The same bytes as the job run alone: sharing the workers changes nothing.
        ok(&w.gaform(&["run", "job.gaf", "--job", job, "--out", &format!("alone/{job}")], &[]));
        assert_eq!(
            w.read(&format!("results/{job}/best.json")),
            w.read(&format!("alone/{job}/best.json")),
            "{job}"
        );
    }
    let plan = w.gaform(&["plan", "job.gaf", "--detailed-exitcode"], &[]);
    assert_eq!(plan.status.code(), Some(0), "{}", String::from_utf8_lossy(&plan.stdout));
    let log = w.read(".gaform/job/jobs/zeta/log");
    assert!(log.contains("worker(s) go on to job.zeta now that job.alpha is over"), "{log}");
}

/// The property: after any random edit, one `apply` then `plan --detailed-exitcode` gives 0;
/// `destroy` at the end leaves nothing running. A few dozen steps here;
/// `GAFORM_CONVERGE_STEPS` and `GAFORM_CONVERGE_SEED` make a longer or another run.
#[test]
fn random_edits_converge_in_one_apply_each_on_the_local_cloud() {
    let stack = crate::edits::Stack::new(false, crate::edits::seed());
    let w = Workspace::new("converge-random-local", &stack.render());
    crate::edits::converge(&w, stack, |_| {
        let applied = w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]);
        let plan = w.gaform(&["plan", "job.gaf", "--detailed-exitcode"], &[]);
        match (applied.status.success(), plan.status.code()) {
            (true, Some(0)) => Ok(()),
            _ => Err(format!(
                "apply:\n{}{}\nplan:\n{}",
                String::from_utf8_lossy(&applied.stdout),
                String::from_utf8_lossy(&applied.stderr),
                String::from_utf8_lossy(&plan.stdout)
            )),
        }
    });
    ok(&w.gaform(&["destroy", "job.gaf", "--auto-approve"], &[]));
    let status = ok(&w.gaform(&["status", "job.gaf"], &[]));
    assert!(status.contains("nothing is provisioned"), "{status}");
}
