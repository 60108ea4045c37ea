//! Shared simulator state: the backup store and its status progression, the
//! active fault knobs, and request counters. Locks are `std` mutexes held only
//! for short, non-async critical sections.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::config::{ApiRoute, Faults, SimulatorConfig};
use crate::model::{ApiError, BackupStatus, BackupType, DatabaseBackup, rfc3339};

/// Cheaply clonable handle on the simulator state; pass it to [`crate::router`].
#[derive(Clone)]
pub struct SimState {
    inner: Arc<Inner>,
}

struct Inner {
    config: SimulatorConfig,
    store: Mutex<Store>,
    faults: Mutex<FaultState>,
    counters: Counters,
}

#[derive(Default)]
struct Store {
    /// Backups per database, oldest first.
    databases: HashMap<String, Vec<Backup>>,
    next_id: u64,
}

struct Backup {
    view: DatabaseBackup,
    polls: u32,
    created: Instant,
    created_wall: SystemTime,
    /// Seeds never change status.
    frozen: bool,
    will_fail: bool,
}

struct FaultState {
    faults: Faults,
    /// API requests seen since the faults were set (drives `error_rate`).
    requests: u64,
}

/// A fault that answers the request before it reaches the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportFault {
    Drop,
    Reset,
    RateLimit { retry_after_secs: u64 },
    Fail,
}

/// A fault that rewrites a successful answer's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyFault {
    Malformed,
    Oversized { bytes: usize },
}

/// Routes counted in [`Stats`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Route {
    ListBackups,
    CreateBackup,
    RestoreBackup,
    Healthz,
    Unmatched,
}

impl Route {
    fn api_route(self) -> Option<ApiRoute> {
        match self {
            Route::ListBackups => Some(ApiRoute::ListBackups),
            Route::CreateBackup => Some(ApiRoute::CreateBackup),
            Route::RestoreBackup => Some(ApiRoute::RestoreBackup),
            Route::Healthz | Route::Unmatched => None,
        }
    }
}

#[derive(Default)]
struct Counters {
    routes: [AtomicU64; 5],
    dropped: AtomicU64,
    reset: AtomicU64,
    rate_limited: AtomicU64,
    failed: AtomicU64,
    malformed: AtomicU64,
    oversized: AtomicU64,
    delayed: AtomicU64,
}

/// Request counters, as returned by `GET /_sim/stats`. Route counters count
/// every request that reached the route, including ones answered with 401 or
/// an injected fault.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// `GET /v1/databases/{databaseId}/backups`
    pub list_backups: u64,
    /// `POST /v1/databases/{databaseId}/backups`
    pub create_backup: u64,
    /// `POST /v1/databases/{databaseId}/backups/{backupId}/restore`
    pub restore_backup: u64,
    /// `GET /healthz`
    pub healthz: u64,
    /// Requests under `/v1` that matched no route.
    pub unmatched: u64,
    /// How many faults were actually injected.
    pub injected: InjectedFaults,
}

/// Injected-fault counters, part of [`Stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InjectedFaults {
    pub dropped: u64,
    pub reset: u64,
    pub rate_limited: u64,
    pub failed: u64,
    pub malformed: u64,
    pub oversized: u64,
    /// Requests that slept `latency_ms` (a non-zero latency).
    pub delayed: u64,
}

impl SimState {
    /// Builds the state (seed backups included) from a configuration.
    pub fn new(config: SimulatorConfig) -> Self {
        let store = Store::seeded(&config);
        let faults = FaultState {
            faults: config.faults.clone(),
            requests: 0,
        };
        Self {
            inner: Arc::new(Inner {
                config,
                store: Mutex::new(store),
                faults: Mutex::new(faults),
                counters: Counters::default(),
            }),
        }
    }

    pub(crate) fn token(&self) -> &str {
        &self.inner.config.token
    }

