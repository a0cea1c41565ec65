//! Transfer benchmarks (run with `cargo bench -p silkgate --bench transfer`; figures go in
//! docs/benchmarks.md):
//!
//! 1. throughput of a 1 GiB dataset between two node processes on loopback (approval to
//!    receipt: review was done at request time; this is encrypt + send + verify + receipt),
//!    next to a plain `curl` download of the same number of bytes over TLS from the same
//!    machine, and the peak resident memory (VmHWM) of both node processes;
//! 2. small-transfer latency: request to receipt for a 10 KiB payload with automated
//!    approval, p50 and p99 over 1,000 transfers;
//! 3. the same under an agreement with every step on (terms, review, rule packs,
//!    de-identification, marking, encryption, log, receipt);
//! 4. the 1 GiB dataset under that agreement, every step on, next to case 1, with the peak
//!    resident memory of both nodes during this case alone.
//!
//! `SILKGATE_BENCH_GIB` changes the large payload size (default 1; fractions allowed), `SILKGATE_BENCH_SMALL_N`
//! the number of small transfers (default 1000). `SILKGATE_BENCH_ONLY` runs only the cases it
//! lists, comma-separated, of `large`, `small`, `agreed-small`, `agreed-large` (default all);
//! e.g. `SILKGATE_BENCH_ONLY=large,agreed-large` for the two 1 GiB figures and their ratio.
//! `SILKGATE_BENCH_PERF=DIR` records both nodes with `perf record -g` during the plain 1 GiB
//! transfer (approval to receipt).

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use silkgate_model::{TrustList, Visibility};
use silkgate_node::api_types::{
    DecisionRequest, PublishMetadata, RegisterOrganisationRequest, TransferRequest,
};
use silkgate_node::client::{CredentialFile, OrgClient};
use silkgate_node::identity::{self, InitOptions, files};

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

async fn operator(dir: &Path) -> OrgClient {
    let id = identity::load_identity(dir).unwrap();
    let token = std::fs::read_to_string(dir.join(files::OPERATOR_TOKEN)).unwrap();
    let client =
        OrgClient::new(&id.config.public_url, &id.ca_cert_pem, token.trim(), None).unwrap();
    while client.trust_list().await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client
}

async fn register(op: &OrgClient, name: &str) -> (OrgClient, CredentialFile) {
    let (sk, pk) = silkgate_node::payload_crypto::generate_keypair();
    let creds = op
        .register_organisation(&RegisterOrganisationRequest {
            request_id: format!("bench-{name}"),
            name: name.into(),
            registration_number: "1".into(),
            sector: "trade".into(),
            contact: "dpo@example.org".into(),
            hpke_public_key: pk,
        })
        .await
        .unwrap();
    let file = CredentialFile {
        credentials: creds,
        hpke_private_key: sk,
    };
    (OrgClient::from_credentials(&file).unwrap(), file)
}

async fn wait_delivered(client: &OrgClient, id: &str) {
    wait_delivered_every(client, id, Duration::from_millis(1)).await;
}

/// Polls the consumer's node for the transfer's status every `pause`: each poll is an HTTPS
/// request and a query on a node that shares the machine's two cores with the transfer, so
/// the 1 GiB cases poll every 10 ms (at most 10 ms late on a run of seconds).
async fn wait_delivered_every(client: &OrgClient, id: &str, pause: Duration) {
    loop {
        if client.transfer(id).await.unwrap().status == "delivered" {
            return;
        }
        tokio::time::sleep(pause).await;
    }
}

