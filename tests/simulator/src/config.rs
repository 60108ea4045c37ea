//! Start-up configuration of the simulator ([`SimulatorConfig`]) and the
//! fault knobs ([`Faults`]) that can also be changed at run time.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::BackupStatus;

/// Everything the simulator needs to start. `Default` gives the documented
/// defaults: token `sim-token`, databases `db_123` and `db_456`, one completed
/// automatic backup for `db_123`, `in_progress` at the first list poll and
/// `completed` at the second, no faults, listening on `127.0.0.1:0`.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// Expected bearer token (`Authorization: Bearer <token>`).
    pub token: String,
    /// Known database ids; any other id answers 404.
    pub databases: Vec<String>,
    /// Automatic backups present at start (and after a reset).
    pub seed_backups: Vec<SeedBackup>,
    /// List polls (of the backup's database) after which a new backup is `in_progress`.
    pub polls_to_in_progress: u32,
    /// List polls after which a new backup is `completed` (or `failed`).
    pub polls_to_complete: u32,
    /// If set, progression is time based instead of poll based: `in_progress`
    /// after half of this duration, finished after all of it.
    pub complete_after: Option<Duration>,
    /// New backups end in `failed` instead of `completed`.
    pub fail_backups: bool,
    /// Faults active from the start (also what `reset` goes back to).
    pub faults: Faults,
    /// Address to listen on; `start` uses it, the default port 0 picks a free one.
    pub listen_addr: SocketAddr,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            token: "sim-token".to_owned(),
            databases: vec!["db_123".to_owned(), "db_456".to_owned()],
            seed_backups: vec![SeedBackup {
                database_id: "db_123".to_owned(),
                status: BackupStatus::Completed,
            }],
            polls_to_in_progress: 1,
            polls_to_complete: 2,
            complete_after: None,
            fail_backups: false,
            faults: Faults::default(),
            listen_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        }
    }
}

/// A pre-existing automatic backup. Seeds keep their status forever; a
/// `completed` seed has `sizeBytes` and `completedAt` set. Seeds are a day
/// apart (the last one a day old) and get ids `bkp_1`, `bkp_2`, … in order.
/// A seed for a database missing from `databases` makes it known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedBackup {
    pub database_id: String,
    pub status: BackupStatus,
}

/// Fault knobs. Counters (`*_next`) are consumed by API requests (`/v1/...`),
/// never by `/healthz` or `/_sim/...`. All fields are optional in JSON.
///
/// Per request, in this order: `latency_ms` sleep; then at most one of
/// `drop_next`, `reset_next`, `rate_limit_next`, `fail_next`, `error_rate`
/// (checked in that order, the request does not reach the handler); then auth
/// and the handler; then, only for 2xx answers, at most one of
/// `malformed_next`, `oversized_next` (the operation itself still takes
/// effect). With `route` set, all of this applies only to that route's
/// requests: others are untouched and consume nothing (so a fault can hit one
/// step of a multi-call workflow).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Only requests of this route are faulted (latency included); `None`: all
    /// API requests. JSON: `"list_backups"`, `"create_backup"`, `"restore_backup"`.
    pub route: Option<ApiRoute>,
    /// Added to every API request (of `route`, if set).
    pub latency_ms: u64,
    /// Fraction (0..=1) of API requests answered 500, deterministically spread:
    /// request n (counted since the faults were set) fails when
    /// `floor(n * rate) > floor((n - 1) * rate)`, e.g. 0.5 fails every 2nd.
    pub error_rate: f64,
    /// The next N API requests get 500 with an Error body.
    pub fail_next: u32,
    /// The next N API requests get 429 with a `Retry-After` header.
    pub rate_limit_next: u32,
    /// Value of the `Retry-After` header, in seconds.
    pub retry_after_secs: u64,
    /// The next N successful answers keep their status but get a truncated,
    /// invalid JSON body (still `content-type: application/json`).
    pub malformed_next: u32,
    /// The next N API requests get their TCP connection closed without any
    /// response bytes (clients see "connection closed before message completed").
    pub drop_next: u32,
    /// The next N API requests get their TCP connection reset (RST, `SO_LINGER`
    /// 0) without any response bytes (clients see "connection reset by peer").
    pub reset_next: u32,
    /// The next N successful answers get a valid JSON body padded with a
    /// `"padding"` string field up to about `oversized_bytes`.
    pub oversized_next: u32,
    /// Approximate body size for `oversized_next`.
    pub oversized_bytes: usize,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            route: None,
            latency_ms: 0,
            error_rate: 0.0,
            fail_next: 0,
            rate_limit_next: 0,
            retry_after_secs: 1,
            malformed_next: 0,
            drop_next: 0,
            reset_next: 0,
            oversized_next: 0,
            oversized_bytes: 4 * 1024 * 1024,
        }
    }
}

/// An API route, for [`Faults::route`]; the names are those of [`crate::Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiRoute {
    /// `GET /v1/databases/{databaseId}/backups`
    ListBackups,
    /// `POST /v1/databases/{databaseId}/backups`
    CreateBackup,
    /// `POST /v1/databases/{databaseId}/backups/{backupId}/restore`
    RestoreBackup,
}

impl ApiRoute {
    /// Parses the wire name (`list_backups`, `create_backup`, `restore_backup`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "list_backups" => Some(Self::ListBackups),
            "create_backup" => Some(Self::CreateBackup),
            "restore_backup" => Some(Self::RestoreBackup),
            _ => None,
        }
    }
}
