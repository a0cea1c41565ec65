//! The Silkgate web portal: server-rendered pages for organisations (catalogue, datasets with
//! their content reviews, transfers with their timelines, deliveries), regulators
//! (supervision of every flow touching the state, with SVG charts and CSV export) and node
//! operators (accounts, log explorer), in English, Russian and Chinese.
//!
//! Main items: [`router`] (the pages, mounted by the node through [`mount`] under `/portal/`,
//! with `/` redirecting there), [`auth`] (accounts with Argon2id passwords and TOTP, sessions,
//! CSRF tokens, lock-out), [`i18n`] (one Fluent catalogue per language under `i18n/`),
//! [`org`] (an organisation's actions: agreements, publishing, decisions, notifications).
//! Templates (askama, `templates/`) are checked at compile time; the stylesheet is embedded.
//! There is no script and no front-end build step.
//!
//! Invariants: every page checks the signed-in person's role before reading anything; every
//! form carries its session's CSRF token; a regulator sees only flows touching its own state;
//! sign-ins, failures, lock-outs and role changes are events, so they reach the transparency
//! log, naming the opaque account id and never the login.
//!
//! ```no_run
//! # async fn demo(dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
//! let options = silkgate_portal::node_options(Default::default());
//! let state = silkgate_node::NodeState::open(dir, options).await?;
//! // The node's router now serves the portal at /portal/.
//! let _router = silkgate_node::app(state);
//! # Ok(()) }
//! ```

pub mod auth;
pub mod charts;
pub mod i18n;
pub mod org;
pub mod pages;
pub mod supervise;
pub mod web;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use silkgate_node::{Mount, NodeOptions, NodeState};

/// The portal's routes, for the node's state.
pub fn router(state: NodeState) -> Router {
    Router::new()
        .route("/", get(pages::root))
        .route("/portal", get(pages::root))
        .route("/portal/", get(pages::home))
        .route("/portal/assets/style.css", get(pages::style))
        .route("/portal/lang", get(pages::switch_lang))
        .route(
            "/portal/sign-in",
            get(pages::sign_in_form).post(pages::sign_in),
        )
        .route("/portal/sign-out", post(pages::sign_out))
        .route("/portal/catalogue", get(pages::catalogue))
        .route("/portal/datasets", get(pages::datasets))
        .route("/portal/agreements", get(pages::agreements))
        .route("/portal/transfers", get(pages::transfers))
        .route("/portal/transfers/{id}", get(pages::transfer))
        .route("/portal/deliveries", get(pages::deliveries))
        .route(
            "/portal/deliveries/{id}/payload",
            get(pages::delivery_payload),
        )
        .route("/portal/supervision", get(pages::supervision))
        .route("/portal/supervision/flows", get(pages::flows))
        .route("/portal/supervision/flows.csv", get(pages::flows_csv))
        .route("/portal/supervision/flows/{id}", get(pages::flow))
        .route("/portal/log", get(pages::log))
        .route(
            "/portal/accounts",
            get(pages::accounts).post(pages::create_account),
        )
        .route("/portal/accounts/{id}/role", post(pages::change_role))
        // Organisation actions (org.rs).
        .route(
            "/portal/agreements/new",
            get(org::propose_form).post(org::propose),
        )
        .route("/portal/agreements/{id}", get(org::agreement))
        .route("/portal/agreements/{id}/accept", post(org::accept))
        .route("/portal/agreements/{id}/counter", post(org::counter))
        .route(
            "/portal/agreements/{id}/transfers",
            post(org::request_under),
        )
        .route(
            "/portal/datasets/new",
            get(org::publish_form)
                .post(org::publish)
                .layer(DefaultBodyLimit::max(org::UPLOAD_MAX)),
        )
        .route("/portal/datasets/{id}/{sha256}", get(org::dataset_review))
        .route("/portal/requests", get(org::requests))
        .route("/portal/requests/{id}", post(org::decide))
        .route("/portal/notifications", get(org::notifications))
        // Supervision actions of the state's authority.
        .route("/portal/supervision/agreements", get(supervise::agreements))
        .route(
            "/portal/supervision/agreements.csv",
            get(supervise::agreements_csv),
        )
        .route(
            "/portal/supervision/agreements/{id}/{action}",
            post(supervise::agreement_action),
        )
        .route(
            "/portal/supervision/organisations/{id}/{action}",
            post(supervise::organisation_action),
        )
        .route("/portal/supervision/approvals", get(supervise::approvals))
        .route(
            "/portal/supervision/approvals.csv",
            get(supervise::approvals_csv),
        )
        .route(
            "/portal/supervision/approvals/{id}",
            post(supervise::approve),
        )
        .route(
            "/portal/supervision/obligations",
            get(supervise::obligations),
        )
        .route(
            "/portal/supervision/obligations.csv",
            get(supervise::obligations_csv),
        )
        .route("/portal/supervision/thresholds", get(supervise::thresholds))
        .route(
            "/portal/supervision/thresholds.csv",
            get(supervise::thresholds_csv),
        )
        .route("/portal/supervision/categories", get(supervise::categories))
        .route(
            "/portal/supervision/categories.csv",
            get(supervise::categories_csv),
        )
        .with_state(state)
}

/// The mount the node calls to serve the portal beside its API.
pub fn mount() -> Mount {
    Mount(Arc::new(router))
}

/// `options` with the portal mounted.
pub fn node_options(options: NodeOptions) -> NodeOptions {
    NodeOptions {
        mount: Some(mount()),
        ..options
    }
}
