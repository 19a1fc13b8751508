//! Prometheus metrics: what the server counts, and the text it serves at
//! `/metrics` on the metrics address.
//!
//! Every label is drawn from a closed set (route templates, method names,
//! status codes, error codes), so no client can grow the label set by
//! sending odd paths; no raw path or token is ever a label.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use casting_core::Backend;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The labels of a request count.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

/// The label of a per-route histogram.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

/// An outcome: `ok` or the contract's error code.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// A kind of record.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// The version this binary was built from.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

fn seconds_histogram() -> Histogram {
    // 50 µs to about 13 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 19))
}

/// Every metric of the server; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    tokens: Family<OutcomeLabels, Counter>,
    key_set_fetches: Family<OutcomeLabels, Counter>,
    commit_seconds: Histogram,
    batch_size: Histogram,
    records: Family<KindLabels, Gauge>,
    cache_hits: Counter,
    cache_misses: Counter,
    log_lines_dropped: Counter,
    /// The dropped-line count last added to the counter, so each scrape
    /// adds only what is new.
    dropped_seen: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric at zero, registered under its `casting_` name.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("casting");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Requests answered, by route template, method and status",
            requests.clone(),
        );
        let durations =
            Family::<RouteLabels, Histogram>::new_with_constructor(seconds_histogram as fn() -> _);
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its answer, by route template",
            durations.clone(),
        );
        let tokens = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "token_verifications",
            "Bearer tokens checked, by outcome: ok or the error code",
            tokens.clone(),
        );
        let key_set_fetches = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "key_set_fetches",
            "Fetches of the issuer's key set, by outcome: ok or error",
            key_set_fetches.clone(),
        );
        let commit_seconds = seconds_histogram();
        registry.register(
            "store_commit_duration_seconds",
            "Time of one durable commit of the store, fsync included",
            commit_seconds.clone(),
        );
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 9));
        registry.register(
            "store_batch_size",
            "Writes carried by one commit",
            batch_size.clone(),
        );
        let records = Family::<KindLabels, Gauge>::default();
        registry.register("records", "Records in the store, by kind", records.clone());
        let cache_hits = Counter::default();
        registry.register(
            "response_cache_hits",
            "Reads answered from the response cache",
            cache_hits.clone(),
        );
        let cache_misses = Counter::default();
        registry.register(
            "response_cache_misses",
            "Cacheable reads the response cache could not answer",
            cache_misses.clone(),
        );
        let log_lines_dropped = Counter::default();
        registry.register(
            "log_lines_dropped",
            "Log lines lost because the log sink failed or fell behind",
            log_lines_dropped.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register("build_info", "The version of this build", build);
        Metrics {
            registry,
            requests,
            durations,
            tokens,
            key_set_fetches,
            commit_seconds,
            batch_size,
            records,
            cache_hits,
            cache_misses,
            log_lines_dropped,
            dropped_seen: AtomicU64::new(0),
        }
    }

    /// Counts one answered request.
    pub fn request(&self, route: &'static str, method: &'static str, status: u16, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels { route })
            .observe(took.as_secs_f64());
    }

    /// Counts one token check: `ok` or the error code.
    pub fn token(&self, outcome: &'static str) {
        self.tokens.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// Counts one key-set fetch.
    pub fn key_set_fetch(&self, ok: bool) {
        let outcome = if ok { "ok" } else { "error" };
        self.key_set_fetches
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Records one commit of `writes` writes that took `took`.
    pub fn commit(&self, writes: usize, took: Duration) {
        self.commit_seconds.observe(took.as_secs_f64());
        self.batch_size.observe(writes as f64);
    }

    /// Counts a read answered from the response cache, or not.
    pub fn cache(&self, hit: bool) {
        if hit {
            self.cache_hits.inc();
        } else {
            self.cache_misses.inc();
        }
    }

    /// The exposition in the Prometheus text format, with the record
    /// counts of `store` and the dropped log lines `dropped` read now.
    pub fn render(&self, store: Option<&dyn Backend>, dropped: u64) -> String {
        if let Some(counts) = store.and_then(|store| store.counts().ok()) {
            let set = |kind, n: u64| {
                self.records
                    .get_or_create(&KindLabels { kind })
                    .set(i64::try_from(n).unwrap_or(i64::MAX))
            };
            set("movie", counts.movies);
            set("actor", counts.actors);
        }
        let seen = self.dropped_seen.swap(dropped, Ordering::Relaxed);
        self.log_lines_dropped.inc_by(dropped.saturating_sub(seen));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode_registry(&mut text, &self.registry);
        text
    }
}

/// A shared handle, as the server passes it around.
pub type SharedMetrics = Arc<Metrics>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_every_metric_of_the_contract() {
        let metrics = Metrics::new();
        metrics.request("/movies/{id}", "GET", 200, Duration::from_micros(120));
        metrics.token("ok");
        metrics.token("invalid_claims");
        metrics.key_set_fetch(false);
        metrics.commit(3, Duration::from_millis(2));
        metrics.cache(true);
        metrics.cache(false);

        let text = metrics.render(None, 5);

        for expected in [
            r#"casting_http_requests_total{route="/movies/{id}",method="GET",status="200"} 1"#,
            r#"casting_http_request_duration_seconds_count{route="/movies/{id}"} 1"#,
            r#"casting_token_verifications_total{outcome="invalid_claims"} 1"#,
            r#"casting_key_set_fetches_total{outcome="error"} 1"#,
            "casting_store_commit_duration_seconds_count 1",
            "casting_store_batch_size_sum 3",
            "casting_response_cache_hits_total 1",
            "casting_response_cache_misses_total 1",
            "casting_log_lines_dropped_total 5",
            "casting_build_info{version=",
        ] {
            assert!(text.contains(expected), "{expected} is not in\n{text}");
        }
    }

    #[test]
    fn dropped_lines_are_added_once_per_scrape() {
        let metrics = Metrics::new();
        metrics.render(None, 5);
        let text = metrics.render(None, 7);
        assert!(text.contains("casting_log_lines_dropped_total 7"), "{text}");
    }
}
