//! `mcp-load`: a load generator for MCP `tools/call` over Streamable HTTP.
//!
//! Opens `--connections` rmcp client sessions (each with its own reqwest client, so its own
//! keep-alive TCP connection, and its own `initialize` handshake), then runs one worker per
//! session calling `--tool` with `--args` back to back for `--duration` seconds, after
//! `--warmup` seconds whose calls are not counted. Prints one JSON line:
//!
//! ```text
//! {"url":…,"tool":…,"protocol":"2025-11-25","connections":32,"seconds":10.0,"requests":41234,
//!  "errors":0,"rps":4123.4,"p50_us":7400,"p90_us":9100,"p99_us":12000,"max_us":31000}
//! ```
//!
//! `errors` counts protocol failures and `isError` results; latency is measured around
//! `call_tool` (request out, response decoded), so it includes the client's own work, which
//! is the same for every server measured.
//!
//! ```text
//! mcp-load --url http://127.0.0.1:4813/mcp --tool prisma-list-database-backups \
//!     --args '{"databaseId":"db_123"}' --connections 32 --duration 10
//! ```

use std::time::{Duration, Instant};

use clap::Parser;
use rmcp::model::{CallToolRequestParams, JsonObject};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ServiceError, ServiceExt};
use serde_json::json;

/// Load generator for MCP tools/call over Streamable HTTP.
#[derive(Debug, Parser)]
struct Cli {
    /// The Streamable HTTP endpoint.
    #[arg(long)]
    url: String,
    /// The tool to call.
    #[arg(long)]
    tool: String,
    /// The tool's arguments, a JSON object.
    #[arg(long, default_value = "{}")]
    args: String,
    /// Concurrent sessions (one connection and one worker each).
    #[arg(long, short = 'c', default_value_t = 32)]
    connections: usize,
    /// Seconds measured.
    #[arg(long, short = 'd', default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before the measurement starts.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
}

type Client = RunningService<RoleClient, ()>;

/// One session: an rmcp client over its own reqwest client (keep-alive, one connection).
async fn connect(url: &str) -> Result<Client, String> {
    let http = reqwest::Client::builder().build().map_err(|e| e.to_string())?;
    let transport = StreamableHttpClientTransport::with_client(http, StreamableHttpClientTransportConfig::with_uri(url));
    ().serve(transport).await.map_err(|e| format!("cannot open an MCP session at {url}: {e}"))
}

/// Calls the tool until `end`, recording the latency (µs) of the calls that start after
/// `measure_from`; returns them and the number of failed calls among them.
async fn worker(client: Client, params: CallToolRequestParams, measure_from: Instant, end: Instant) -> (Vec<u32>, u64, Client) {
    let mut latencies = Vec::with_capacity(16 * 1024);
    let mut errors = 0;
    loop {
        let started = Instant::now();
        if started >= end {
            break;
        }
        let outcome: Result<_, ServiceError> = client.call_tool(params.clone()).await;
        let ok = matches!(&outcome, Ok(result) if result.is_error != Some(true));
        if started >= measure_from {
            latencies.push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
            errors += u64::from(!ok);
        }
    }
    (latencies, errors, client)
}

/// The `q`-quantile (0..=1) of sorted `values`.
fn quantile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let cli = Cli::parse();
    let arguments: JsonObject = serde_json::from_str(&cli.args).map_err(|e| format!("--args is not a JSON object: {e}"))?;
    let params = CallToolRequestParams::new(cli.tool.clone()).with_arguments(arguments);

    let mut clients = Vec::with_capacity(cli.connections);
    for _ in 0..cli.connections.max(1) {
        clients.push(connect(&cli.url).await?);
    }
    let protocol = clients[0].peer_info().map(|info| info.protocol_version.to_string()).unwrap_or_default();

    let measure_from = Instant::now() + Duration::from_secs_f64(cli.warmup);
    let end = measure_from + Duration::from_secs_f64(cli.duration);
    let workers: Vec<_> =
        clients.into_iter().map(|client| tokio::spawn(worker(client, params.clone(), measure_from, end))).collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut finished = Vec::new();
    for joined in workers {
        let (mut own, failed, client) = joined.await.map_err(|e| format!("a worker panicked: {e}"))?;
        latencies.append(&mut own);
        errors += failed;
        finished.push(client);
    }
    // Measured from the start of the first counted call to the end of the last one.
    let seconds = measure_from.elapsed().as_secs_f64();
    for client in finished {
        let _ = client.cancel().await;
    }

    latencies.sort_unstable();
    let requests = latencies.len();
    let summary = json!({
        "url": cli.url,
        "tool": cli.tool,
        "protocol": protocol,
        "connections": cli.connections,
        "seconds": (seconds * 100.0).round() / 100.0,
        "requests": requests,
        "errors": errors,
        "rps": ((requests as f64 / seconds) * 10.0).round() / 10.0,
        "p50_us": quantile(&latencies, 0.50),
        "p90_us": quantile(&latencies, 0.90),
        "p99_us": quantile(&latencies, 0.99),
        "max_us": latencies.last().copied().unwrap_or(0),
    });
    println!("{summary}");
    Ok(())
}
