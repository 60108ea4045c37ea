//! # capgen-baselines
//!
//! Hand-written counterparts of what capgen generates, so `benches/run.sh` can measure the
//! generated code against the least a person would write for the same job, in the same run:
//!
//! - `rest-proxy`: a minimal axum + reqwest proxy serving the benchmarked REST route
//!   (`GET /v1/databases/{databaseId}/backups`) in front of the upstream;
//! - `mcp-server`: a minimal rmcp server exposing the benchmarked tool
//!   (`prisma-list-database-backups`) over Streamable HTTP at `/mcp`;
//! - `mcp-load`: a load generator for MCP `tools/call` over Streamable HTTP (one rmcp client
//!   session per connection), printing one JSON line of throughput and latency percentiles.
//!
//! Both servers read the upstream bearer token from `PRISMA_API_KEY`, as the generated binary
//! does, bind 127.0.0.1 with `TCP_NODELAY` (as the generated servers do) and stop on SIGINT or
//! SIGTERM. This library holds the little they share: the upstream client and serving.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use reqwest::Url;

/// The environment variable holding the upstream bearer token.
pub const API_KEY_ENV: &str = "PRISMA_API_KEY";

/// The upstream API: a pooled reqwest client, the base URI and the `Authorization` header.
#[derive(Clone, Debug)]
pub struct Upstream {
    http: reqwest::Client,
    base: Url,
    authorization: HeaderValue,
}

impl Upstream {
    /// An upstream at `base` (e.g. `http://127.0.0.1:4010/v1`) with the token of
    /// [`API_KEY_ENV`]; the error says what is missing or wrong.
    pub fn from_env(base: &str) -> Result<Self, String> {
        let base = Url::parse(base).map_err(|e| format!("invalid upstream URL {base:?}: {e}"))?;
        if base.cannot_be_a_base() {
            return Err(format!("{base} cannot be a base URL"));
        }
        let token = std::env::var(API_KEY_ENV).map_err(|_| format!("{API_KEY_ENV} is not set"))?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| format!("{API_KEY_ENV} is not a valid header value"))?;
        authorization.set_sensitive(true);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { http, base, authorization })
    }

    /// `GET <base>/<segments…>` (each segment percent-encoded): the status and the body.
    pub async fn get(&self, segments: &[&str]) -> reqwest::Result<(StatusCode, Bytes)> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("checked in from_env: the base URL can be a base")
            .pop_if_empty()
            .extend(segments);
        let response = self.http.get(url).header(header::AUTHORIZATION, self.authorization.clone()).send().await?;
        let status = response.status();
        Ok((status, response.bytes().await?))
    }
}

/// Serves `app` on `127.0.0.1:port` (`TCP_NODELAY` on every connection) until SIGINT or
/// SIGTERM.
pub async fn serve(port: u16, app: Router) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream: &mut tokio::net::TcpStream| {
        let _ = stream.set_nodelay(true);
    });
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await
}

/// Completes on SIGINT, or SIGTERM on Unix.
async fn shutdown_signal() {
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
