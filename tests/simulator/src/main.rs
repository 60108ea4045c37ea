//! `prisma-simulator` binary: runs the simulator on a fixed address until
//! Ctrl-C or SIGTERM.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use clap::Parser;
use prisma_simulator::{ApiRoute, BackupStatus, Faults, SeedBackup, SimulatorConfig};

/// Local simulator of the Prisma Postgres Management API backups surface.
#[derive(Debug, Parser)]
#[command(name = "prisma-simulator", version)]
struct Cli {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 4010)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Expected bearer token.
    #[arg(long, default_value = "sim-token")]
    token: String,
    /// Known database ids (comma separated).
    #[arg(long, value_delimiter = ',', default_value = "db_123,db_456")]
    databases: Vec<String>,
    /// Pre-existing automatic backup, `DATABASE[:STATUS]` (status defaults to
    /// `completed`); repeatable, replaces the default `db_123:completed`.
    #[arg(long = "seed-backup", value_parser = parse_seed)]
    seed_backups: Vec<SeedBackup>,
    /// Start without any pre-existing backup.
    #[arg(long, conflicts_with = "seed_backups")]
    no_seed: bool,
    /// List polls after which a new backup is `in_progress`.
    #[arg(long, default_value_t = 1)]
    polls_to_in_progress: u32,
    /// List polls after which a new backup is `completed`.
    #[arg(long, default_value_t = 2)]
    polls_to_complete: u32,
    /// Time-based progression instead of polls: finished after this many ms.
    #[arg(long)]
    complete_after_ms: Option<u64>,
    /// New backups end in `failed` instead of `completed`.
    #[arg(long)]
    fail_backups: bool,
    /// Fault only this route's requests (`list_backups`, `create_backup`,
    /// `restore_backup`); default: every API request.
    #[arg(long, value_parser = parse_route)]
    fault_route: Option<ApiRoute>,
    /// Latency added to every API request.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Fraction (0..=1) of API requests answered 500, evenly spread.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// The next N API requests get 500.
    #[arg(long, default_value_t = 0)]
    fail_next: u32,
    /// The next N API requests get 429.
    #[arg(long, default_value_t = 0)]
    rate_limit_next: u32,
    /// `Retry-After` seconds for 429 answers.
    #[arg(long, default_value_t = 1)]
    retry_after_secs: u64,
    /// The next N successful answers get an invalid JSON body.
    #[arg(long, default_value_t = 0)]
    malformed_next: u32,
    /// The next N API requests get their connection closed without response.
    #[arg(long, default_value_t = 0)]
    drop_next: u32,
    /// The next N API requests get their connection reset (RST) without response.
    #[arg(long, default_value_t = 0)]
    reset_next: u32,
    /// The next N successful answers get a body of about `--oversized-bytes`.
    #[arg(long, default_value_t = 0)]
    oversized_next: u32,
    /// Body size for `--oversized-next`.
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    oversized_bytes: usize,
}

fn parse_route(s: &str) -> Result<ApiRoute, String> {
    ApiRoute::parse(s)
        .ok_or_else(|| format!("unknown route '{s}' (list_backups, create_backup, restore_backup)"))
}

fn parse_seed(s: &str) -> Result<SeedBackup, String> {
    let (database_id, status) = s.split_once(':').unwrap_or((s, "completed"));
    let status = BackupStatus::parse(status).ok_or_else(|| {
        format!("unknown status '{status}' (pending, in_progress, completed, failed)")
    })?;
    Ok(SeedBackup {
        database_id: database_id.to_owned(),
        status,
    })
}

impl Cli {
    fn into_config(self) -> Result<SimulatorConfig, String> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err("--error-rate must be between 0 and 1".to_owned());
        }
        let defaults = SimulatorConfig::default();
        let seed_backups = match (self.no_seed, self.seed_backups.is_empty()) {
            (true, _) => Vec::new(),
            (false, true) => defaults.seed_backups,
            (false, false) => self.seed_backups,
        };
        Ok(SimulatorConfig {
            token: self.token,
            databases: self.databases,
            seed_backups,
            polls_to_in_progress: self.polls_to_in_progress,
            polls_to_complete: self.polls_to_complete,
            complete_after: self.complete_after_ms.map(Duration::from_millis),
            fail_backups: self.fail_backups,
            faults: Faults {
                route: self.fault_route,
                latency_ms: self.latency_ms,
                error_rate: self.error_rate,
                fail_next: self.fail_next,
                rate_limit_next: self.rate_limit_next,
                retry_after_secs: self.retry_after_secs,
                malformed_next: self.malformed_next,
                drop_next: self.drop_next,
                reset_next: self.reset_next,
                oversized_next: self.oversized_next,
                oversized_bytes: self.oversized_bytes,
            },
            listen_addr: SocketAddr::new(self.bind, self.port),
        })
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = match Cli::parse().into_config() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("prisma-simulator: {message}");
            return std::process::ExitCode::from(2);
        }
    };
    let sim = match prisma_simulator::start(config).await {
        Ok(sim) => sim,
        Err(error) => {
            eprintln!("prisma-simulator: cannot listen: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("{}", sim.base_uri());
    shutdown_signal().await;
    eprintln!("prisma-simulator: shutting down");
    sim.shutdown().await;
    std::process::ExitCode::SUCCESS
}

/// Resolves on Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
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
        () = ctrl_c => {}
        () = terminate => {}
    }
}
