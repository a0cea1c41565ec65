//! Regulator dashboard render time with many transfers in the node's store.
//!
//! `cargo bench -p silkgate-portal --bench dashboard` (argument or `SILKGATE_BENCH_TRANSFERS`:
//! number of transfers, default 100,000). Starts one KZ node with the portal, stores the
//! transfers (spread over a year, nine partner states, 50 organisations, every status), signs
//! a regulator in, then times full page renders through the node's router: the dashboard
//! over 365 and 30 days, the first page of the flow list, the CSV export and the authority's
//! agreements page; then the store's dashboard queries alone.

use std::time::Instant;

use silkgate_model::StateCode;
use silkgate_store::PortalRole;

mod common;
use common::ms;

#[tokio::main]
async fn main() {
    let seeded = common::seeded().await;
    let kz: StateCode = "KZ".parse().unwrap();
    let cookie = seeded
        .sign_in("bench-regulator", PortalRole::Regulator, None)
        .await;
    seeded
        .print_renders(
            &cookie,
            &[
                ("/portal/supervision", 20),
                ("/portal/supervision?days=30", 20),
                ("/portal/supervision?days=365&partner=RU&status=denied", 20),
                ("/portal/supervision/flows", 20),
                ("/portal/supervision/flows.csv", 3),
                ("/portal/supervision/agreements", 20),
            ],
        )
        .await;
    // The database's share of the full-year dashboard: its two grouped queries alone, over
    // the same period as the page (from the start of the UTC day a year ago).
    let filter = silkgate_store::FlowFilter {
        since: Some(
            (silkgate_model::Clock::system().now_unix() - 365 * 86_400).div_euclid(86_400) * 86_400,
        ),
        bucket_seconds: Some(7 * 86_400),
        ..Default::default()
    };
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let s = seeded
            .state
            .store()
            .flow_summary(kz, &filter)
            .await
            .unwrap();
        times.push(t.elapsed());
        assert!(!s.groups.is_empty() && !s.buckets.is_empty());
    }
    times.sort();
    println!(
        "  {:<58} {:>7.1} / {:>7.1} / {:>7.1}",
        "store.flow_summary (365 days, weekly buckets)",
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    );
    seeded.fed.shutdown();
}
