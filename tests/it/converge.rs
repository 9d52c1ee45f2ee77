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
