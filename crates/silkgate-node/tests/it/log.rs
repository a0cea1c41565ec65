//! The node's transparency log: every acknowledged change is logged, the C2SP tile API serves
//! a tree an outside auditor can rebuild, and a rewritten entry is caught.

use std::collections::HashMap;

use silkgate_log::tile::audit_order;
use silkgate_log::{
    Entry, Hash, LogTrust, StorageError, TileId, TileSource, VerifiedCheckpoint, audit_tiles,
};
use silkgate_model::{NewEvent, Visibility};
use silkgate_node::local::LocalNode;
use silkgate_node::log_service::log_verifier;

use crate::harness::*;

/// A client of the public `/log/` API that trusts the node's CA.
fn http(node: &LocalNode) -> reqwest::Client {
    let config = silkgate_node::tls::org_client_config(&node.ca_cert_pem, None).unwrap();
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .build()
        .unwrap()
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, Option<String>, Vec<u8>) {
    let resp = client.get(url).send().await.unwrap();
    let status = resp.status().as_u16();
    let cache = resp
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, cache, resp.bytes().await.unwrap().to_vec())
}

fn trust_for(node: &LocalNode) -> LogTrust {
    let state = &node.running.state;
    let key = silkgate_node::parse_verifying_key(
        &state
            .trust_list()
            .document
            .node(state.node_id())
            .unwrap()
            .signing_key,
    )
    .unwrap();
    LogTrust {
        origin: state.log().origin().to_owned(),
        log_keys: vec![log_verifier(state.node_id(), &key).unwrap()],
        witness_keys: vec![],
        quorum: 0,
    }
}

struct Prefetched(HashMap<String, Vec<u8>>);

impl TileSource for Prefetched {
    fn fetch(&mut self, tile: &TileId) -> Result<Vec<u8>, StorageError> {
        self.0
            .get(&tile.path())
            .cloned()
            .ok_or(StorageError::Missing { what: tile.path() })
    }
}

