//! The host's metrics, in the Prometheus text format (`GET /metrics`), named
//! by one convention (the host README): a `junction_` prefix, counters
//! ending `_total`, durations in seconds as `_seconds` histograms with the
//! fixed buckets [`BUCKETS`], label names lowercase snake case.
//!
//! One process-wide set ([`global`]), so that the runner, the store's
//! callers and the API record without holding a handle. Recording costs an
//! atomic add or two: series with fixed labels (HTTP answers, store
//! operations, webhook outcomes) are arrays of atomics, and those labelled
//! by platform or test are found under a read lock (a write lock only for a
//! series' first observation) and are recorded once per operation or test,
//! never per request. `GET /integrations/{id}` pays one atomic add.

use junction_core::{TestStatus, ValidationTest};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, RwLock};
use std::time::{Duration, Instant};

/// The upper bounds (seconds) of every duration histogram's buckets: from a
/// store's half-millisecond to a slow platform test's minute.
pub const BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// A duration histogram: a count per bucket (cumulated when rendered) and
/// the sum in nanoseconds.
#[derive(Debug, Default)]
pub struct Histogram {
    /// One per bound of [`BUCKETS`], and the last for `+Inf`.
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, c) in self.counts.iter().enumerate() {
            cumulative += c.load(Ordering::Relaxed);
            let le = BUCKETS.get(i).map_or("+Inf".to_owned(), |b| b.to_string());
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
            );
        }
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
    }
}

/// Series of one metric by the values of its labels.
#[derive(Debug)]
struct Family<T, const N: usize> {
    labels: [&'static str; N],
    series: RwLock<BTreeMap<[String; N], Arc<T>>>,
}

impl<T: Default, const N: usize> Family<T, N> {
    fn new(labels: [&'static str; N]) -> Self {
        Family {
            labels,
            series: RwLock::new(BTreeMap::new()),
        }
    }

    fn get(&self, values: [&str; N]) -> Arc<T> {
        let key = values.map(str::to_owned);
        if let Some(s) = self
            .series
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
        {
            return Arc::clone(s);
        }
        let mut all = self
            .series
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(all.entry(key).or_default())
    }

    /// Each series with its labels rendered (`a="x",b="y"`), in label order.
    fn each(&self, mut f: impl FnMut(&str, &T)) {
        let all = self
            .series
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (values, series) in all.iter() {
            let mut labels = String::new();
            for (name, value) in self.labels.iter().zip(values) {
                if !labels.is_empty() {
                    labels.push(',');
                }
                let _ = write!(labels, "{name}=\"{}\"", escape(value));
            }
            f(&labels, series);
        }
    }
}

/// A label value as the text format quotes it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    /// Ended by another host (or a restart) from its journal after its host stopped.
    Recovered,
}

impl Outcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Recovered => "recovered",
        }
    }
}

/// How a recurring validation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecurringOutcome {
    /// Every test passed (or warned).
    Passed,
    /// A test failed.
    Failed,
    /// The run itself could not happen (configuration, store).
    Error,
}

impl RecurringOutcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            RecurringOutcome::Passed => "passed",
            RecurringOutcome::Failed => "failed",
            RecurringOutcome::Error => "error",
        }
    }
}

/// A webhook delivery attempt's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// This attempt failed (it may be retried).
    Failed,
}

impl Delivery {
    const ALL: [Delivery; 2] = [Delivery::Delivered, Delivery::Failed];

    pub const fn as_str(self) -> &'static str {
        match self {
            Delivery::Delivered => "delivered",
            Delivery::Failed => "failed",
        }
    }
}

/// The store's operations that are timed (by the `Store` method's name).
/// Point reads on the request path (`get`, `find_key`) are not: the speed of
/// `GET /integrations/{id}` is measured against the bare handler (issue 19).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    Insert,
    StartOperation,
    RecordValidation,
    RenewLease,
    Finish,
    ClaimExpired,
    JournalWrite,
    ListPage,
    History,
    Peers,
    CountByStatus,
    FinishRevalidation,
    AddTestEvent,
    EventsAfter,
}

