//! What the portal's benches share: one KZ node with the portal whose store holds many
//! transfers (spread over a year, nine partner states, 50 organisations, every status), a
//! person signed in, and timed full page renders through the node's router.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use silkgate_model::{
    MEMBER_STATES, OrgId, Organisation, Sector, StateCode, Transfer, TransferStatus,
};
use silkgate_node::NodeState;
use silkgate_node::local::LocalFederation;
use silkgate_portal::auth;
use silkgate_store::{PortalRole, TransferRole};
use tower::ServiceExt as _;

const STATUSES: [TransferStatus; 5] = [
    TransferStatus::Delivered,
    TransferStatus::Delivered,
    TransferStatus::Denied,
    TransferStatus::Approved,
    TransferStatus::AwaitingDecision,
];

fn org(state: StateCode, n: u32) -> Organisation {
    let mut id = [0u8; 16];
    id[..4].copy_from_slice(&n.to_be_bytes());
    Organisation {
        id: OrgId::generate(state, id),
        name: format!("Org {n}"),
        registration_number: format!("R{n}"),
        sector: Sector::ALL[n as usize % Sector::ALL.len()],
        contact: "x".into(),
        hpke_public_key: "00".repeat(32),
        registered_at: 0,
    }
}

async fn time_get(
    router: &axum::Router,
    path: &str,
    cookie: &str,
    runs: usize,
) -> (Vec<Duration>, usize) {
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..runs {
        let req = Request::get(path)
            .header(header::COOKIE, format!("{}={cookie}", auth::SESSION_COOKIE))
            .body(Body::empty())
            .unwrap();
        let t = Instant::now();
        let resp = router.clone().oneshot(req).await.unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        times.push(t.elapsed());
        size = body.len();
    }
    times.sort();
    (times, size)
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A node seeded with `n` transfers; the directory lives as long as this does.
pub struct Seeded {
    _dir: tempfile::TempDir,
    /// The one-node federation.
    pub fed: LocalFederation,
    /// The KZ node.
    pub state: NodeState,
    /// The KZ node's own organisations.
    orgs: Vec<Organisation>,
    /// Number of transfers stored.
    pub n: usize,
}

/// The number of transfers to store: the first argument, else `SILKGATE_BENCH_TRANSFERS`,
/// else 100,000.
fn transfers_arg() -> usize {
    std::env::args()
        .nth(1)
        .filter(|a| !a.starts_with('-'))
        .or_else(|| std::env::var("SILKGATE_BENCH_TRANSFERS").ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000)
}

/// Starts the node and stores the transfers (the count from [`transfers_arg`]).
pub async fn seeded() -> Seeded {
    let n = transfers_arg();
    let dir = tempfile::tempdir().unwrap();
    let kz: StateCode = "KZ".parse().unwrap();
    let fed = LocalFederation::start(
        dir.path(),
        &[kz],
        silkgate_portal::node_options(Default::default()),
    )
    .await
    .unwrap();
    let state = fed.node("KZ").running.state.clone();
    let store = state.store();
    let orgs: Vec<Organisation> = (0..50).map(|i| org(kz, i)).collect();
    let partners: Vec<StateCode> = MEMBER_STATES.iter().copied().filter(|s| *s != kz).collect();
    let foreign: Vec<Organisation> = partners
        .iter()
        .enumerate()
        .map(|(i, s)| org(*s, 1000 + i as u32))
        .collect();
    let t = Instant::now();
    let mut tx = store.begin().await.unwrap();
    for (i, o) in orgs.iter().enumerate() {
        tx.insert_organisation(o, &format!("tok{i}"), "c")
            .await
            .unwrap();
    }
    let now = store.clock().now_unix();
    for i in 0..n {
        let local = &orgs[i % orgs.len()];
        let other = &foreign[(i / 7) % foreign.len()];
        let outbound = i % 3 != 0;
        let (provider, consumer, role) = if outbound {
            (local, other, TransferRole::Provider)
        } else {
            (other, local, TransferRole::Consumer)
        };
        let tr = Transfer {
            id: format!("tr-{i:08}"),
            consumer: consumer.id.clone(),
            provider: provider.id.clone(),
            dataset_id: format!("ds-{}", i % 500),
            sha256: "00".repeat(32),
            purpose: "benchmark".into(),
            consumer_hpke_key: "00".repeat(32),
            status: STATUSES[i % STATUSES.len()],
            reason: None,
            requested_at: now - (i as i64 * 365 * 86_400 / n as i64),
        };
        tx.insert_transfer(&tr, role).await.unwrap();
        if i % 20_000 == 19_999 {
            tx.commit().await.unwrap();
            tx = store.begin().await.unwrap();
        }
    }
    tx.commit().await.unwrap();
    eprintln!("stored {n} transfers in {:.1} s", t.elapsed().as_secs_f64());

    Seeded {
        _dir: dir,
        fed,
        state,
        orgs,
        n,
    }
}

impl Seeded {
    /// Creates an account with `role` (of the node's organisation number `org`, if any),
    /// signs it in with its TOTP code, and returns the session cookie's value.
    pub async fn sign_in(&self, login: &str, role: PortalRole, org: Option<usize>) -> String {
        let store = self.state.store();
        let created = auth::create_account(
            store,
            auth::NewAccount {
                login: login.into(),
                display_name: "Bench".into(),
                role,
                org_id: org.map(|i| self.orgs[i].id.clone()),
                password: "benchmark password".into(),
            },
            "bench",
        )
        .await
        .unwrap();
        let code = auth::current_code(&created.totp_secret, store.clock()).unwrap();
        auth::sign_in(
            store,
            login,
            "benchmark password",
            &code,
            store.clock().now_unix(),
        )
        .await
        .unwrap()
        .unwrap()
        .cookie_value
    }

    /// Renders each page once to warm caches, then `runs` times, and prints min / median /
    /// max and the page's size.
    pub async fn print_renders(&self, cookie: &str, pages: &[(&str, usize)]) {
        let router = silkgate_node::app(self.state.clone());
        println!(
            "portal render times with {} transfers in the store (ms: min / median / max, page bytes)",
            self.n
        );
        for &(path, runs) in pages {
            let _ = time_get(&router, path, cookie, 1).await;
            let (times, size) = time_get(&router, path, cookie, runs).await;
            println!(
                "  {path:<58} {:>7.1} / {:>7.1} / {:>7.1}   {size} B",
                ms(times[0]),
                ms(times[times.len() / 2]),
                ms(times[times.len() - 1])
            );
        }
    }
}