/// With `SILKGATE_BENCH_PERF=DIR`, starts `perf record -g` on both node processes
/// (DIR/provider.perf.data, DIR/consumer.perf.data); the times of such a run include
/// perf's overhead.
async fn start_perf(provider: u32, consumer: u32) -> Vec<Child> {
    let Some(dir) = std::env::var_os("SILKGATE_BENCH_PERF") else {
        return Vec::new();
    };
    let perf = [("provider", provider), ("consumer", consumer)]
        .into_iter()
        .map(|(role, pid)| {
            Command::new("perf")
                .args(["record", "-q", "-F", "999", "-g", "-p", &pid.to_string()])
                .arg("-o")
                .arg(Path::new(&dir).join(format!("{role}.perf.data")))
                .stdout(Stdio::null())
                .spawn()
                .expect("perf is installed")
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    perf
}

/// Stops the recordings [`start_perf`] began.
fn stop_perf(perf: Vec<Child>) {
    for mut p in perf {
        let _ = Command::new("kill")
            .args(["-INT", &p.id().to_string()])
            .status();
        let _ = p.wait();
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

#[tokio::main]
async fn main() {
    let gib: f64 = std::env::var("SILKGATE_BENCH_GIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    let small_n: usize = std::env::var("SILKGATE_BENCH_SMALL_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let only = std::env::var("SILKGATE_BENCH_ONLY").unwrap_or_default();
    let run = |case: &str| only.is_empty() || only.split(',').any(|c| c.trim() == case);
    let root = tempfile::tempdir().unwrap();
    let committee = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let mut entries = Vec::new();
    for state in ["KZ", "CN"] {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let id = identity::init_node(&InitOptions {
            state: state.parse().unwrap(),
            dir: root.path().join(state),
            listen: format!("127.0.0.1:{port}"),
            public_url: Some(format!("https://127.0.0.1:{port}")),
            committee_key: Some(committee.verifying_key()),
        })
        .unwrap();
        entries.push(id.trusted_node());
    }
    let list = identity::sign_trust_list(
        TrustList {
            version: 1,
            issued_at: 0,
            nodes: entries,
        },
        &committee,
    )
    .unwrap();
    let (kz_dir, cn_dir) = (root.path().join("KZ"), root.path().join("CN"));
    identity::write_trust_list(&kz_dir, &list).unwrap();
    identity::write_trust_list(&cn_dir, &list).unwrap();
    let spawn = |dir: &Path| {
        Proc(
            Command::new(env!("CARGO_BIN_EXE_silkgate"))
                .arg("node")
                .arg("--dir")
                .arg(dir)
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap(),
        )
    };
    let kz_proc = spawn(&kz_dir);
    let cn_proc = spawn(&cn_dir);
    let (kz_op, cn_op) = (operator(&kz_dir).await, operator(&cn_dir).await);
    let (kz, kz_file) = register(&kz_op, "provider").await;
    let (cn, cn_file) = register(&cn_op, "consumer").await;
    let provider_id = kz_file.credentials.organisation.id.clone();

    // ---- 1. large transfer ----
    let mut agreement: Option<String> = None;
    let mut plain_large: Option<(f64, f64)> = None;
    let big = if run("large") || run("agreed-large") {
        Some(publish_big(&kz, root.path(), gib).await)
    } else {
        None
    };
    if let (true, Some((big, size, upload_s))) = (run("large"), &big) {
        let (size, upload_s) = (*size, *upload_s);
        let t_req = Instant::now();
        let t = cn
            .request_transfer(&TransferRequest {
                request_id: "bench-big-1".into(),
                provider: provider_id.clone(),
                dataset_id: big.dataset_id.clone(),
                sha256: big.sha256.clone(),
                purpose: "benchmark".into(),
                recipient_kind: None,
            })
            .await
            .unwrap();
        let review_s = t_req.elapsed().as_secs_f64();
        let perf = start_perf(kz_proc.0.id(), cn_proc.0.id()).await;
        let t0 = Instant::now();
        kz.decide(
            &t.id,
            &DecisionRequest {
                request_id: "bench-big-ok".into(),
                approve: true,
                reason: None,
                grounds: None,
            },
        )
        .await
        .unwrap();
        wait_delivered_every(&cn, &t.id, Duration::from_millis(10)).await;
        let transfer_s = t0.elapsed().as_secs_f64();
        stop_perf(perf);
        let rss_kz = peak_rss_mib(kz_proc.0.id());
        let rss_cn = peak_rss_mib(cn_proc.0.id());

        // Plain TLS download of the same bytes (the encrypted delivery, ~the same size) by curl
        // from the consumer's node, and a client-side fetch + decrypt for reference.
        let cn_id = identity::load_identity(&cn_dir).unwrap();
        let ca = cn_dir.join("ca.crt");
        // Two curl figures: to /dev/null (no page-cache copy, no disk), and a plain download
        // that saves the file on the same disk as the consumer node's blobs (the copy into the
        // page cache the node must pay too; the file is deleted afterwards).
        let curl_to = |out_path: &Path| {
            let token = &cn_file.credentials.api_token;
            let started = Instant::now();
            let out = Command::new("curl")
                .args(["-sS", "--fail", "-o"])
                .arg(out_path)
                .arg("--cacert")
                .arg(&ca)
                .arg("-H")
                .arg(format!("Authorization: Bearer {token}"))
                .arg(format!(
                    "{}/api/v1/transfers/{}/payload",
                    cn_id.config.public_url, t.id
                ))
                .status()
                .expect("curl is installed");
            assert!(out.success(), "curl failed");
            started.elapsed().as_secs_f64()
        };
        let curl_s = curl_to(Path::new("/dev/null"));
        let saved = cn_dir.join("curl-download.bin");
        let curl_file_s = curl_to(&saved);
        let saved_len = std::fs::metadata(&saved).map(|m| m.len()).unwrap_or(0);
        std::fs::remove_file(&saved).expect("delete curl's saved download");
        assert!(
            saved_len >= size,
            "curl saved {saved_len} bytes, expected at least {size}"
        );
        let gib_f = size as f64 / (1024.0 * 1024.0 * 1024.0);
        println!("large transfer: {size} bytes ({gib_f:.2} GiB)");
        println!(
            "  publish (upload, hash, format check): {upload_s:.2} s, {:.0} MiB/s",
            size as f64 / 1048576.0 / upload_s
        );
        println!("  request incl. content review on the provider: {review_s:.2} s");
        println!(
            "  approval to receipt (encrypt, send, verify, receipt): {transfer_s:.2} s, {:.0} MiB/s",
            size as f64 / 1048576.0 / transfer_s
        );
        println!(
            "  curl over TLS of the same-size encrypted file: {curl_s:.2} s, {:.0} MiB/s",
            size as f64 / 1048576.0 / curl_s
        );
        println!(
            "  curl over TLS saving the file on the same disk: {curl_file_s:.2} s, {:.0} MiB/s",
            size as f64 / 1048576.0 / curl_file_s
        );
        println!(
            "  ratio silkgate/curl (to /dev/null): {:.2}",
            curl_s / transfer_s
        );
        println!(
            "  ratio silkgate/curl (saved to a file): {:.2}",
            curl_file_s / transfer_s
        );
        println!("  peak RSS: provider node {rss_kz:.0} MiB, consumer node {rss_cn:.0} MiB");
        plain_large = Some((review_s, transfer_s));
    }

    // ---- 2. small transfers ----
    if run("small") || run("agreed-small") {
        small_transfers(
            &kz,
            &cn,
            &provider_id,
            &kz_proc,
            &cn_proc,
            small_n,
            &run,
            &mut agreement,
        )
        .await;
    }

    // ---- 4. the large transfer under an agreement, every step on ----
    if let (true, Some((big, size, _))) = (run("agreed-large"), &big) {
        let agreement = match agreement.take() {
            Some(a) => a,
            None => agree(&kz, &cn, &provider_id).await,
        };
        // Peak memory of this case alone: reset each node's high-water mark (Linux 4.0+).
        for pid in [kz_proc.0.id(), cn_proc.0.id()] {
            let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
        }
        let t0 = Instant::now();
        let t = cn
            .request_under_agreement(
                &agreement,
                &silkgate_node::agreements::AgreementTransferRequest {
                    request_id: "agreed-big".into(),
                    dataset_id: big.dataset_id.clone(),
                    sha256: big.sha256.clone(),
                    onward_to: None,
                    recipient_kind: None,
                },
            )
            .await
            .unwrap();
        let request_s = t0.elapsed().as_secs_f64();
        wait_delivered_every(&cn, &t.id, Duration::from_millis(10)).await;
        let total_s = t0.elapsed().as_secs_f64();
        let after_s = total_s - request_s;
        let view = kz.transfer(&t.id).await.unwrap();
        let decision = view.decision.unwrap_or_default();
        let mib = *size as f64 / 1048576.0;
        println!("large transfer under an agreement, every step on: {size} bytes");
        println!("  obligations met: {}", decision["met"]);
        println!(
            "  request incl. terms, content review and decision: {request_s:.2} s; then \
             de-identification, marking, encryption, send, verify, receipt: {after_s:.2} s, \
             {:.0} MiB/s",
            mib / after_s
        );
        println!(
            "  request to receipt: {total_s:.2} s, {:.0} MiB/s",
            mib / total_s
        );
        if let Some((review_s, transfer_s)) = plain_large {
            println!(
                "  ratio to the plain transfer: approval to receipt {:.2} ({transfer_s:.2} s \
                 plain), request to receipt {:.2} ({:.2} s plain)",
                transfer_s / after_s,
                (review_s + transfer_s) / total_s,
                review_s + transfer_s
            );
        }
        println!(
            "  peak RSS during this case: provider node {:.0} MiB, consumer node {:.0} MiB",
            peak_rss_mib(kz_proc.0.id()),
            peak_rss_mib(cn_proc.0.id())
        );
    }
}

/// Cases 2 and 3: small transfers, plain then under an agreement (made here, and left in
/// `agreement` for case 4).
#[allow(clippy::too_many_arguments)]
async fn small_transfers(
    kz: &OrgClient,
    cn: &OrgClient,
    provider_id: &str,
    kz_proc: &Proc,
    cn_proc: &Proc,
    small_n: usize,
    run: &dyn Fn(&str) -> bool,
    agreement_out: &mut Option<String>,
) {
    let provider_id = provider_id.to_owned();
    let (schema, small) = silkgate_node::local::synthetic_trade_csv(400, 9);
    let small = small[..small
        .iter()
        .take(10 * 1024)
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1]
        .to_vec();
    let d = kz
        .publish(
            &PublishMetadata {
                request_id: "bench-small".into(),
                dataset_id: "bench-small".into(),
                title: "10 KiB".into(),
                description: String::new(),
                sector: "trade".into(),
                format: "csv".into(),
                schema,
                visibility: Visibility::Federation,
            },
            small.clone().into(),
        )
        .await
        .unwrap();
    if run("small") {
        let mut lat = Vec::with_capacity(small_n);
        let all = Instant::now();
        for i in 0..small_n {
            let t0 = Instant::now();
            let t = cn
                .request_transfer(&TransferRequest {
                    request_id: format!("small-{i}"),
                    provider: provider_id.clone(),
                    dataset_id: d.dataset_id.clone(),
                    sha256: d.sha256.clone(),
                    purpose: "benchmark".into(),
                    recipient_kind: None,
                })
                .await
                .unwrap();
            kz.decide(
                &t.id,
                &DecisionRequest {
                    request_id: format!("small-ok-{i}"),
                    approve: true,
                    reason: None,
                    grounds: None,
                },
            )
            .await
            .unwrap();
            wait_delivered(cn, &t.id).await;
            lat.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        let total = all.elapsed().as_secs_f64();
        lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "small transfers: {} x {} bytes, request to receipt (automated approval)",
            small_n,
            small.len()
        );
        println!(
            "  p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {:.0} transfers/s sequential",
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            lat[lat.len() - 1],
            small_n as f64 / total
        );
        println!(
            "  peak RSS after all: provider node {:.0} MiB, consumer node {:.0} MiB",
            peak_rss_mib(kz_proc.0.id()),
            peak_rss_mib(cn_proc.0.id())
        );
    }

    // 3. The same transfers under an agreement with every step on: terms checked, content
    // review, rule packs, de-identification (a pseudonymised column), marking, encryption,
    // log, receipt; no manual step.
    if !run("agreed-small") {
        return;
    }
    let agreement = agree(kz, cn, &provider_id).await;
    let mut lat = Vec::with_capacity(small_n);
    let all = Instant::now();
    for i in 0..small_n {
        let t0 = Instant::now();
        let t = cn
            .request_under_agreement(
                &agreement,
                &silkgate_node::agreements::AgreementTransferRequest {
                    request_id: format!("agreed-{i}"),
                    dataset_id: d.dataset_id.clone(),
                    sha256: d.sha256.clone(),
                    onward_to: None,
                    recipient_kind: None,
                },
            )
            .await
            .unwrap();
        wait_delivered(cn, &t.id).await;
        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
        if i == 0 {
            let met = kz.transfer(&t.id).await.unwrap().decision.unwrap()["met"].clone();
            println!("under an agreement, obligations met on the first transfer: {met}");
        }
    }
    let total = all.elapsed().as_secs_f64();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "small transfers under an agreement, all steps on: {} x {} bytes, request to receipt",
        small_n,
        small.len()
    );
    println!(
        "  p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {:.0} transfers/s sequential",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat[lat.len() - 1],
        small_n as f64 / total
    );
    *agreement_out = Some(agreement);
}

/// Writes a generated trade CSV of `gib` GiB and publishes it from the provider; returns the
/// dataset, its size and the publishing time.
async fn publish_big(
    kz: &OrgClient,
    dir: &Path,
    gib: f64,
) -> (silkgate_node::api_types::DatasetView, u64, f64) {
    let file = dir.join("big.csv");
    let target = (gib * 1024.0 * 1024.0 * 1024.0) as u64;
    {
        let mut f =
            std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&file).unwrap());
        let (schema, block) = silkgate_node::local::synthetic_trade_csv(20_000, 3);
        let header_len = block.iter().position(|&b| b == b'\n').unwrap() + 1;
        f.write_all(&block[..header_len]).unwrap();
        let body = &block[header_len..];
        let mut written = header_len as u64;
        while written + body.len() as u64 <= target {
            f.write_all(body).unwrap();
            written += body.len() as u64;
        }
        f.flush().unwrap();
        drop(schema);
    }
    let size = std::fs::metadata(&file).unwrap().len();
    let (schema, _) = silkgate_node::local::synthetic_trade_csv(1, 0);
    let t_upload = Instant::now();
    let stream = tokio_util::io::ReaderStream::with_capacity(
        tokio::fs::File::open(&file).await.unwrap(),
        1 << 20,
    );
    let big = kz
        .publish(
            &PublishMetadata {
                request_id: "bench-big".into(),
                dataset_id: "bench-big".into(),
                title: "Benchmark payload".into(),
                description: String::new(),
                sector: "trade".into(),
                format: "csv".into(),
                schema: schema.clone(),
                visibility: Visibility::Federation,
            },
            reqwest::Body::wrap_stream(stream),
        )
        .await
        .unwrap();
    let upload_s = t_upload.elapsed().as_secs_f64();
    (big, size, upload_s)
}

/// An active agreement from the trade template: the consumer proposes with the benchmark
/// data's columns, a pseudonymised column and two marked ones; the provider accepts.
async fn agree(provider: &OrgClient, consumer: &OrgClient, provider_id: &str) -> String {
    let template = silkgate_node::agreements::templates()
        .get(&("trade".to_owned(), 1))
        .unwrap();
    let mut terms = serde_json::to_value(&template.terms).unwrap();
    terms["columns"] = serde_json::json!([
        "declaration_id",
        "hs_code",
        "origin",
        "destination",
        "value_usd",
        "weight_kg"
    ]);
    terms["categories"] = serde_json::json!(["non-personal"]);
    terms["max_subjects_per_year"] = serde_json::json!(1_000_000_000u64);
    terms["deidentification"] =
        serde_json::json!([{ "column": "declaration_id", "method": "pseudonymise" }]);
    terms["marking"]["columns"] = serde_json::json!([
        { "column": "value_usd", "decimals": 0, "max_change_units": 9 },
        { "column": "weight_kg", "decimals": 0, "max_change_units": 9 },
    ]);
    let today = silkgate_model::Clock::system().today();
    let day = |offset: i64| today.add_days(offset).to_string();
    terms["validity"] = serde_json::json!({ "not_before": day(-1), "not_after": day(365) });
    let a = consumer
        .propose_agreement(&silkgate_node::agreements::ProposeAgreementRequest {
            request_id: "bench-agreement".into(),
            template_id: "trade".into(),
            template_version: 1,
            counterparty: provider_id.to_owned(),
            role: "consumer".into(),
            terms: Some(terms),
        })
        .await
        .unwrap();
    let signed = provider
        .agreement_action(&a.id, "accept", "bench-accept", None)
        .await
        .unwrap();
    assert_eq!(signed.status, "active", "{signed:?}");
    a.id
}