impl StoreOp {
    pub const ALL: [StoreOp; 14] = [
        StoreOp::Insert,
        StoreOp::StartOperation,
        StoreOp::RecordValidation,
        StoreOp::RenewLease,
        StoreOp::Finish,
        StoreOp::ClaimExpired,
        StoreOp::JournalWrite,
        StoreOp::ListPage,
        StoreOp::History,
        StoreOp::Peers,
        StoreOp::CountByStatus,
        StoreOp::FinishRevalidation,
        StoreOp::AddTestEvent,
        StoreOp::EventsAfter,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            StoreOp::Insert => "insert",
            StoreOp::StartOperation => "start_operation",
            StoreOp::RecordValidation => "record_validation",
            StoreOp::RenewLease => "renew_lease",
            StoreOp::Finish => "finish",
            StoreOp::ClaimExpired => "claim_expired",
            StoreOp::JournalWrite => "journal_write",
            StoreOp::ListPage => "list_page",
            StoreOp::History => "history",
            StoreOp::Peers => "peers",
            StoreOp::CountByStatus => "count_by_status",
            StoreOp::FinishRevalidation => "finish_revalidation",
            StoreOp::AddTestEvent => "add_test_event",
            StoreOp::EventsAfter => "events_after",
        }
    }
}

/// Every series the host keeps.
#[derive(Debug)]
pub struct Metrics {
    http_requests: AtomicU64,
    http_4xx: AtomicU64,
    http_5xx: AtomicU64,
    operations: Family<AtomicU64, 3>,
    tests: Family<AtomicU64, 3>,
    test_seconds: Family<Histogram, 2>,
    recurring: Family<AtomicU64, 2>,
    webhooks: [AtomicU64; 2],
    store: [Histogram; StoreOp::ALL.len()],
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            http_requests: AtomicU64::new(0),
            http_4xx: AtomicU64::new(0),
            http_5xx: AtomicU64::new(0),
            operations: Family::new(["platform", "operation", "outcome"]),
            tests: Family::new(["platform", "test", "status"]),
            test_seconds: Family::new(["platform", "test"]),
            recurring: Family::new(["platform", "outcome"]),
            webhooks: Default::default(),
            store: Default::default(),
        }
    }
}

/// The process's metrics.
pub fn global() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::default);
    &METRICS
}

/// Times the validation tests of one run, each from the run's start to its
/// result (the tests run at once, so that is a test's own time plus any wait
/// on its prerequisites).
#[derive(Debug)]
pub struct TestTimer<'a> {
    metrics: &'a Metrics,
    platform: String,
    started: Instant,
}

impl TestTimer<'static> {
    /// A run starting now, recorded in the process's metrics.
    pub fn start(platform: &str) -> Self {
        global().test_timer(platform)
    }
}

impl TestTimer<'_> {
    /// A test's result is known.
    pub fn finished(&self, t: &ValidationTest) {
        self.metrics
            .test_finished(&self.platform, &t.name, t.status, self.started.elapsed());
    }
}

impl Metrics {
    /// An HTTP answer went out.
    pub fn http_response(&self, status: u16) {
        self.http_requests.fetch_add(1, Ordering::Relaxed);
        match status {
            400..=499 => self.http_4xx.fetch_add(1, Ordering::Relaxed),
            500..=599 => self.http_5xx.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }

    /// An operation ended.
    pub fn operation(&self, platform: &str, operation: &str, outcome: Outcome) {
        self.operations
            .get([platform, operation, outcome.as_str()])
            .fetch_add(1, Ordering::Relaxed);
    }

    pub fn test_timer(&self, platform: &str) -> TestTimer<'_> {
        TestTimer {
            metrics: self,
            platform: platform.to_owned(),
            started: Instant::now(),
        }
    }

    /// A validation test's result, and how long it took to be known.
    pub fn test_finished(&self, platform: &str, test: &str, status: TestStatus, took: Duration) {
        self.tests
            .get([platform, test, status.as_str()])
            .fetch_add(1, Ordering::Relaxed);
        self.test_seconds.get([platform, test]).observe(took);
    }

    /// A recurring validation ended.
    pub fn recurring(&self, platform: &str, outcome: RecurringOutcome) {
        self.recurring
            .get([platform, outcome.as_str()])
            .fetch_add(1, Ordering::Relaxed);
    }

