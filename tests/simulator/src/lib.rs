//! # prisma-simulator
//!
//! A local simulator of the **Prisma Postgres Management API backups
//! surface** (`specs/prisma/openapi/prisma-postgres-management-openapi.yml`),
//! used as the upstream for end-to-end tests and benchmarks of generated
//! clients and servers.
//!
//! ## Run it
//!
//! ```text
//! cargo run -p prisma-simulator -- --port 4010 --token sim-token
//! # prints: http://127.0.0.1:4010/v1
//! curl -H 'Authorization: Bearer sim-token' http://127.0.0.1:4010/v1/databases/db_123/backups
//! ```
//!
//! Or in a test:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use prisma_simulator::{Faults, SimulatorConfig, start};
//! let sim = start(SimulatorConfig::default()).await?;
//! let base = sim.base_uri(); // "http://127.0.0.1:PORT/v1", bearer token "sim-token"
//! sim.set_faults(Faults { rate_limit_next: 1, ..Faults::default() });
//! // ... exercise a client against `base` ...
//! assert_eq!(sim.stats().list_backups, 0);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! ## API (under `/v1`, `Authorization: Bearer <token>` required)
//!
//! | Route | Answer |
//! |---|---|
//! | `GET /v1/databases/{databaseId}/backups` | 200 `{ "data": [DatabaseBackup…] }`, newest first |
//! | `POST /v1/databases/{databaseId}/backups` | 202 `DatabaseBackup` (`pending`, `manual`, id `bkp_<n>`); optional body `{ "label": "…" }`, invalid JSON → 400 |
//! | `POST /v1/databases/{databaseId}/backups/{backupId}/restore` | 202 `{ "status": "restoring", "message": … }`; 409 unless the backup is `completed` |
//!
//! Errors use the spec's `Error` body `{ "error": { "code", "message" } }`:
//! 401 `unauthorized`, 404 `not_found` (unknown database, backup or route),
//! 409 `conflict`, 429 `rate_limited`, 500 `internal_error`, 400 `bad_request`.
//!
//! Backup status goes `pending → in_progress → completed` (or `failed` with
//! [`SimulatorConfig::fail_backups`]): by default `in_progress` at the first
//! list of its database after creation and `completed` at the second, or by
//! time with [`SimulatorConfig::complete_after`]. `completedAt` and
//! `sizeBytes` are set on completion. Default databases: `db_123` (with one
//! completed automatic backup, `bkp_1`) and `db_456`.
//!
//! ## Control endpoints (no auth, never faulted)
//!
//! * `GET /healthz` → `{ "status": "ok" }`
//! * `GET /_sim/faults` / `POST /_sim/faults` — read / replace the [`Faults`]
//!   (JSON with the same field names, all optional)
//! * `POST /_sim/reset` → 204; back to the start-up backups, faults and zero stats
//! * `GET /_sim/stats` → [`Stats`] (requests per route, injected faults)
//!
//! See [`Faults`] for the fault knobs and the order they apply in.

mod api;
mod config;
mod control;
mod model;
mod server;
mod state;

use std::net::SocketAddr;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use api::router;
pub use config::{ApiRoute, Faults, SeedBackup, SimulatorConfig};
pub use model::{BackupStatus, BackupType, DatabaseBackup};
pub use state::{InjectedFaults, SimState, Stats};

/// Binds `config.listen_addr` (default `127.0.0.1:0`) and serves the
/// simulator on a background task.
pub async fn start(config: SimulatorConfig) -> std::io::Result<RunningSimulator> {
    let listener = tokio::net::TcpListener::bind(config.listen_addr).await?;
    let addr = listener.local_addr()?;
    let state = SimState::new(config);
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(server::serve(listener, router(state.clone()), stopped));
    Ok(RunningSimulator {
        addr,
        state,
        stop,
        task: Some(task),
    })
}

/// A simulator serving in the background. Dropping it stops the server too
/// (without waiting); [`RunningSimulator::shutdown`] waits for it.
pub struct RunningSimulator {
    addr: SocketAddr,
    state: SimState,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RunningSimulator {
    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URI for clients, e.g. `http://127.0.0.1:4010/v1`.
    pub fn base_uri(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Replaces all fault knobs (like `POST /_sim/faults`).
    pub fn set_faults(&self, faults: Faults) {
        self.state.set_faults(faults);
    }

    /// Current fault knobs; `*_next` counters show what is left.
    pub fn faults(&self) -> Faults {
        self.state.faults()
    }

    /// Request counters (like `GET /_sim/stats`).
    pub fn stats(&self) -> Stats {
        self.state.stats()
    }

    /// Back to the start-up state (like `POST /_sim/reset`).
    pub fn reset(&self) {
        self.state.reset();
    }

    /// The shared state, e.g. to build another [`router`] on it.
    pub fn state(&self) -> &SimState {
        &self.state
    }

    /// Stops accepting connections and waits (up to 5 s) for open ones.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
