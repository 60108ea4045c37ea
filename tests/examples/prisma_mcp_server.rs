//! The seed's generated MCP server as a process, for `tests/mcp_e2e.rs` (stdio) and
//! `scripts/mcp-conformance.sh` (Streamable HTTP), until the generated crate's own binary
//! (`serve`, `mcp-stdio`) is used instead.
//!
//! ```text
//! prisma_mcp_server serve [--port 9090]   # Streamable HTTP at http://127.0.0.1:PORT/mcp
//! prisma_mcp_server mcp-stdio             # MCP over stdin/stdout
//! ```
//!
//! Upstream: `POSTGRES_MANAGEMENT_DATABASE_BACKUPS_BASE_URI` and `PRISMA_API_KEY`.

use prisma_postgres_backups::{client::Clients, mcp};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let clients = Clients::from_env()?;
    match args.first().map(String::as_str) {
        Some("mcp-stdio") => mcp::serve_stdio(clients).await,
        Some("serve") => {
            let port = match args.iter().position(|a| a == "--port") {
                Some(i) => args.get(i + 1).ok_or("--port needs a value")?.parse()?,
                None => mcp::DEFAULT_PORT,
            };
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
            eprintln!("MCP server on http://{}/mcp", listener.local_addr()?);
            axum::serve(listener, mcp::router(clients))
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
            Ok(())
        }
        _ => Err("usage: prisma_mcp_server serve [--port PORT] | mcp-stdio".into()),
    }
}