    /// A webhook delivery attempt ended.
    pub fn webhook_delivery(&self, outcome: Delivery) {
        self.webhooks[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// A store operation took `took`.
    pub fn store(&self, op: StoreOp, took: Duration) {
        self.store[op as usize].observe(took);
    }

    /// The text exposition of every series; `integrations` counts them by
    /// status, `running` the operations this host runs.
    pub fn render(&self, integrations: &[(String, i64)], running: usize) -> String {
        let mut s = String::with_capacity(8 * 1024);
        head(
            &mut s,
            "junction_integrations",
            "gauge",
            "Integrations by status.",
        );
        for (status, n) in integrations {
            let _ = writeln!(
                s,
                "junction_integrations{{status=\"{}\"}} {n}",
                escape(status)
            );
        }
        head(
            &mut s,
            "junction_operations_running",
            "gauge",
            "Operations this host is running.",
        );
        let _ = writeln!(s, "junction_operations_running {running}");
        head(
            &mut s,
            "junction_http_requests_total",
            "counter",
            "HTTP requests answered.",
        );
        let _ = writeln!(
            s,
            "junction_http_requests_total {}",
            self.http_requests.load(Ordering::Relaxed)
        );
        head(
            &mut s,
            "junction_http_responses_total",
            "counter",
            "HTTP answers that were errors, by class.",
        );
        for (class, n) in [("4xx", &self.http_4xx), ("5xx", &self.http_5xx)] {
            let _ = writeln!(
                s,
                "junction_http_responses_total{{class=\"{class}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        counters(
            &mut s,
            "junction_operations_total",
            "Operations ended, by platform, operation and outcome.",
            &self.operations,
        );
        counters(
            &mut s,
            "junction_validation_tests_total",
            "Validation test results, by platform, test and status.",
            &self.tests,
        );
        head(
            &mut s,
            "junction_validation_test_duration_seconds",
            "histogram",
            "Time from a validation run's start to each test's result, by platform and test.",
        );
        self.test_seconds.each(|labels, h| {
            h.render(&mut s, "junction_validation_test_duration_seconds", labels);
        });
        counters(
            &mut s,
            "junction_recurring_validations_total",
            "Recurring validations ended, by platform and outcome.",
            &self.recurring,
        );
        head(
            &mut s,
            "junction_webhook_deliveries_total",
            "counter",
            "Webhook delivery attempts, by outcome.",
        );
        for d in Delivery::ALL {
            let _ = writeln!(
                s,
                "junction_webhook_deliveries_total{{outcome=\"{}\"}} {}",
                d.as_str(),
                self.webhooks[d as usize].load(Ordering::Relaxed)
            );
        }
        head(
            &mut s,
            "junction_store_operation_duration_seconds",
            "histogram",
            "Store operations' durations, by operation.",
        );
        for op in StoreOp::ALL {
            self.store[op as usize].render(
                &mut s,
                "junction_store_operation_duration_seconds",
                &format!("operation=\"{}\"", op.as_str()),
            );
        }
        s
    }
}

fn head(s: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn counters<const N: usize>(s: &mut String, name: &str, help: &str, f: &Family<AtomicU64, N>) {
    head(s, name, "counter", help);
    f.each(|labels, n| {
        let _ = writeln!(s, "{name}{{{labels}}} {}", n.load(Ordering::Relaxed));
    });
}

/// Times a store call into the process's metrics.
pub async fn timed<T>(op: StoreOp, call: impl std::future::Future<Output = T>) -> T {
    let started = Instant::now();
    let out = call.await;
    global().store(op, started.elapsed());
    out
}

/// `GET /metrics`: the process's metrics and the store's counts.
pub async fn scrape(host: &crate::host::Host) -> Result<String, crate::host::HostError> {
    let counts = host.count_by_status().await?;
    let by_status: Vec<(String, i64)> = junction_core::Status::ALL
        .iter()
        .map(|st| {
            let n = counts.iter().find(|(c, _)| c == st).map_or(0, |(_, n)| *n);
            (st.as_str().to_owned(), n)
        })
        .collect();
    Ok(global().render(&by_status, host.running()))
}

mod exposition;
pub use exposition::parse_exposition;

#[cfg(test)]
mod tests;
