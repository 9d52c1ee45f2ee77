//! `gaform serve FILE --service NAME`: serves the best strategy of the service's job over
//! HTTP (what a provisioned service runs; usable by hand), and swaps in each new best the
//! job's runs write. The answers come from the backtester itself (`backtest::stance`), so
//! `gaform backtest` on the same bars says the same.

mod bars;
mod http;
mod served;

use crate::cli::ServeArgs;
use crate::host::FileHost;
use crate::render::diagnostics;
use axum::serve::ListenerExt;
use gaform_compiler::plan::Addr;
use gaform_compiler::source::SourceFile;
use gaform_compiler::{CheckOptions, Host};
use gaform_providers::local::agent::{self, Registration};
use gaform_providers::local::StackDir;
use gaform_runtime::backtest::Costs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// What one `gaform serve` serves, read from a file or from a provisioned replica's record.
struct Setup {
    service: String,
    job: String,
    route: String,
    port: u16,
    best: PathBuf,
    /// The job's costs, for a `best.json` that names none; a provisioned replica has none to
    /// offer and refuses such a file.
    costs: Option<Costs>,
    data_digest: Option<String>,
    /// A provisioned replica's slot, claimed once it listens (so that `apply`, which waits
    /// for the claim, learns of a port it cannot have); it stops once its slot is not its own.
    slot: Option<(StackDir, Addr, u64)>,
}

pub fn run(args: &ServeArgs) -> Result<ExitCode, String> {
    let setup = match (&args.stack, &args.file, &args.service) {
        (Some(stack), _, _) => from_stack(StackDir::new(stack), args)?,
        (None, Some(file), Some(service)) => match from_file(file, service, args)? {
            Some(setup) => setup,
            None => return Ok(ExitCode::FAILURE),
        },
        _ => return Err("give FILE --service NAME, or --stack DIR --address service.NAME".into()),
    };
    let address = SocketAddr::new(args.bind, args.port.unwrap_or(setup.port));
    let shared = Arc::new(http::Shared::new(
        args.max_in_flight,
        format!("{} does not exist yet: the job has not finished a run", setup.best.display()),
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| format!("cannot listen on {address}: {e}"))?;
        let bound = listener.local_addr().map_err(|e| e.to_string())?;
        let claim = match &setup.slot {
            Some((stack, address, index)) => match agent::register(stack, address, *index)? {
                Some(me) => Some((stack.clone(), me)),
                None => return Ok(()),
            },
            None => None,
        };
        outln!("serving service.{} (job {}) on http://{bound}{}", setup.service, setup.job, setup.route);
        let router = http::router(shared.clone(), &setup.route);
        let watcher = tokio::spawn(watch(shared, setup, claim, args.poll));
        // Answers are small and written whole: no waiting for Nagle to fill a segment.
        let listener = listener.tap_io(|stream| {
            let _ = stream.set_nodelay(true);
        });
        // The watcher ends only when a provisioned replica is replaced or removed.
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = watcher.await;
            })
            .await
            .map_err(|e| format!("the server stopped: {e}"))
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `gaform serve FILE --service NAME`: by hand, from the file. `None` when the file has errors
/// (printed).
fn from_file(file: &Path, name: &str, args: &ServeArgs) -> Result<Option<Setup>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let source = SourceFile::new(file.display().to_string(), text);
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let checked = gaform_compiler::check(&source, &FileHost::new(base.clone()), &CheckOptions::default());
    let Some(program) = checked.program.filter(|_| !checked.diagnostics.iter().any(|d| d.is_error())) else {
        err!("{}", diagnostics::human(&source, &checked.diagnostics, diagnostics::colour_wanted()));
        return Ok(None);
    };
    let names: Vec<&str> = program.services.iter().map(|s| s.name.as_str()).collect();
    let service = program.services.iter().find(|s| s.name == name).ok_or_else(|| {
        format!("{} has no service `{name}` (its services: {})", file.display(), names.join(", "))
    })?;
    let job = program.jobs.get(service.job.0).ok_or("the service's job is missing")?;
    let results = args.results.clone().unwrap_or_else(|| PathBuf::from("results").join(&job.name));
    Ok(Some(Setup {
        service: service.name.clone(),
        job: job.name.clone(),
        route: service.route.clone(),
        port: service.port,
        best: results.join("best.json"),
        costs: Some(Costs { cash: job.cash, commission: job.commission }),
        data_digest: FileHost::new(base).data_digest(&job.data),
        slot: None,
    }))
}

/// `gaform serve --stack DIR --address service.NAME`: a replica `apply` started, configured by
/// its record and its job's.
fn from_stack(stack: StackDir, args: &ServeArgs) -> Result<Setup, String> {
    let address = Addr(args.address.clone().ok_or("--stack needs --address service.NAME")?);
    let record = stack.instance(&address, args.index)?.ok_or_else(|| {
        format!(
            "{} has no record in {}: replicas are started by `gaform apply`",
            address.instance(args.index),
            stack.root().display()
        )
    })?;
    let attribute = |name: &str| {
        record.attributes.get(name).cloned().ok_or_else(|| format!("{address}'s record has no `{name}`"))
    };
    let job = attribute("job")?;
    let job_record = stack.job(&job)?.ok_or_else(|| {
        format!("job.{job} has no record in {}: apply creates it first", stack.root().display())
    })?;
    let port = attribute("port")?.parse().map_err(|e| format!("{address}'s port: {e}"))?;
    Ok(Setup {
        service: address.as_str().trim_start_matches("service.").to_string(),
        route: attribute("route")?,
        port,
        best: job_record.results_dir.join("best.json"),
        costs: None,
        data_digest: job_record.attributes.get("data_sha256").cloned(),
        job,
        slot: Some((stack, address, args.index)),
    })
}

/// Loads `best.json` whenever its bytes change, and swaps it in; a file that is not a
/// finished run's best is said once and the last good one kept. Returns only when a
/// provisioned replica's slot is no longer its own.
async fn watch(
    shared: Arc<http::Shared>,
    setup: Setup,
    slot: Option<(StackDir, Registration)>,
    poll: Duration,
) {
    let mut version = 0;
    // The bytes served now, and the last ones refused: neither is read again until it changes.
    let (mut loaded, mut refused): (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
    loop {
        if let Some((stack, me)) = &slot {
            if !me.is_current(stack) {
                errln!(
                    "{} was replaced or removed by apply: stopping",
                    me.record.address.instance(me.record.index)
                );
                return;
            }
        }
        let bytes = std::fs::read(&setup.best).ok();
        if let Some(bytes) = bytes.filter(|b| Some(b) != loaded.as_ref() && Some(b) != refused.as_ref()) {
            match served::load(&bytes, version + 1, setup.costs, setup.data_digest.as_deref()) {
                Ok(served) => {
                    version = served.version;
                    errln!("serving version {version} (run {}): {}", served.run, served.strategy);
                    shared.swap(served);
                    (loaded, refused) = (Some(bytes), None);
                }
                Err(why) => {
                    let why = format!("{} is not served: {why}", setup.best.display());
                    errln!("{why}");
                    shared.wait(why);
                    refused = Some(bytes);
                }
            }
        }
        tokio::time::sleep(poll).await;
    }
}
