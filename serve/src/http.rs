//! The endpoint: `POST ROUTE` answers a window of bars with the strategy's position and
//! signal after its last bar; `GET ROUTE` describes the strategy served; `/healthz`,
//! `/readyz` and `/metrics` (Prometheus) beside them. Each request takes the strategy once,
//! so it is answered wholly by one version however the swap falls; past `max_in_flight`
//! requests a `503` with `Retry-After` answers at once instead of a queue growing.

use super::bars::{self, Refusal};
use super::served::{Served, ServedStrategy};
use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use gaform_runtime::backtest::{self, Calendar};
use gaform_runtime::rules::series::Series;
use gaform_runtime::rules::signals::signals;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::{Arc, RwLock};
use std::time::Instant;
use tokio::sync::Semaphore;

/// The largest body accepted: 1 MiB holds about 15,000 bars as arrays.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// `method` and `code`: static strings, so counting a request allocates nothing.
type Labels = [(&'static str, &'static str); 2];

/// What every request shares.
pub struct Shared {
    current: RwLock<Option<Arc<Served>>>,
    /// Why nothing is served yet (or why the last `best.json` was not taken).
    waiting: RwLock<String>,
    permits: Semaphore,
    requests: Family<Labels, Counter>,
    latency: Histogram,
    in_flight: Gauge,
    version: Gauge,
    swaps: Counter,
    registry: Registry,
}

impl Shared {
    pub fn new(max_in_flight: usize, waiting: String) -> Shared {
        let requests = Family::<Labels, Counter>::default();
        let latency = Histogram::new(exponential_buckets(0.000_025, 2.0, 16));
        let (in_flight, version, swaps) = (Gauge::default(), Gauge::default(), Counter::default());
        let mut registry = Registry::with_prefix("gaform_serve");
        registry.register("requests", "Requests answered, by method and status code", requests.clone());
        registry.register(
            "request_duration_seconds",
            "Time from a POST's arrival to its answer",
            latency.clone(),
        );
        registry.register("in_flight", "Requests being answered", in_flight.clone());
        registry.register("version", "The strategy version served (0: none yet)", version.clone());
        registry.register("swaps", "New strategies swapped in", swaps.clone());
        Shared {
            current: RwLock::new(None),
            waiting: RwLock::new(waiting),
            permits: Semaphore::new(max_in_flight),
            requests,
            latency,
            in_flight,
            version,
            swaps,
            registry,
        }
    }

    /// The strategy served now.
    pub fn current(&self) -> Option<Arc<Served>> {
        self.current.read().ok().and_then(|c| c.clone())
    }

    /// Serves `served` from the next request on.
    pub fn swap(&self, served: Served) {
        self.version.set(served.version as i64);
        if let Ok(mut current) = self.current.write() {
            if current.is_some() {
                self.swaps.inc();
            }
            *current = Some(Arc::new(served));
        }
    }

    /// Why nothing (new) is served.
    pub fn waiting(&self) -> String {
        self.waiting.read().map(|w| w.clone()).unwrap_or_default()
    }

    /// Says why nothing new is served.
    pub fn wait(&self, why: String) {
        if let Ok(mut waiting) = self.waiting.write() {
            *waiting = why;
        }
    }

    fn count(&self, method: &'static str, status: StatusCode) {
        // Every code the handlers answer with; anything else would be a new one to list here.
        let code = match status.as_u16() {
            200 => "200",
            400 => "400",
            413 => "413",
            422 => "422",
            503 => "503",
            _ => "other",
        };
        self.requests.get_or_create(&[("method", method), ("code", code)]).inc();
    }
}

/// The header that says which local replica answered (its slot).
pub const REPLICA_HEADER: &str = "x-gaform-replica";

