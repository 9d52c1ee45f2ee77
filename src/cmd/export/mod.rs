//! `gaform export monitor FILE --out DIR`: what a team loads into the tools it runs,
//! from the file alone (no cloud is asked): `rules.yml` (Prometheus alerting rules, one
//! per monitor alert), `prometheus.yml` (a scrape job per compute head, loading the
//! rules), and `dashboards/*.json` (Grafana: genetic evolution, cost tracking,
//! performance analysis). Each file is written whole or not at all. A local head is
//! scraped at the port its records say it took (another head may have had the one asked).

use crate::failure::Failure;
mod grafana;
mod python;
mod rules;
mod strategy;

use crate::cli::ExportArgs;
use crate::load::{read_and_check, Checked, Report};
use gaform_compiler::CheckOptions;
use gaform_runtime::store::write_atomically;
use std::process::ExitCode;

pub fn run(args: &ExportArgs) -> Result<ExitCode, Failure> {
    if args.what == crate::cli::ExportWhat::Strategy {
        return strategy::run(args);
    }
    let out = args.out.clone().unwrap_or_else(|| "monitoring".into());
    let path = &args.file;
    let Some(Checked { program, .. }) = read_and_check(path, &CheckOptions::default(), Report::OnError)?
    else {
        return Ok(ExitCode::FAILURE);
    };
    let stack = path.file_stem().map_or_else(|| "stack".into(), |s| s.to_string_lossy().into_owned());
    let mut files = vec![
        ("rules.yml".to_string(), rules::rules(&stack, &program)),
        ("prometheus.yml".to_string(), {
            let records = super::stack::stack_dir(path);
            rules::scrape_config(&stack, &program, &|compute| {
                records.metrics_address(compute).map(|a| a.port())
            })
        }),
    ];
    for (name, board) in grafana::dashboards(&stack) {
        let text = serde_json::to_string_pretty(&board).map_err(|e| e.to_string())? + "\n";
        files.push((format!("dashboards/{name}"), text));
    }
    for (name, text) in &files {
        let target = out.join(name);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        write_atomically(&target, text.as_bytes()).map_err(|e| e.to_string())?;
    }
    outln!(
        "wrote {} ({} monitor(s), {} alert rule(s)): {}",
        out.display(),
        program.monitors.len(),
        program.monitors.iter().map(|m| m.alerts.len()).sum::<usize>(),
        files.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
