//! A Silkgate national node: the HTTP API for organisations and the operator, federation with
//! the other states' nodes over mutual TLS with signed messages, the catalogue, and the
//! transfer pipeline ([`pipeline`]).
//!
//! Main types: [`NodeState`] (opened from a node directory written by
//! [`identity::init_node`]), [`app`] (the axum router), [`serve`] (TLS listener plus the
//! delivery worker), [`client::OrgClient`] (what the CLI and tests use).
//!
//! Invariants: only peers on the committee-signed trust list get past the TLS handshake, and
//! every state-changing federation message is signed by the sending node's key; every state
//! change is committed with its event before it is acknowledged; a payload leaves the node
//! only encrypted to the consumer's key, with a signed manifest; a repeated request is
//! answered with its first result.
//!
//! ```no_run
//! # async fn demo(dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
//! let state = silkgate_node::NodeState::open(dir, Default::default()).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let running = silkgate_node::serve(state, listener)?;
//! println!("serving on https://{}", running.addr);
//! # Ok(()) }
//! ```

pub mod agreements;
pub mod api;
pub mod api_types;
pub mod client;
pub mod error;
pub mod federation;
pub mod identity;
pub mod local;
pub mod log_service;
pub mod marking;
pub mod metrics;
mod node;
pub mod outbox;
pub mod payload_crypto;
pub mod pipeline;
pub mod tls;
pub mod wire;
pub mod witness;

use axum::Router;
use axum::routing::{get, post};
use utoipa::OpenApi;

pub use node::{
    Caller, ConnInfo, Mount, NodeError, NodeOptions, NodeState, RunningNode, parse_verifying_key,
    serve,
};

/// The OpenAPI 3.1 document of the organisation and operator API, generated from the
/// handlers and types.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Silkgate national node API",
        description = "Organisations publish, search, request, approve and fetch deliveries; the operator registers organisations and reads events."
    ),
    paths(
        api::healthz,
        api::metrics,
        api::trust_list,
        api::register_organisation,
        api::publish,
        api::catalogue,
        api::request_transfer,
        api::list_transfers,
        api::get_transfer,
        api::transfer_events,
        api::decide_transfer,
        api::delivery_payload,
        api::events,
        agreements::propose,
        agreements::list_agreements,
        agreements::get_agreement,
        agreements::agreement_events,
        agreements::counter,
        agreements::accept,
        agreements::approve,
        agreements::suspend,
        agreements::resume,
        agreements::terminate,
        agreements::request_transfer,
        marking::trace
    ),
    components(schemas(
        api_types::RegisterOrganisationRequest,
        api_types::OrganisationView,
        api_types::Credentials,
        api_types::PublishMetadata,
        api_types::ColumnView,
        api_types::DatasetView,
        api_types::CataloguePage,
        api_types::TransferRequest,
        api_types::DecisionRequest,
        api_types::TransferView,
        api_types::EventView,
        agreements::ProposeAgreementRequest,
        agreements::CounterAgreementRequest,
        agreements::AgreementActionRequest,
        agreements::AgreementTransferRequest,
        agreements::AgreementView,
        error::ErrorBody,
        error::ErrorDetail
    ))
)]
pub struct ApiDoc;

async fn openapi() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}

/// The node's HTTP router: API, federation endpoints, health, metrics and the OpenAPI
/// document. Requests that come through [`serve`] carry [`ConnInfo`]; built directly (tests),
/// federation calls are refused for lack of a client certificate.
pub fn app(state: NodeState) -> Router {
    let metrics_state = state.clone();
    let mounted = match &state.0.options.mount {
        Some(mount) => (mount.0)(state.clone()),
        None => Router::new(),
    };
    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
        .route("/openapi.json", get(openapi))
        .route(
            "/api/v1/trust-list",
            get(api::trust_list).put(api::put_trust_list),
        )
        .route("/api/v1/organisations", post(api::register_organisation))
        .route("/api/v1/datasets", post(api::publish))
        .route("/api/v1/catalogue", get(api::catalogue))
        .route(
            "/api/v1/transfers",
            post(api::request_transfer).get(api::list_transfers),
        )
        .route("/api/v1/transfers/{id}", get(api::get_transfer))
        .route("/api/v1/transfers/{id}/events", get(api::transfer_events))
        .route(
            "/api/v1/transfers/{id}/decision",
            post(api::decide_transfer),
        )
        .route("/api/v1/transfers/{id}/payload", get(api::delivery_payload))
        .route("/api/v1/events", get(api::events))
        .route(
            "/api/v1/agreements",
            post(agreements::propose).get(agreements::list_agreements),
        )
        .route("/api/v1/agreements/{id}", get(agreements::get_agreement))
        .route(
            "/api/v1/agreements/{id}/events",
            get(agreements::agreement_events),
        )
        .route("/api/v1/agreements/{id}/counter", post(agreements::counter))
        .route("/api/v1/agreements/{id}/accept", post(agreements::accept))
        .route(
            "/api/v1/agreements/{id}/approval",
            post(agreements::approve),
        )
        .route("/api/v1/agreements/{id}/suspend", post(agreements::suspend))
        .route("/api/v1/agreements/{id}/resume", post(agreements::resume))
        .route(
            "/api/v1/agreements/{id}/terminate",
            post(agreements::terminate),
        )
        .route(
            "/api/v1/agreements/{id}/transfers",
            post(agreements::request_transfer),
        )
        .route("/federation/v1/agreements", post(agreements::receive))
        .route("/api/v1/trace", post(marking::trace))
        .route("/federation/v1/usage", post(agreements::receive_usage))
        .route("/federation/v1/catalogue/search", post(federation::search))
        .route(
            "/federation/v1/transfers",
            post(federation::receive_transfer),
        )
        .route(
            "/federation/v1/transfers/{id}/delivery",
            post(federation::receive_delivery),
        )
        .route(
            "/federation/v1/transfers/{id}/denied",
            post(federation::receive_denied),
        )
        .route("/log/checkpoint", get(log_service::get_checkpoint))
        .route(
            "/federation/v1/log/add-checkpoint",
            post(witness::add_checkpoint),
        )
        .route("/api/v1/log/alerts", get(witness::alerts))
        .route(
            "/api/v1/transfers/{id}/log-receipt",
            get(log_service::transfer_receipt),
        )
        .route("/log/tile/{*path}", get(log_service::get_tile))
        .with_state(state.clone())
        .merge(mounted)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            log_service::acknowledge_after_logging,
        ))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let metrics_state = metrics_state.clone();
                async move {
                    let class = if req.uri().path().starts_with("/federation/") {
                        "federation"
                    } else if req.uri().path().starts_with("/api/") {
                        "api"
                    } else {
                        "other"
                    };
                    let resp = next.run(req).await;
                    let status = format!("{}xx", resp.status().as_u16() / 100);
                    metrics_state.metrics().add(
                        "silkgate_http_requests_total",
                        &[("class", class), ("status", &status)],
                        1,
                    );
                    resp
                }
            },
        ))
}
