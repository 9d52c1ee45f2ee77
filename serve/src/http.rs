//! The endpoint: `POST ROUTE` answers a window of bars with the strategy's position and
//! signal after its last bar; `GET ROUTE` describes the strategy served; `/healthz`,
//! `/readyz` and `/metrics` (Prometheus) beside them. Each request takes the strategy once,
//! so it is answered wholly by one version however the swap falls; past `max_in_flight`
//! requests a `503` with `Retry-After` answers at once instead of a queue growing.

use super::bars::{self, Refusal};
use super::served::{Served, ServedStrategy};
use super::streams::{self, Missing, Streams};
use axum::body::{Body, Bytes};
use axum::extract::Path;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use gaform_runtime::backtest::{self, Calendar};
use gaform_runtime::stream::{Stream, StreamError};
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
    streams: Streams,
    followed: Gauge,
    registry: Registry,
}

impl Shared {
    pub fn new(max_in_flight: usize, waiting: String, streams: Streams) -> Shared {
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
        let followed = Gauge::default();
        registry.register("streams", "Streams followed (seeded and not yet forgotten)", followed.clone());
        Shared {
            current: RwLock::new(None),
            waiting: RwLock::new(waiting),
            permits: Semaphore::new(max_in_flight),
            requests,
            latency,
            in_flight,
            version,
            swaps,
            streams,
            followed,
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

    /// Forgets the streams idle past their time (at each of the watcher's polls).
    pub fn forget_idle_streams(&self) {
        if self.streams.forget_idle() > 0 {
            self.followed.set(self.streams.len() as i64);
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
            404 => "404",
            409 => "409",
            413 => "413",
            422 => "422",
            429 => "429",
            500 => "500",
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
    let (post_bars, get_strategy, ready, metrics) =
        (shared.clone(), shared.clone(), shared.clone(), shared.clone());
    let (seed, push, forget) = (shared.clone(), shared.clone(), shared);
    let streams = format!("{}/streams/{{id}}", route.trim_end_matches('/'));
    let router = Router::new()
        .route(
            route,
            get(move || describe(get_strategy.clone())).post(move |request: Request<Body>| {
                let shared = post_bars.clone();
                handle(shared, "POST", request, decide)
            }),
        )
        .route(
            &streams,
            put(move |Path(id): Path<String>, request: Request<Body>| {
                let shared = seed.clone();
                handle(shared, "PUT", request, move |shared, body| seed_stream(shared, &id, body))
            })
            .delete(move |Path(id): Path<String>| forget_stream(forget.clone(), id)),
        )
        .route(
            &format!("{streams}/bars"),
            post(move |Path(id): Path<String>, request: Request<Body>| {
                let shared = push.clone();
                handle(shared, "POST", request, move |shared, body| push_stream(shared, &id, body))
            }),
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

/// A request with bars: refused past `max_in_flight` or a body over `MAX_BODY_BYTES`, else
/// answered by `answer`; counted and timed.
async fn handle(
    shared: Arc<Shared>,
    method: &'static str,
    request: Request<Body>,
    answer: impl FnOnce(&Shared, &Bytes) -> Response,
) -> Response {
    let started = Instant::now();
    let Ok(_permit) = shared.permits.try_acquire() else {
        shared.count(method, StatusCode::SERVICE_UNAVAILABLE);
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
            Ok(body) => answer(&shared, &body),
            Err(_) => too_large(),
        }
    };
    shared.in_flight.dec();
    shared.count(method, response.status());
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
    /// The stream answered, for a stream's bars.
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<&'a str>,
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
            match backtest::orders::stance(program, values, &data, served.costs) {
                Ok(Some(stance)) => stance,
                Ok(None) => {
                    let message = format!(
                        "{} bars are too few for the strategy's indicators to warm up: send more bars",
                        data.len()
                    );
                    return error(StatusCode::UNPROCESSABLE_ENTITY, &message, None);
                }
                Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), None),
            }
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
        stream: None,
    };
    json(StatusCode::OK, serde_json::to_vec(&body).unwrap_or_default())
}

/// A stream request's refusal, boxed (a `Response` is large to move through every `?`).
type Refused = Box<Response>;

/// The strategy served now, or the 503 that says why there is none.
fn served(shared: &Shared) -> Result<Arc<Served>, Refused> {
    shared.current().ok_or_else(|| {
        Box::new(error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("no strategy yet: {}", shared.waiting()),
            None,
        ))
    })
}

/// A body's bars, or the 4xx that says what is wrong with them.
fn bars_of(body: &Bytes) -> Result<(gaform_runtime::data::Ohlcv, bars::Time), Refused> {
    bars::parse(body, 1).map_err(|Refusal { status, message, bar }| {
        Box::new(error(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), &message, bar))
    })
}