    /// Replaces all fault knobs (counters and the `error_rate` sequence restart).
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.inner.faults) = FaultState {
            faults,
            requests: 0,
        };
    }

    /// Current fault knobs, with `*_next` counters showing what is left.
    pub fn faults(&self) -> Faults {
        lock(&self.inner.faults).faults.clone()
    }

    /// Back to the start-up state: seed backups only, start-up faults, zero counters.
    pub fn reset(&self) {
        *lock(&self.inner.store) = Store::seeded(&self.inner.config);
        self.set_faults(self.inner.config.faults.clone());
        let c = &self.inner.counters;
        for counter in c.routes.iter().chain([
            &c.dropped,
            &c.reset,
            &c.rate_limited,
            &c.failed,
            &c.malformed,
            &c.oversized,
            &c.delayed,
        ]) {
            counter.store(0, Ordering::Relaxed);
        }
    }

    /// Snapshot of the request counters.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            list_backups: get(&c.routes[Route::ListBackups as usize]),
            create_backup: get(&c.routes[Route::CreateBackup as usize]),
            restore_backup: get(&c.routes[Route::RestoreBackup as usize]),
            healthz: get(&c.routes[Route::Healthz as usize]),
            unmatched: get(&c.routes[Route::Unmatched as usize]),
            injected: InjectedFaults {
                dropped: get(&c.dropped),
                reset: get(&c.reset),
                rate_limited: get(&c.rate_limited),
                failed: get(&c.failed),
                malformed: get(&c.malformed),
                oversized: get(&c.oversized),
                delayed: get(&c.delayed),
            },
        }
    }

    pub(crate) fn count(&self, route: Route) {
        self.inner.counters.routes[route as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Called once per API request: returns the latency to add and the
    /// transport fault to inject, consuming one count of it. Requests of
    /// another route than [`Faults::route`] get neither (and consume nothing).
    pub(crate) fn take_transport_fault(&self, route: Route) -> (Duration, Option<TransportFault>) {
        let mut state = lock(&self.inner.faults);
        if !targeted(&state.faults, route) {
            return (Duration::ZERO, None);
        }
        state.requests += 1;
        let n = state.requests;
        let f = &mut state.faults;
        let latency = Duration::from_millis(f.latency_ms);
        let c = &self.inner.counters;
        if !latency.is_zero() {
            c.delayed.fetch_add(1, Ordering::Relaxed);
        }
        let fault = if take(&mut f.drop_next) {
            c.dropped.fetch_add(1, Ordering::Relaxed);
            Some(TransportFault::Drop)
        } else if take(&mut f.reset_next) {
            c.reset.fetch_add(1, Ordering::Relaxed);
            Some(TransportFault::Reset)
        } else if take(&mut f.rate_limit_next) {
            c.rate_limited.fetch_add(1, Ordering::Relaxed);
            Some(TransportFault::RateLimit {
                retry_after_secs: f.retry_after_secs,
            })
        } else if take(&mut f.fail_next) || error_rate_hits(f.error_rate, n) {
            c.failed.fetch_add(1, Ordering::Relaxed);
            Some(TransportFault::Fail)
        } else {
            None
        };
        (latency, fault)
    }

    /// Called for successful API answers: the body fault to apply, if any.
    pub(crate) fn take_body_fault(&self, route: Route) -> Option<BodyFault> {
        let mut state = lock(&self.inner.faults);
        if !targeted(&state.faults, route) {
            return None;
        }
        let f = &mut state.faults;
        let c = &self.inner.counters;
        if take(&mut f.malformed_next) {
            c.malformed.fetch_add(1, Ordering::Relaxed);
            Some(BodyFault::Malformed)
        } else if take(&mut f.oversized_next) {
            c.oversized.fetch_add(1, Ordering::Relaxed);
            Some(BodyFault::Oversized {
                bytes: f.oversized_bytes,
            })
        } else {
            None
        }
    }

    /// Lists a database's backups, newest first; counts as one poll for each.
    pub(crate) fn list_backups(&self, database_id: &str) -> Result<Vec<DatabaseBackup>, ApiError> {
        let config = &self.inner.config;
        let mut store = lock(&self.inner.store);
        let backups = store.database(database_id)?;
        let (now, wall_now) = (Instant::now(), SystemTime::now());
        Ok(backups
            .iter_mut()
            .rev()
            .map(|b| {
                b.refresh(config, now, wall_now, true);
                b.view.clone()
            })
            .collect())
    }

    /// Starts a manual backup (status `pending`).
    pub(crate) fn create_backup(&self, database_id: &str) -> Result<DatabaseBackup, ApiError> {
        let mut store = lock(&self.inner.store);
        store.database(database_id)?;
        let wall_now = SystemTime::now();
        let backup = store.insert(
            database_id,
            BackupType::Manual,
            wall_now,
            false,
            self.inner.config.fail_backups,
        );
        Ok(backup.view.clone())
    }

    /// Checks that a backup can be restored (it must be `completed`).
    pub(crate) fn restore_backup(
        &self,
        database_id: &str,
        backup_id: &str,
    ) -> Result<(), ApiError> {
        let mut store = lock(&self.inner.store);
        let backup = store
            .database(database_id)?
            .iter_mut()
            .find(|b| b.view.id == backup_id)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "Backup '{backup_id}' not found for database '{database_id}'"
                ))
            })?;
        backup.refresh(&self.inner.config, Instant::now(), SystemTime::now(), false);
        match backup.view.status {
            BackupStatus::Completed => Ok(()),
            BackupStatus::Failed => Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("Backup '{backup_id}' failed and cannot be restored"),
            )),
            BackupStatus::Pending | BackupStatus::InProgress => Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("Backup '{backup_id}' is not completed yet"),
            )),
        }
    }
}

