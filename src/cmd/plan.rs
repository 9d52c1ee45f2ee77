//! `gaform plan FILE`: observe what the stack owns, diff it with the file, print the plan
//! (Terraform's shape, or `--json`), optionally save it for `gaform apply PLANFILE`.

use super::stack::{self, LoadError, Stack};
use crate::cli::PlanArgs;
use crate::failure::Failure;
use gaform_compiler::plan::{self, render, Plan};
use std::process::ExitCode;

/// Exit code for a plan with changes under `--detailed-exitcode`.
const CHANGES: u8 = 2;

pub fn run(args: &PlanArgs) -> Result<ExitCode, Failure> {
    let stack = match stack::load(&args.file) {
        Ok(s) => s,
        Err(LoadError::Reported) => return Ok(ExitCode::FAILURE),
        Err(LoadError::Failed(failure)) => return Err(failure),
    };
    if !args.destroy {
        // Another file's job of the same name owns a results directory: refused as apply
        // would refuse it.
        super::owner::check_stack(&stack)?;
    }
    let plan = make(&stack, args.destroy)?;
    if let Some(out) = &args.out {
        let bytes = serde_json::to_vec_pretty(&plan).map_err(|e| e.to_string())?;
        gaform_providers::state::write_atomically(out, &bytes)?;
    }
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&plan).map_err(|e| e.to_string())?);
    } else {
        out!("{}", render::human(&plan, crate::render::diagnostics::colour_wanted()));
        if let Some(out) = &args.out {
            if !plan.is_empty() {
                outln!(
                    "\nSaved the plan to {0}. To carry out exactly these actions, run:\n  gaform apply {0}",
                    out.display()
                );
            }
        }
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() { ExitCode::from(CHANGES) } else { ExitCode::SUCCESS })
}

/// Observes the stack and diffs it with the file (or plans its destruction).
pub fn make(stack: &Stack, destroy: bool) -> Result<Plan, Failure> {
    let mut observed = stack.provider.observe()?;
    let name = stack.file.display().to_string();
    if destroy {
        return Ok(plan::destroy(&stack.desired, &observed, &name, &stack.sha256));
    }
    observed.facts = stack.provider.facts(&stack.desired)?;
    let over = plan::quota::check(&stack.desired, &observed);
    if !over.is_empty() {
        return Err(format!(
            "the plan cannot fit the account's live quotas; nothing was changed:\n  {}",
            over.join("\n  ")
        )
        .into());
    }
    Ok(plan::diff(&stack.desired, &observed, &name, &stack.sha256))
}
