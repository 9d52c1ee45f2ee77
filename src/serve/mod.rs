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
use gaform_compiler::source::SourceFile;
use gaform_compiler::{CheckOptions, Host};
use gaform_runtime::backtest::Costs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

pub fn run(args: &ServeArgs) -> Result<ExitCode, String> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let source = SourceFile::new(args.file.display().to_string(), text);
    let base = args.file.parent().map(Path::to_path_buf).unwrap_or_default();
    let checked = gaform_compiler::check(&source, &FileHost::new(base.clone()), &CheckOptions::default());
    let Some(program) = checked.program.filter(|_| !checked.diagnostics.iter().any(|d| d.is_error())) else {
        err!("{}", diagnostics::human(&source, &checked.diagnostics, diagnostics::colour_wanted()));
        return Ok(ExitCode::FAILURE);
    };
    let names: Vec<&str> = program.services.iter().map(|s| s.name.as_str()).collect();
    let service = program.services.iter().find(|s| s.name == args.service).ok_or_else(|| {
        format!(
            "{} has no service `{}` (its services: {})",
            args.file.display(),
            args.service,
            names.join(", ")
        )
    })?;
    let job = program.jobs.get(service.job.0).ok_or("the service's job is missing")?;
    let costs = Costs { cash: job.cash, commission: job.commission };
    let best =
        args.results.clone().unwrap_or_else(|| PathBuf::from("results").join(&job.name)).join("best.json");
    let data_digest = FileHost::new(base).data_digest(&job.data);
    let address = SocketAddr::new(args.bind, args.port.unwrap_or(service.port));

    let shared = Arc::new(http::Shared::new(
        args.max_in_flight,
        format!("{} does not exist yet: the job has not finished a run", best.display()),
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
        outln!("serving service.{} (job {}) on http://{bound}{}", service.name, job.name, service.route);
        let watcher = shared.clone();
        let poll = args.poll;
        tokio::spawn(async move { watch(watcher, best, costs, data_digest, poll).await });
        // Answers are small and written whole: no waiting for Nagle to fill a segment.
        let listener = listener.tap_io(|stream| {
            let _ = stream.set_nodelay(true);
        });
        axum::serve(listener, http::router(shared, &service.route))
            .await
            .map_err(|e| format!("the server stopped: {e}"))
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Loads `best` whenever its bytes change, and swaps it in; a file that is not a finished
/// run's best is said once and the last good one kept.
async fn watch(
    shared: Arc<http::Shared>,
    best: PathBuf,
    costs: Costs,
    data_digest: Option<String>,
    poll: Duration,
) {
    let mut version = 0;
    // The bytes served now, and the last ones refused: neither is read again until it changes.
    let (mut loaded, mut refused): (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
    loop {
        let bytes = std::fs::read(&best).ok();
        if let Some(bytes) = bytes.filter(|b| Some(b) != loaded.as_ref() && Some(b) != refused.as_ref()) {
            match served::load(&bytes, version + 1, costs, data_digest.as_deref()) {
                Ok(served) => {
                    version = served.version;
                    errln!("serving version {version} (run {}): {}", served.run, served.strategy);
                    shared.swap(served);
                    (loaded, refused) = (Some(bytes), None);
                }
                Err(why) => {
                    let why = format!("{} is not served: {why}", best.display());
                    errln!("{why}");
                    shared.wait(why);
                    refused = Some(bytes);
                }
            }
        }
        tokio::time::sleep(poll).await;
    }
}
