//! Prometheus text metrics of one node. Each node keeps its own counters (the demo runs ten
//! nodes in one process, so a process-global recorder would mix them).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Counters of one node, rendered in the Prometheus text exposition format.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
}

const HELP: &[(&str, &str)] = &[
    (
        "silkgate_http_requests_total",
        "HTTP requests answered, by route class and status class.",
    ),
    (
        "silkgate_transfers_total",
        "Transfers finished on this node as provider, by state pair and outcome.",
    ),
    (
        "silkgate_transfer_bytes_total",
        "Encrypted payload bytes sent (provider) or received (consumer), by state pair.",
    ),
    (
        "silkgate_federation_calls_total",
        "Calls to peer nodes, by peer state and outcome.",
    ),
];

impl Metrics {
    /// Adds `n` to counter `name` with the given label pairs.
    pub fn add(&self, name: &'static str, labels: &[(&str, &str)], n: u64) {
        let mut key = String::new();
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                key.push(',');
            }
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let _ = write!(key, "{k}=\"{v}\"");
        }
        let mut c = self
            .counters
            .lock()
            .expect("metrics lock is never poisoned: no panics while held");
        *c.entry((name, key)).or_default() += n;
    }

    /// The current value of a counter (tests and the demo summary).
    pub fn get(&self, name: &'static str, labels: &[(&str, &str)]) -> u64 {
        let key = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect::<Vec<_>>()
            .join(",");
        self.counters
            .lock()
            .expect("metrics lock is never poisoned")
            .get(&(name, key))
            .copied()
            .unwrap_or(0)
    }

    /// Renders all counters.
    pub fn render(&self) -> String {
        let c = self
            .counters
            .lock()
            .expect("metrics lock is never poisoned");
        let mut out = String::new();
        for (name, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for ((n, labels), v) in c.iter() {
                if n == name {
                    if labels.is_empty() {
                        let _ = writeln!(out, "{name} {v}");
                    } else {
                        let _ = writeln!(out, "{name}{{{labels}}} {v}");
                    }
                }
            }
        }
        out
    }
}
