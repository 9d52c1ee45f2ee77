//! A service's own compute (E0016): its head and workers are the service's replicas, so it
//! runs no job and serves no other service, takes no `replicas` count, and it sits on the
//! job's cloud, where the replicas find the job's results.

use super::Checker;
use crate::diag::{Code, Diagnostic};
use crate::ir::Provider;

impl Checker<'_> {
    pub(super) fn serving(&mut self) {
        let program = &self.program;
        let mut found = Vec::new();
        for (si, service) in program.services.iter().enumerate() {
            if let (Some(_), Some(span)) = (service.compute, service.replicas_span) {
                let message = format!("service `{}` has both a `compute` and `replicas`", service.name);
                let help = "with `compute`, the compute's head and workers are the replicas: size its workers' `min`/`max`, or leave `compute` out for `replicas` processes on the local cloud";
                found.push(
                    Diagnostic::new(Code::E0016, message, span, "replicas beside a compute").with_help(help),
                );
            }
            let Some(ci) = service.compute else { continue };
            let Some(compute) = program.computes.get(ci.0) else { continue };
            let name = &compute.name;
            let problem = if let Some(job) = program.jobs.iter().find(|j| j.compute == ci) {
                Some((
                    format!("compute `{name}` runs job `{}` and serves service `{}`", job.name, service.name),
                    "a compute that also runs a job".to_string(),
                    {
                        let local = program
                            .clouds
                            .get(compute.cloud.0)
                            .is_some_and(|c| c.provider == Provider::Local);
                        let or = if local {
                            ", or leave `compute` out (one `gaform serve` process here)"
                        } else {
                            ""
                        };
                        format!(
                            "a service's compute only serves (its head and workers are the replicas): give `{}` a compute of its own{or}",
                            service.name
                        )
                    },
                ))
            } else if let Some(other) = program.services.iter().take(si).find(|s| s.compute == Some(ci)) {
                Some((
                    format!("compute `{name}` serves both `{}` and `{}`", other.name, service.name),
                    "already serves another service".to_string(),
                    "each service needs a compute of its own".to_string(),
                ))
            } else {
                let job_cloud =
                    program.jobs.get(service.job.0).and_then(|j| program.computes.get(j.compute.0));
                job_cloud.filter(|j| j.cloud != compute.cloud).map(|j| {
                    let cloud =
                        |c: crate::ir::CloudId| program.clouds.get(c.0).map_or("?", |c| c.name.as_str());
                    (
                        format!(
                            "compute `{name}` is on cloud `{}` but the job's results are on cloud `{}`",
                            cloud(compute.cloud),
                            cloud(j.cloud)
                        ),
                        "on another cloud than the job".to_string(),
                        format!(
                            "put `{name}` on cloud `{}`, where the replicas can read the job's results",
                            cloud(j.cloud)
                        ),
                    )
                })
            };
            if let Some((message, label, help)) = problem {
                found
                    .push(Diagnostic::new(Code::E0016, message, service.compute_span, label).with_help(help));
            }
        }
        for d in found {
            self.report(d);
        }
    }
}