/// The router for a service at `route`; a provisioned local `replica` (its slot) says so on
/// every answer, so a client behind the shared port can tell which one answered.
pub fn router(shared: Arc<Shared>, route: &str, replica: Option<u64>) -> Router {
    let (post, get_strategy, ready, metrics) = (shared.clone(), shared.clone(), shared.clone(), shared);
    let router = Router::new()
        .route(
            route,
            get(move || describe(get_strategy.clone()))
                .post(move |request: Request<Body>| answer(post.clone(), request)),
        )
        .route("/healthz", get(|| async { json(StatusCode::OK, br#"{"ok":true}"#.to_vec()) }))
        .route("/readyz", get(move || readyz(ready.clone())))
        .route("/metrics", get(move || scrape(metrics.clone())));
    match replica {
        Some(slot) => {
            let value = axum::http::HeaderValue::from(slot);
            router.layer(axum::middleware::map_response(move |mut response: Response| {
                let value = value.clone();
                async move {
                    response.headers_mut().insert(REPLICA_HEADER, value);
                    response
                }
            }))
        }
        None => router,
    }
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(CONTENT_TYPE, "application/json")], body).into_response()
}

fn error(status: StatusCode, message: &str, bar: Option<usize>) -> Response {
    let body = serde_json::json!({ "error": message, "bar": bar });
    let mut response = json(status, serde_json::to_vec(&body).unwrap_or_default());
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
    }
    response
}

async fn answer(shared: Arc<Shared>, request: Request<Body>) -> Response {
    let started = Instant::now();
    let Ok(_permit) = shared.permits.try_acquire() else {
        shared.count("POST", StatusCode::SERVICE_UNAVAILABLE);
        return error(StatusCode::SERVICE_UNAVAILABLE, "too many requests in flight; retry", None);
    };
    shared.in_flight.inc();
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the body is over {MAX_BODY_BYTES} bytes (or was cut off)"),
            None,
        )
    };
    // Refused from the header, before the body is polled: polling is what makes hyper send
    // `100 Continue`, and a client that waits for it then never sends the body at all.
    let declared = request.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let response = if declared.is_some_and(|length| length > MAX_BODY_BYTES) {
        too_large()
    } else {
        match axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES).await {
            Ok(body) => decide(&shared, &body),
            Err(_) => too_large(),
        }
    };
    shared.in_flight.dec();
    shared.count("POST", response.status());
    shared.latency.observe(started.elapsed().as_secs_f64());
    response
}

/// A POST's answer, serialised straight from here (no JSON tree per request).
#[derive(serde::Serialize)]
struct Answer<'a> {
    position: backtest::Position,
    signal: backtest::Signal,
    time: bars::Time,
    bars: usize,
    strategy: &'a serde_json::Value,
    parameters: &'a str,
    job: &'a str,
    version: u64,
    run: &'a str,
}

/// The position and signal after the last bar of `body`, by the backtester itself.
fn decide(shared: &Shared, body: &Bytes) -> Response {
    let Some(served) = shared.current() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("no strategy yet: {}", shared.waiting()),
            None,
        );
    };
    let (data, last) = match bars::parse(body, served.needed) {
        Ok(parsed) => parsed,
        Err(Refusal { status, message, bar }) => {
            return error(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), &message, bar)
        }
    };
    let calendar = Calendar::new(&data.time);
    let (position, signal) = match &served.strategy {
        ServedStrategy::Builtin(s) => backtest::stance(&data, &calendar, s, served.costs),
        ServedStrategy::Written { program, values } => {
            let signals = match signals(program, values, &mut Series::new(&data)) {
                Ok(s) => s,
                Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), None),
            };
            if signals.never_defined || signals.start >= data.len() {
                let message = format!(
                    "{} bars are too few for the strategy's indicators to warm up: send more bars",
                    data.len()
                );
                return error(StatusCode::UNPROCESSABLE_ENTITY, &message, None);
            }
            let (_, position, signal) = backtest::orders::simulate(
                &data,
                &calendar,
                &signals,
                served.costs,
                backtest::Keep::default(),
            );
            (position, signal)
        }
    };
    let body = Answer {
        position,
        signal,
        time: last,
        bars: data.len(),
        strategy: &served.strategy_json,
        parameters: &served.parameters,
        job: &served.job,
        version: served.version,
        run: &served.run,
    };
    json(StatusCode::OK, serde_json::to_vec(&body).unwrap_or_default())
}

async fn describe(shared: Arc<Shared>) -> Response {
    let response = match shared.current() {
        Some(served) => json(StatusCode::OK, served.description.clone()),
        None => {
            error(StatusCode::SERVICE_UNAVAILABLE, &format!("no strategy yet: {}", shared.waiting()), None)
        }
    };
    shared.count("GET", response.status());
    response
}

async fn readyz(shared: Arc<Shared>) -> Response {
    match shared.current() {
        Some(served) => json(
            StatusCode::OK,
            serde_json::to_vec(&serde_json::json!({
                "ready": true,
                "version": served.version,
                "run": served.run,
                "strategy": served.parameters,
            }))
            .unwrap_or_default(),
        ),
        None => {
            let body = serde_json::json!({ "ready": false, "waiting": shared.waiting() });
            json(StatusCode::SERVICE_UNAVAILABLE, serde_json::to_vec(&body).unwrap_or_default())
        }
    }
}

async fn scrape(shared: Arc<Shared>) -> Response {
    let mut out = String::new();
    let _ = prometheus_client::encoding::text::encode(&mut out, &shared.registry);
    ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], out).into_response()
}
