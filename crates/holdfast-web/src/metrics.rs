//! Prometheus text at `/metrics`: requests by route and status, a latency histogram per route,
//! and the store's pool.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, ([u64; BUCKETS.len()], u64, f64)>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, took: Duration) {
        let mut c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *c.requests.entry((method.to_owned(), route.to_owned(), status)).or_default() += 1;
        let s = took.as_secs_f64();
        let h = c.latency.entry(route.to_owned()).or_insert(([0; BUCKETS.len()], 0, 0.0));
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                h.0[i] += 1;
            }
        }
        h.1 += 1;
        h.2 += s;
    }

    /// The exposition text, with the pool's figures `(size, idle)`.
    pub fn render(&self, pool: (u32, usize)) -> String {
        let c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut s = String::new();
        let _ = writeln!(s, "# HELP holdfast_http_requests_total HTTP requests by method, route and status.\n# TYPE holdfast_http_requests_total counter");
        for ((m, r, st), n) in &c.requests {
            let _ = writeln!(s, "holdfast_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{st}\"}} {n}", esc(r));
        }
        let _ = writeln!(s, "# HELP holdfast_http_request_duration_seconds Time to answer, by route.\n# TYPE holdfast_http_request_duration_seconds histogram");
        for (r, (buckets, count, sum)) in &c.latency {
            for (b, n) in BUCKETS.iter().zip(buckets) {
                let _ = writeln!(s, "holdfast_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{b}\"}} {n}", esc(r));
            }
            let _ = writeln!(s, "holdfast_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {count}", esc(r));
            let _ = writeln!(s, "holdfast_http_request_duration_seconds_sum{{route=\"{}\"}} {sum}", esc(r));
            let _ = writeln!(s, "holdfast_http_request_duration_seconds_count{{route=\"{}\"}} {count}", esc(r));
        }
        let _ = writeln!(s, "# HELP holdfast_store_pool_connections Connections the store's pool holds.\n# TYPE holdfast_store_pool_connections gauge");
        let _ = writeln!(s, "holdfast_store_pool_connections {}", pool.0);
        let _ = writeln!(s, "# HELP holdfast_store_pool_idle Idle connections in the store's pool.\n# TYPE holdfast_store_pool_idle gauge");
        let _ = writeln!(s, "holdfast_store_pool_idle {}", pool.1);
        s
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
