//! The strategy server: serves the best strategy of a service's job over HTTP (by hand, or
//! as a provisioned replica: a local cloud's process or an aws instance), and swaps in each
//! new best the job's runs write. The answers come from the backtester itself
//! (`backtest::stance`), so `gaform backtest` on the same bars says the same. It takes its
//! own [`Config`] and a [`Setup`] (what to serve); the CLI builds both from its arguments.

/// A line to standard output: a reader that went away ends nothing (the server goes on).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// A line to standard error, likewise.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod bars;
mod http;
mod served;
pub mod setup;
pub mod source;
mod streams;
mod watch;

use axum::serve::ListenerExt;
use gaform_providers::local::agent;
use gaform_providers::CloudError;
pub use http::REPLICA_HEADER;
pub use setup::Setup;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// How a server listens and polls.
#[derive(Clone, Debug)]
pub struct Config {
    /// The address to listen on.
    pub bind: IpAddr,
    /// The port; `None` for the service's own (`Setup::port`), 0 for any free one.
    pub port: Option<u16>,
    /// Requests answered at once; past it, 503 with Retry-After.
    pub max_in_flight: usize,
    /// How often to look for a new `best.json`.
    pub poll: Duration,
    /// Streams followed at once; past it (none idle long enough to forget), 429.
    pub max_streams: usize,
    /// A stream sent no bars this long is forgotten.
    pub stream_idle: Duration,
}

/// A listener on `address`; one of several replicas' (`SO_REUSEPORT`) when `shared`: the
/// kernel then deals each new connection to one of them, and one that dies or drains takes
/// only its own connections with it.
fn listen(address: SocketAddr, shared: bool) -> std::io::Result<tokio::net::TcpListener> {
    let socket =
        if address.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    // What `TcpListener::bind` does on unix: a restarted server rebinds a port in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    if shared {
        socket.set_reuseport(true)?;
    }
    socket.bind(address)?;
    socket.listen(1024)
}

/// Serves `setup` until a local replica's slot is no longer its own (or the server fails).
pub fn serve(setup: Setup, config: &Config) -> Result<(), CloudError> {
    let address = SocketAddr::new(config.bind, config.port.unwrap_or(setup.port));
    let shared = Arc::new(http::Shared::new(
        config.max_in_flight,
        format!("{} does not exist yet: the job has not finished a run", setup.source.name()),
        streams::Streams::new(config.max_streams, config.stream_idle),
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CloudError::io("cannot start the server", &e))?;
    let poll = config.poll;
    let replica = setup.slot.as_ref().map(|(_, _, index)| *index);
    // Every replica apply starts shares its port, so that a roll's new replica listens
    // beside the one it replaces.
    let shares_port = replica.is_some();
    let slot = setup.slot.clone();
    let (service, job, route) = (setup.service.clone(), setup.job.clone(), setup.route.clone());
    let mut watcher = watch::Watcher::new(shared.clone(), setup);
    watcher.look();
    runtime.block_on(async move {
        let listener = listen(address, shares_port)
            .map_err(|e| CloudError::io(&format!("cannot listen on {address}"), &e))?;
        let bound = listener.local_addr().map_err(|e| CloudError::io("cannot tell the bound address", &e))?;
        let claim = match &slot {
            Some((stack, address, index)) => match agent::register(stack, address, *index)? {
                Some(me) => Some((stack.clone(), me)),
                None => return Ok(()),
            },
            None => None,
        };
        outln!("serving service.{service} (job {job}) on http://{bound}{route}");
        let router = http::router(shared, &route, replica);
        // The watcher returns only when a local replica is replaced or removed: then the
        // server stops too.
        let (over, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            watcher.watch(claim, poll);
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
            .map_err(|e| CloudError::io("the server stopped", &e))
    })
}
