//! `mcp-server`: the MCP baseline. A minimal hand-written rmcp server exposing the tool the
//! benchmark calls on the generated server, `prisma-list-database-backups` (`databaseId`),
//! over Streamable HTTP at `/mcp` with rmcp's defaults (sessions, loopback `Host` only), as
//! the generated server is served. The tool calls `<upstream>/databases/{databaseId}/backups`
//! with the bearer token of `PRISMA_API_KEY` and returns the JSON body as structured content
//! (plus rmcp's text copy); an upstream failure is an `isError` result.
//!
//! ```text
//! PRISMA_API_KEY=sim-token mcp-server --port 4815 --upstream http://127.0.0.1:4811/v1
//! ```

use std::sync::Arc;

use axum::Router;
use capgen_baselines::Upstream;
use clap::Parser;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, ErrorData, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, schemars, tool, tool_handler, tool_router};

/// Minimal MCP server (the benchmark baseline of the generated MCP server).
#[derive(Debug, Parser)]
struct Cli {
    /// Port to listen on (127.0.0.1); the endpoint is `/mcp`.
    #[arg(long, default_value_t = 9091)]
    port: u16,
    /// Upstream base URI.
    #[arg(long, default_value = "http://127.0.0.1:4010/v1")]
    upstream: String,
}

/// Arguments of `prisma-list-database-backups`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(rename_all = "camelCase")]
struct ListArgs {
    /// Unique identifier of the database
    database_id: String,
}

#[derive(Clone, Debug)]
struct Backups {
    upstream: Arc<Upstream>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Backups {
    #[tool(
        name = "prisma-list-database-backups",
        description = "Prisma List database backups",
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true)
    )]
    async fn list(&self, Parameters(ListArgs { database_id }): Parameters<ListArgs>) -> Result<CallToolResult, ErrorData> {
        let failed = |message: String| Ok(CallToolResult::error(vec![ContentBlock::text(message)]));
        match self.upstream.get(&["databases", &database_id, "backups"]).await {
            Ok((status, body)) if status.is_success() => match serde_json::from_slice(&body) {
                Ok(value) => Ok(CallToolResult::structured(value)),
                Err(e) => failed(format!("the upstream answer is not JSON: {e}")),
            },
            Ok((status, body)) => failed(format!("upstream returned {status}: {}", String::from_utf8_lossy(&body))),
            Err(e) => failed(format!("upstream call failed: {e}")),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Backups {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let cli = Cli::parse();
    let server = Backups { upstream: Arc::new(Upstream::from_env(&cli.upstream)?), tool_router: Backups::tool_router() };
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let app = Router::new().route_service("/mcp", service);
    capgen_baselines::serve(cli.port, app).await.map_err(|e| format!("cannot serve on port {}: {e}", cli.port))
}
