//! A head's Prometheus endpoint. The head measures once per tick (workers' reports, the
//! ledger, budgets, alerts) into a `Snapshot`; a scrape encodes the latest one through
//! `prometheus-client` as a collector of constant metrics, the way an exporter serves
//! values measured elsewhere. The server is axum on a small tokio runtime of its own
//! thread, so a slow scrape never holds up the head's loop.

use axum::extract::RawQuery;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, RwLock};

pub mod names;

pub use names::series;

/// Label names and values of one sample.
pub type Labels = Vec<(String, String)>;

/// One sample's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Gauge(f64),
    Counter(f64),
    /// Sum, count, and the count in each bucket by its upper bound (the last bound
    /// `f64::MAX`, which the encoder writes `+Inf`); the encoder makes them cumulative.
    Histogram {
        sum: f64,
        count: u64,
        buckets: Vec<(f64, u64)>,
    },
}

/// A metric family: its name, help and samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub samples: Vec<(Labels, Value)>,
}

/// What the head measured at its last tick.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub families: Vec<Family>,
}

impl Snapshot {
    /// Adds a sample to the family `name`, creating the family on first use.
    pub fn add(&mut self, name: &'static str, help: &'static str, labels: &[(&str, &str)], value: Value) {
        let labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        match self.families.iter_mut().find(|f| f.name == name) {
            Some(f) => f.samples.push((labels, value)),
            None => self.families.push(Family { name, help, samples: vec![(labels, value)] }),
        }
    }
}

/// The latest snapshot, shared by the head (which writes it) and the server (which reads it).
#[derive(Clone, Debug, Default)]
pub struct Shared(Arc<RwLock<Snapshot>>);

impl Shared {
    /// Replaces the snapshot a scrape serves.
    pub fn publish(&self, snapshot: Snapshot) {
        if let Ok(mut s) = self.0.write() {
            *s = snapshot;
        }
    }
}

impl Collector for Shared {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Ok(snapshot) = self.0.read() else { return Ok(()) };
        for family in &snapshot.families {
            let Some((_, first)) = family.samples.first() else { continue };
            let kind = match first {
                Value::Gauge(_) => MetricType::Gauge,
                Value::Counter(_) => MetricType::Counter,
                Value::Histogram { .. } => MetricType::Histogram,
            };
            let mut metric = encoder.encode_descriptor(family.name, family.help, None, kind)?;
            for (labels, value) in &family.samples {
                let sample = metric.encode_family(labels)?;
                match value {
                    Value::Gauge(v) => ConstGauge::new(*v).encode(sample)?,
                    Value::Counter(v) => ConstCounter::new(*v).encode(sample)?,
                    Value::Histogram { sum, count, buckets } => {
                        let mut sample = sample;
                        sample.encode_histogram::<Labels>(*sum, *count, buckets, None)?
                    }
                }
            }
        }
        Ok(())
    }
}

/// The text a scrape gets (OpenMetrics, which Prometheus 2.x reads).
pub fn render(shared: &Shared) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(shared.clone()));
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
    out
}

/// Binds `address` (or, when its port is taken and `fallback` allows, any free port on the
/// same interface) and serves `/metrics` from `shared` on a thread of its own until the
/// process exits. The address it serves on. A scrape that names another stack
/// (`/metrics?stack=OTHER`, as `gaform export monitor`'s configuration asks) is refused
/// with a 404, so a Prometheus aimed at a port another stack's head took never mixes the
/// two stacks' series.
pub fn serve(shared: Shared, address: SocketAddr, fallback: bool, stack: &str) -> Result<SocketAddr, String> {
    let listener = match TcpListener::bind(address) {
        Ok(l) => l,
        Err(e) if fallback && e.kind() == std::io::ErrorKind::AddrInUse => {
            TcpListener::bind(SocketAddr::new(address.ip(), 0)).map_err(|e| format!("{address}: {e}"))?
        }
        Err(e) => return Err(format!("cannot serve metrics on {address}: {e}")),
    };
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let stack = stack.to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| format!("cannot start the metrics server: {e}"))?;
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                let app = Router::new()
                    .route("/metrics", get(move |query| scrape(shared.clone(), stack.clone(), query)))
                    .route("/", get(|| async { "gaform head: metrics at /metrics\n" }));
                let _ = axum::serve(listener, app).await;
            })
        })
        .map_err(|e| format!("cannot start the metrics server: {e}"))?;
    Ok(bound)
}

async fn scrape(shared: Shared, stack: String, RawQuery(query): RawQuery) -> axum::response::Response {
    // Stack names are file stems, which the configuration writes as they are.
    let asked = query.as_deref().unwrap_or_default().split('&').find_map(|p| p.strip_prefix("stack="));
    if let Some(asked) = asked.filter(|asked| *asked != stack) {
        let said = format!("this is stack `{stack}`'s head, not stack `{asked}`'s\n");
        return (StatusCode::NOT_FOUND, said).into_response();
    }
    ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], render(&shared))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_renders_as_openmetrics_text() {
        let shared = Shared::default();
        let mut s = Snapshot::default();
        s.add("gaform_generation", "Generation.", &[("job", "j")], Value::Gauge(4.0));
        s.add("gaform_backtests", "Backtests.", &[("job", "j")], Value::Counter(12.0));
        let buckets = vec![(0.001, 3), (f64::MAX, 1)];
        s.add(
            "gaform_eval_seconds",
            "Eval.",
            &[("job", "j")],
            Value::Histogram { sum: 0.5, count: 4, buckets },
        );
        shared.publish(s);
        let text = render(&shared);
        assert!(
            text.contains("# TYPE gaform_generation gauge\ngaform_generation{job=\"j\"} 4.0\n"),
            "{text}"
        );
        assert!(text.contains("gaform_backtests_total{job=\"j\"} 12.0"), "{text}");
        assert!(text.contains("gaform_eval_seconds_bucket{le=\"0.001\",job=\"j\"} 3"), "{text}");
        assert!(text.contains("gaform_eval_seconds_bucket{le=\"+Inf\",job=\"j\"} 4"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
