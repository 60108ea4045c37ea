//! `rest-proxy`: the REST baseline. A minimal hand-written axum + reqwest proxy serving the
//! route the benchmark drives through the generated REST adapter,
//! `GET /v1/databases/{databaseId}/backups`, forwarded to `<upstream>/databases/{databaseId}/backups`
//! with the bearer token of `PRISMA_API_KEY`. The upstream's status and JSON body are passed
//! through as they are; a failed upstream call is a bare 502.
//!
//! ```text
//! PRISMA_API_KEY=sim-token rest-proxy --port 4814 --upstream http://127.0.0.1:4811/v1
//! ```

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use capgen_baselines::Upstream;
use clap::Parser;

/// Minimal REST proxy (the benchmark baseline of the generated REST adapter).
#[derive(Debug, Parser)]
struct Cli {
    /// Port to listen on (127.0.0.1).
    #[arg(long, default_value_t = 8081)]
    port: u16,
    /// Upstream base URI.
    #[arg(long, default_value = "http://127.0.0.1:4010/v1")]
    upstream: String,
}

async fn list_backups(State(upstream): State<Arc<Upstream>>, Path(database_id): Path<String>) -> Response {
    match upstream.get(&["databases", &database_id, "backups"]).await {
        Ok((status, body)) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let cli = Cli::parse();
    let upstream = Arc::new(Upstream::from_env(&cli.upstream)?);
    let app = Router::new().route("/v1/databases/{database_id}/backups", get(list_backups)).with_state(upstream);
    capgen_baselines::serve(cli.port, app).await.map_err(|e| format!("cannot serve on port {}: {e}", cli.port))
}
