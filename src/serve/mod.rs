//! `gaform serve FILE --service NAME`: serves the best strategy of the service's job over
//! HTTP (usable by hand; what a provisioned replica runs, with `--stack` on a local cloud or
//! `--s3-stack` on aws), and swaps in each new best the job's runs write. The answers come
//! from the backtester itself (`backtest::stance`), so `gaform backtest` on the same bars
//! says the same.

mod bars;
mod http;
mod served;
mod setup;
mod watch;

use crate::cli::ServeArgs;
use axum::serve::ListenerExt;
use gaform_providers::local::agent;
use gaform_providers::local::StackDir;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

pub fn run(args: &ServeArgs) -> Result<ExitCode, String> {
    let setup = match (&args.stack, &args.s3_stack, &args.file, &args.service) {
        (Some(stack), _, _, _) => setup::from_stack(StackDir::new(stack), args)?,
        (None, Some(url), _, _) => setup::from_s3(url, args)?,
        (None, None, Some(file), Some(service)) => match setup::from_file(file, service, args)? {
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
    let address = SocketAddr::new(args.bind, args.port.unwrap_or(setup.port));
    let shared = Arc::new(http::Shared::new(
        args.max_in_flight,
        format!("{} does not exist yet: the job has not finished a run", setup.source.name()),
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let poll = args.poll;
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
        // The watcher returns only when a local replica is replaced or removed: then the
        // server stops too.
        let (over, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            watch::watch(shared, setup, claim, poll);
            let _ = over.send(());
        });
        // Answers are small and written whole: no waiting for Nagle to fill a segment.
        let listener = listener.tap_io(|stream| {
            let _ = stream.set_nodelay(true);
        });
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
            .map_err(|e| format!("the server stopped: {e}"))
    })?;
    Ok(ExitCode::SUCCESS)
}
