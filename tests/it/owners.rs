//! Results belong to their stack: two files with a job of one name never share
//! `results/JOB`, and `run --out DIR` never replaces another job's or another spec's
//! results unless told to.

use crate::apply::{code, text};
use crate::support::{ok, Workspace};

/// A job small enough to run in a blink, on the local cloud; `SEED` is replaced.
const JOB: &str = r#"
cloud here { provider = local }
compute box {
  cloud = here
  head { instance_type = "m5.large" }
  workers cpu { instance_type = "c5.large"  max = 2 }
}
job evolve {
  compute     = box
  data        = "GOOG_wiki.csv"
  strategy    = rsi_reversion(period = 2..30, lower = 10..45, upper = 55..90)
  population  = 30
  generations = 10
  seed        = SEED
}
"#;

fn with_seed(seed: u64) -> String {
    JOB.replace("SEED", &seed.to_string())
}

#[test]
fn two_stacks_with_a_job_of_one_name_never_share_its_results() {
    let w = Workspace::new("owners-stacks", &with_seed(1));
    ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]));
    let best = w.read("results/evolve/best.json");
    std::fs::write(w.0.join("copy.gaf"), with_seed(2)).unwrap();

    for command in ["plan", "apply"] {
        let args: &[&str] =
            if command == "apply" { &["apply", "copy.gaf", "--auto-approve"] } else { &["plan", "copy.gaf"] };
        let refused = w.gaform(args, &[]);
        assert_eq!(code(&refused), 1, "{command}: {}", text(&refused));
        let said = text(&refused);
        assert!(
            said.contains("job `evolve`: ")
                && said.contains("results/evolve holds the results of job `evolve` of "),
            "{said}"
        );
        assert!(
            said.contains("job.gaf, which ") && said.contains("copy.gaf's job `evolve` would replace"),
            "{said}"
        );
        assert!(said.contains("nothing was changed"), "{said}");
    }
    assert!(!w.0.join(".gaform/copy/jobs/evolve").exists(), "the refused apply made nothing");
    let run = w.gaform(&["run", "copy.gaf"], &[]);
    assert_eq!(code(&run), 2, "{}", text(&run));
    assert!(text(&run).contains("Give --replace to replace them"), "{}", text(&run));
    assert_eq!(w.read("results/evolve/best.json"), best, "nothing was overwritten");

    // The owner's file gone, its results are taken over, and it is said.
    std::fs::rename(w.0.join("job.gaf"), w.0.join("job.gaf.old")).unwrap();
    let took = ok(&w.gaform(&["apply", "copy.gaf", "--auto-approve"], &[]));
    assert!(took.contains("which is gone, are taken over by "), "{took}");
    let now: serde_json::Value = serde_json::from_str(&w.read("results/evolve/best.json")).unwrap();
    assert_eq!(now["seed"], 2);
}

#[test]
fn run_out_refuses_another_jobs_or_specs_results_unless_told_to_replace() {
    let w = Workspace::new("owners-run", &with_seed(1));
    ok(&w.gaform(&["run", "job.gaf", "--out", "r"], &[]));
    let first = w.read("r/best.json");
    // The same spec again: it resumes (here: it is done) and writes the same bytes.
    ok(&w.gaform(&["run", "job.gaf", "--out", "r"], &[]));
    assert_eq!(w.read("r/best.json"), first);

    std::fs::write(w.0.join("other.gaf"), with_seed(1).replace("job evolve", "job breed")).unwrap();
    let refused = w.gaform(&["run", "other.gaf", "--out", "r"], &[]);
    assert_eq!(code(&refused), 2, "{}", text(&refused));
    assert!(text(&refused).contains("r holds the results of job `evolve` of "), "{}", text(&refused));

    std::fs::write(w.0.join("job.gaf"), with_seed(3)).unwrap();
    let refused = w.gaform(&["run", "job.gaf", "--out", "r"], &[]);
    assert_eq!(code(&refused), 2, "{}", text(&refused));
    assert!(text(&refused).contains("another spec of job `evolve`"), "{}", text(&refused));
    assert_eq!(w.read("r/best.json"), first, "nothing was overwritten");

    let replaced = ok(&w.gaform(&["run", "job.gaf", "--out", "r", "--replace"], &[]));
    assert!(replaced.contains("r: replacing the results of another spec of job `evolve`"), "{replaced}");
    let best: serde_json::Value = serde_json::from_str(&w.read("r/best.json")).unwrap();
    assert_eq!(best["seed"], 3);
    // The new owner's spec, run again, resumes rather than being refused.
    ok(&w.gaform(&["run", "job.gaf", "--out", "r"], &[]));
}