/// Fetches the checkpoint and every tile over HTTPS, checks the signature and rebuilds the
/// root; returns the verified size and root, or the audit error's text.
async fn audit(node: &LocalNode) -> Result<(u64, Hash), String> {
    let client = http(node);
    let (status, cache, body) = get(&client, &format!("{}/log/checkpoint", node.url)).await;
    assert_eq!(status, 200);
    assert_eq!(cache.as_deref(), Some("no-cache"));
    let cp = VerifiedCheckpoint::open(&body, &trust_for(node)).map_err(|e| e.to_string())?;
    let size = cp.checkpoint().size();
    let mut tiles = HashMap::new();
    for tile in audit_order(size, true) {
        let (status, cache, bytes) =
            get(&client, &format!("{}/log/{}", node.url, tile.path())).await;
        assert_eq!(status, 200, "{}", tile.path());
        let expected = if tile.width == 256 {
            "public, max-age=31536000, immutable"
        } else {
            "public, max-age=60"
        };
        assert_eq!(cache.as_deref(), Some(expected), "{}", tile.path());
        tiles.insert(tile.path(), bytes);
    }
    let root = *cp.checkpoint().root();
    audit_tiles(size, &root, &[], true, &mut Prefetched(tiles), &mut |_| {})
        .map_err(|e| e.to_string())?;
    Ok((size, root))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_are_logged_and_the_tile_api_rebuilds_the_tree() {
    let fed = federation(&["KZ", "CN"]).await;
    let kz_node = fed.fed.node("KZ");
    let state = &kz_node.running.state;
    let kz = org(&fed, "KZ", "Steppe Grain Exporters").await;
    publish(&kz, "grain-2025", "Grain 2025", Visibility::Federation).await;

    // Acknowledged: so every event committed so far is already in the log.
    let last = state.store().last_event_seq().await.unwrap();
    assert!(last >= 3, "trust list, registration, publication: {last}");
    assert!(state.log().size() >= last as u64);
    let events = state.store().events(0, 1000).await.unwrap();
    let entries = state.store().log_entries(0..last as u64).await.unwrap();
    for (event, bytes) in events.iter().zip(&entries) {
        let entry = Entry::parse(bytes).unwrap();
        assert_eq!(entry.kind().as_str(), event.kind);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains(&format!("id seq {}\n", event.seq)), "{text}");
        // No organisation names or contacts reach the log.
        assert!(!text.contains("Steppe"), "{text}");
        assert!(!text.contains("dpo@"), "{text}");
    }

    // Enough events for full tiles (width 256) and a partial one, written as the delivery
    // worker does (no request waits): the sequencer logs them by itself.
    let mut tx = state.store().begin().await.unwrap();
    for i in 0..600 {
        tx.append_event(&NewEvent::new(
            "test.tick",
            format!("tick-{i}"),
            serde_json::json!({"n": i}),
        ))
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let target = state.store().last_event_seq().await.unwrap() as u64;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while state.log().size() < target {
        assert!(std::time::Instant::now() < deadline, "sequencer stalled");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The checkpoint may lag the sequencer by one signature; sync makes it current.
    state.log().sync(state.store()).await.unwrap();
    let (size, root) = audit(kz_node).await.unwrap();
    assert_eq!(size, target);

    // Malformed and unpublished tiles are refused with a reason, never served.
    let client = http(kz_node);
    for bad in [
        "tile/0/x",
        "tile/0/999",
        "tile/0/000.p/0",
        "tile/entries/5",
        "tile/9/0",
    ] {
        let (status, _, body) = get(&client, &format!("{}/log/{bad}", kz_node.url)).await;
        assert_eq!(status, 404, "{bad}");
        assert!(!body.is_empty(), "{bad} has a reason");
    }

    // An operator rewrites entry 5 and its leaf hash in the database: the published
    // checkpoint no longer matches the tiles.
    let forged = Entry::builder(silkgate_log::EventKind::new("test.forged").unwrap(), 0)
        .build()
        .unwrap()
        .to_bytes();
    let leaf = silkgate_log::leaf_hash(&forged);
    state
        .store()
        .danger_log_overwrite(5, &forged, &[(0, 5, leaf.0)])
        .await
        .unwrap();
    let err = audit(kz_node).await.unwrap_err();
    assert!(err.contains("root") || err.contains("tile"), "{err}");
    let _ = root;
}

/// Polls `f` until it returns `Some`, for at most `secs` seconds.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    secs: u64,
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn witness_keys(fed: &Fed, except: &str) -> Vec<silkgate_log::VerifierKey> {
    fed.fed
        .nodes
        .values()
        .map(|n| &n.running.state)
        .filter(|s| s.node_id() != except)
        .map(|s| {
            let node = s.trust_list().document.node(s.node_id()).unwrap().clone();
            let key = silkgate_node::parse_verifying_key(&node.signing_key).unwrap();
            silkgate_node::log_service::witness_verifier(&node.node_id, &key).unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_states_witness_each_other_receipts_verify_and_a_rewrite_is_refused_everywhere() {
    let fed = federation(&["KZ", "CN", "RU", "KG", "TJ"]).await;
    let kz_node = fed.fed.node("KZ");
    let kz_state = &kz_node.running.state;
    let kz = org(&fed, "KZ", "Steppe Grain Exporters").await;
    let cn = org(&fed, "CN", "Silk Road Logistics").await;
    let (grain, _) = publish(&kz, "grain-2025", "Grain 2025", Visibility::Federation).await;
    let t = request(&cn, &kz, &grain, "req-1").await;
    kz.client.decide(&t.id, &approve("decide-1")).await.unwrap();
    cn.client
        .wait_final(&t.id, std::time::Duration::from_secs(20))
        .await
        .unwrap();

    // Every node's events are all logged, and KZ's checkpoint reaches the default quorum
    // (a majority of the four others: three).
    for node in fed.fed.nodes.values() {
        let s = &node.running.state;
        let last = s.store().last_event_seq().await.unwrap() as u64;
        eventually(10, "events logged", || async {
            (s.log().size() >= last).then_some(())
        })
        .await;
    }
    let mut trust = trust_for(kz_node);
    trust.witness_keys = witness_keys(&fed, kz_state.node_id());
    trust.quorum = 3;

    // The provider's operator gets a receipt bundle for the transfer once a final
    // checkpoint covers it; it verifies offline with keys and quorum only.
    let client = http(kz_node);
    let receipt_url = format!("{}/api/v1/transfers/{}/log-receipt", kz_node.url, t.id);
    let bytes = eventually(20, "a final checkpoint covering the transfer", || {
        let client = client.clone();
        let url = receipt_url.clone();
        let token = kz_node.operator_token.clone();
        async move {
            let resp = client.get(&url).bearer_auth(token).send().await.unwrap();
            if resp.status() == 200 {
                Some(resp.bytes().await.unwrap().to_vec())
            } else {
                assert_eq!(resp.status(), 409, "not final yet");
                None
            }
        }
    })
    .await;
    let receipt = silkgate_log::Receipt::parse(&bytes).unwrap();
    let verified = receipt.verify(&trust).unwrap();
    assert!(verified.entry.kind().as_str().starts_with("transfer."));
    // A receipt demanding more witnesses than exist fails.
    let mut strict = trust.clone();
    strict.quorum = 5;
    assert!(receipt.verify(&strict).is_err());
    let (size_before, root_before) = audit(kz_node).await.unwrap();

    // KZ's operator rewrites an old entry in the database, recomputes every hash and
    // re-signs a checkpoint of the same size: a fork of what the witnesses cosigned.
    let mut entries = kz_state.store().log_entries(0..size_before).await.unwrap();
    entries[1] = Entry::builder(silkgate_log::EventKind::new("test.forged").unwrap(), 0)
        .build()
        .unwrap()
        .to_bytes();
    let mut frontier = silkgate_log::Frontier::empty();
    let mut hashes = Vec::new();
    for e in &entries {
        frontier.append(silkgate_log::leaf_hash(e), &mut hashes);
    }
    let rows: Vec<(u8, u64, [u8; 32])> = hashes
        .iter()
        .map(|(id, h)| (id.level, id.index, h.0))
        .collect();
    kz_state
        .store()
        .danger_log_overwrite(1, &entries[1], &rows)
        .await
        .unwrap();
    kz_state
        .log()
        .danger_reload_and_sign(kz_state.store())
        .await
        .unwrap();

    // Every witness refuses, keeps both checkpoints and alerts its operator; the alert is
    // itself in the witness's log.
    for (code, node) in &fed.fed.nodes {
        if code.as_str() == "KZ" {
            continue;
        }
        let op = http(node);
        let url = format!("{}/api/v1/log/alerts", node.url);
        let alerts: Vec<serde_json::Value> = eventually(20, "witness alert", || {
            let op = op.clone();
            let url = url.clone();
            let token = node.operator_token.clone();
            async move {
                let v: Vec<serde_json::Value> = op
                    .get(&url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                (!v.is_empty()).then_some(v)
            }
        })
        .await;
        assert_eq!(alerts[0]["origin"], kz_state.log().origin(), "{code}");
        assert!(
            alerts[0]["reason"].as_str().unwrap().contains("fork"),
            "{alerts:?}"
        );
        assert_ne!(
            alerts[0]["known_checkpoint"],
            alerts[0]["offered_checkpoint"]
        );
        let s = &node.running.state;
        let events = s.store().events(0, 10_000).await.unwrap();
        let alert = events.iter().find(|e| e.kind == "log.alert").unwrap();
        s.log().wait_logged(s.store(), alert.seq).await.unwrap();
        let logged = s
            .store()
            .log_entries(alert.seq as u64 - 1..alert.seq as u64)
            .await
            .unwrap();
        assert_eq!(
            Entry::parse(&logged[0]).unwrap().kind().as_str(),
            "log.alert"
        );
        assert_eq!(
            events.iter().filter(|e| e.kind == "log.alert").count(),
            1,
            "one alert per offending checkpoint, however often it is offered"
        );
    }
    // An auditor who verified the log before sees the same size with another root.
    let (size_after, root_after) = audit(kz_node).await.unwrap();
    assert_eq!(size_after, size_before);
    assert_ne!(root_after, root_before, "history was rewritten");
    // The forged checkpoint never gathers cosignatures.
    let cp = silkgate_log::Note::parse(&kz_state.log().checkpoint_bytes()).unwrap();
    assert_eq!(cp.signatures().len(), 1, "only the log's own signature");
}