impl Store {
    fn seeded(config: &SimulatorConfig) -> Self {
        let mut store = Store {
            databases: config
                .databases
                .iter()
                .map(|db| (db.clone(), Vec::new()))
                .collect(),
            next_id: 0,
        };
        let now = SystemTime::now();
        let seeds = &config.seed_backups;
        for (i, seed) in seeds.iter().enumerate() {
            // Seeds are a day apart, the last one a day ago.
            let age = Duration::from_secs(86_400 * (seeds.len() - i) as u64);
            let created = now.checked_sub(age).unwrap_or(now);
            let b = store.insert(
                &seed.database_id,
                BackupType::Automatic,
                created,
                true,
                false,
            );
            b.view.status = seed.status;
            if seed.status == BackupStatus::Completed {
                b.complete(created + Duration::from_secs(600));
            }
        }
        store
    }

    fn database(&mut self, database_id: &str) -> Result<&mut Vec<Backup>, ApiError> {
        self.databases
            .get_mut(database_id)
            .ok_or_else(|| ApiError::not_found(format!("Database '{database_id}' not found")))
    }

    fn insert(
        &mut self,
        database_id: &str,
        backup_type: BackupType,
        created_wall: SystemTime,
        frozen: bool,
        will_fail: bool,
    ) -> &mut Backup {
        self.next_id += 1;
        let backup = Backup {
            view: DatabaseBackup {
                id: format!("bkp_{}", self.next_id),
                database_id: database_id.to_owned(),
                backup_type,
                status: BackupStatus::Pending,
                size_bytes: None,
                created_at: rfc3339(created_wall),
                completed_at: None,
            },
            polls: 0,
            created: Instant::now(),
            created_wall,
            frozen,
            will_fail,
        };
        let list = self.databases.entry(database_id.to_owned()).or_default();
        list.push(backup);
        list.last_mut().expect("just pushed")
    }
}

impl Backup {
    /// Advances the status: by list polls, or by elapsed time if
    /// `complete_after` is set.
    fn refresh(
        &mut self,
        config: &SimulatorConfig,
        now: Instant,
        wall_now: SystemTime,
        polled: bool,
    ) {
        let status = self.view.status;
        if self.frozen || matches!(status, BackupStatus::Completed | BackupStatus::Failed) {
            return;
        }
        if polled {
            self.polls = self.polls.saturating_add(1);
        }
        let (in_progress, finished, finished_at) = match config.complete_after {
            Some(after) => {
                let elapsed = now.duration_since(self.created);
                (
                    elapsed >= after / 2,
                    elapsed >= after,
                    self.created_wall + after,
                )
            }
            None => (
                self.polls >= config.polls_to_in_progress,
                self.polls >= config.polls_to_complete,
                wall_now,
            ),
        };
        if finished && self.will_fail {
            self.view.status = BackupStatus::Failed;
        } else if finished {
            self.complete(finished_at);
        } else if in_progress {
            self.view.status = BackupStatus::InProgress;
        }
    }

    fn complete(&mut self, at: SystemTime) {
        let n: i64 = self.view.id.trim_start_matches("bkp_").parse().unwrap_or(0);
        self.view.status = BackupStatus::Completed;
        self.view.size_bytes = Some(50 * 1024 * 1024 + n * 4096);
        self.view.completed_at = Some(rfc3339(at));
    }
}

/// Whether the faults apply to a request of `route` (see [`Faults::route`]).
fn targeted(faults: &Faults, route: Route) -> bool {
    faults
        .route
        .is_none_or(|only| route.api_route() == Some(only))
}

/// Decrements a `*_next` counter; true if it was non-zero.
fn take(counter: &mut u32) -> bool {
    let hit = *counter > 0;
    *counter = counter.saturating_sub(1);
    hit
}

/// Deterministic `error_rate`: request `n` (1-based) fails when
/// `floor(n * rate) > floor((n - 1) * rate)`, in parts per million.
fn error_rate_hits(rate: f64, n: u64) -> bool {
    if rate.is_nan() || rate <= 0.0 {
        return false;
    }
    let ppm = (rate.min(1.0) * 1_000_000.0).round() as u64;
    (n * ppm) / 1_000_000 > ((n - 1) * ppm) / 1_000_000
}

/// Locks a mutex, ignoring poisoning (no critical section can leave the data
/// half-updated in a way that matters to a simulator).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::error_rate_hits;

    #[test]
    fn error_rate_is_evenly_spread() {
        let hits = |rate| {
            (1..=20)
                .filter(|&n| error_rate_hits(rate, n))
                .collect::<Vec<_>>()
        };
        assert_eq!(hits(0.5), [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
        assert_eq!(hits(0.25), [4, 8, 12, 16, 20]);
        assert_eq!(hits(1.0).len(), 20);
        assert!(hits(0.0).is_empty());
        assert_eq!(hits(0.1), [10, 20]);
    }
}
