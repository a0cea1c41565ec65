//! Organisation pages' render time with many transfers in the node's store: every one of them
//! counts, for the header, what needs the organisation's attention.
//!
//! `cargo bench -p silkgate-portal --bench org` (argument or `SILKGATE_BENCH_TRANSFERS`: number
//! of transfers, default 100,000). The same store as the dashboard bench (a year of transfers,
//! nine partner states, 50 organisations, every status: a fifth await a decision), signs in an
//! administrator of an organisation whose 1,333 transfers as provider all await its decision,
//! and times full renders of the home page (the header's count alone), the notifications, the
//! requests to decide and the proposal form.

use silkgate_store::PortalRole;

mod common;

#[tokio::main]
async fn main() {
    let seeded = common::seeded().await;
    let cookie = seeded
        .sign_in("bench-admin", PortalRole::OrgAdmin, Some(4))
        .await;
    seeded
        .print_renders(
            &cookie,
            &[
                ("/portal/", 20),
                ("/portal/notifications", 10),
                ("/portal/requests", 10),
                ("/portal/agreements/new", 10),
            ],
        )
        .await;
    seeded.fed.shutdown();
}