/// A stream's answer after its last bar.
fn stream_answer(served: &Served, id: &str, stream: &Stream, last: bars::Time) -> Response {
    let (position, signal) = stream.stance();
    let body = Answer {
        position,
        signal,
        time: last,
        bars: stream.bars(),
        strategy: &served.strategy_json,
        parameters: &served.parameters,
        job: &served.job,
        version: served.version,
        run: &served.run,
        stream: Some(id),
    };
    json(StatusCode::OK, serde_json::to_vec(&body).unwrap_or_default())
}

fn check_id(id: &str) -> Result<(), Refused> {
    if streams::valid_id(id) {
        return Ok(());
    }
    let message = "a stream id is 1 to 128 of A-Z, a-z, 0-9, '.', '_' and '-'";
    Err(Box::new(error(StatusCode::BAD_REQUEST, message, None)))
}

/// `PUT ROUTE/streams/ID`: stream `id` seeded with the body's bars (replacing one of that id).
fn seed_stream(shared: &Shared, id: &str, body: &Bytes) -> Response {
    let seeded = (|| {
        check_id(id)?;
        let served = served(shared)?;
        let (data, last) = bars_of(body)?;
        let Some((program, genome)) = &served.program else {
            return Err(Box::new(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "this strategy cannot be streamed",
                None,
            )));
        };
        let stream = Stream::seed(program, genome, served.costs, &data).map_err(|e| {
            Box::new(match e {
                StreamError::Bind(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), None),
                other => error(StatusCode::UNPROCESSABLE_ENTITY, &other.to_string(), None),
            })
        })?;
        let answer = stream_answer(&served, id, &stream, last);
        if let Err(max) = shared.streams.seed(id, stream, served.version) {
            let message = format!(
                "{max} streams are followed, none idle for {}: delete one (DELETE) or retry later",
                humantime::format_duration(shared.streams.idle)
            );
            return Err(Box::new(error(StatusCode::TOO_MANY_REQUESTS, &message, None)));
        }
        Ok(answer)
    })();
    shared.followed.set(shared.streams.len() as i64);
    seeded.unwrap_or_else(|refused| *refused)
}

/// `POST ROUTE/streams/ID/bars`: the body's bars taken by stream `id`.
fn push_stream(shared: &Shared, id: &str, body: &Bytes) -> Response {
    let pushed = (|| {
        check_id(id)?;
        let served = served(shared)?;
        let (data, last) = bars_of(body)?;
        let answered = shared.streams.with(id, served.version, |followed| {
            followed.stream.push(&data).map(|()| stream_answer(&served, id, &followed.stream, last))
        });
        match answered {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(StreamError::OutOfOrder { bar })) => {
                let message = StreamError::OutOfOrder { bar }.to_string();
                Err(Box::new(error(StatusCode::UNPROCESSABLE_ENTITY, &message, Some(bar))))
            }
            Ok(Err(other)) => {
                Err(Box::new(error(StatusCode::UNPROCESSABLE_ENTITY, &other.to_string(), None)))
            }
            Err(missing) => {
                // The one way a push changes the count: a stream dropped as it is told.
                shared.followed.set(shared.streams.len() as i64);
                Err(Box::new(reseed(id, &missing, shared.streams.idle)))
            }
        }
    })();
    pushed.unwrap_or_else(|refused| *refused)
}

/// The answer for a stream this server cannot go on with: 409 when the strategy changed
/// under it, 404 otherwise; either way the client seeds it again.
fn reseed(id: &str, missing: &Missing, idle: std::time::Duration) -> Response {
    let status = match missing {
        Missing::Changed { .. } => StatusCode::CONFLICT,
        Missing::Unknown | Missing::Expired(_) => StatusCode::NOT_FOUND,
    };
    let body = serde_json::json!({ "error": missing.message(id, idle), "stream": id, "reseed": true });
    json(status, serde_json::to_vec(&body).unwrap_or_default())
}

/// `DELETE ROUTE/streams/ID`: stream `id` forgotten.
async fn forget_stream(shared: Arc<Shared>, id: String) -> Response {
    let response = match check_id(&id) {
        Err(refused) => *refused,
        Ok(()) if shared.streams.forget(&id) => json(
            StatusCode::OK,
            serde_json::to_vec(&serde_json::json!({ "stream": id, "deleted": true })).unwrap_or_default(),
        ),
        Ok(()) => reseed(&id, &Missing::Unknown, shared.streams.idle),
    };
    shared.followed.set(shared.streams.len() as i64);
    shared.count("DELETE", response.status());
    response
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
