//! `gaform serve`: turns its arguments into the strategy server's configuration
//! (`gaform-serve`): what to serve from a `.gaf` file (by hand), a local stack's record (a
//! replica `apply` started, `--stack`) or the stack's place on S3 (an aws replica,
//! `--s3-stack`).

use crate::cli::ServeArgs;
use crate::failure::Failure;
use crate::load::{read_and_check, Checked, Report};
use gaform_compiler::plan::Addr;
use gaform_compiler::{CheckOptions, Host};
use gaform_providers::local::StackDir;
use gaform_runtime::backtest::Costs;
use gaform_serve::source::Source;
use gaform_serve::{setup, Config, Setup};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run(args: &ServeArgs) -> Result<ExitCode, Failure> {
    let address = || args.address.clone().map(Addr).ok_or("give --address service.NAME with it");
    let setup = match (&args.stack, &args.s3_stack, &args.file, &args.service) {
        (Some(stack), _, _, _) => setup::from_stack(StackDir::new(stack), address()?, args.index)?,
        (None, Some(url), _, _) => setup::from_s3(url, address()?, args.instance_id.clone())?,
        (None, None, Some(file), Some(service)) => match from_file(file, service, args.results.as_deref())? {
            Some(setup) => setup,
            None => return Ok(ExitCode::FAILURE),
        },
        _ => {
            return Err(
                "give FILE --service NAME, or --stack DIR / --s3-stack URL with --address service.NAME"
                    .into(),
            )
        }
    };
    let config = Config {
        bind: args.bind,
        port: args.port,
        max_in_flight: args.max_in_flight,
        poll: args.poll,
        max_streams: args.max_streams,
        stream_idle: args.stream_idle,
    };
    gaform_serve::serve(setup, &config)?;
    Ok(ExitCode::SUCCESS)
}

/// By hand, from the file: its service `name`, whose job's results are in `results` (by
/// default `results/JOB`, as apply and run write them). `None` when the file has errors
/// (printed).
fn from_file(file: &Path, name: &str, results: Option<&Path>) -> Result<Option<Setup>, Failure> {
    let Some(Checked { program, host, .. }) =
        read_and_check(file, &CheckOptions::default(), Report::OnError)?
    else {
        return Ok(None);
    };
    let names: Vec<&str> = program.services.iter().map(|s| s.name.as_str()).collect();
    let service = program.services.iter().find(|s| s.name == name).ok_or_else(|| {
        format!("{} has no service `{name}` (its services: {})", file.display(), names.join(", "))
    })?;
    let job = program.jobs.get(service.job.0).ok_or("the service's job is missing")?;
    let results = results.map_or_else(|| PathBuf::from("results").join(&job.name), Path::to_path_buf);
    Ok(Some(Setup {
        service: service.name.clone(),
        job: job.name.clone(),
        route: service.route.clone(),
        port: service.port,
        source: Source::File(results.join("best.json")),
        costs: Some(Costs { cash: job.cash, commission: job.commission }),
        data_digest: host.data_digest(&job.data),
        slot: None,
        // By hand, one process: `replicas` is for the ones apply provisions.
        replicas: 1,
    }))
}
