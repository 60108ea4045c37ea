//! The seed's Arazzo workflow, compiled by `include_capability!` and run against the Prisma
//! simulator: polling on request, failing clearly without it, upstream failures (failed
//! backups, a wrong token, an unknown database), an exhausted retry budget, the step budget and
//! the deadline.

use std::time::Duration;

use capgen_runtime::workflow::{Outcome, RunOptions, WorkflowError};
use capgen_runtime::{Auth, ClientConfig};
use prisma_simulator::{Faults, RunningSimulator, SimulatorConfig};

// The spec's warnings (shown by `capgen check`) are known here.
#[allow(deprecated)]
mod prisma {
    capgen_macros::include_capability!(
        "../specs/prisma/capabilities/postgres-management-database-backups.yaml",
        arazzo = ["../specs/prisma/arazzo/prisma-postgres-backup-and-restore-workflow.yml"],
    );
}

use prisma::client::Clients;
use prisma::client::postgres_management_database_backups::Client;
use prisma::workflows::{BackupAndRestoreDatabaseInputs, backup_and_restore_database, backup_and_restore_database_traced};

async fn simulator(config: SimulatorConfig) -> RunningSimulator {
    prisma_simulator::start(config).await.expect("the simulator starts")
}

/// Clients without their own authentication, so the workflow's `Authorization` header (from
/// `apiToken`) is what the upstream sees.
fn clients(sim: &RunningSimulator) -> Clients {
    Clients {
        postgres_management_database_backups: Client::new(ClientConfig::new(sim.base_uri()).with_auth(Auth::None)).expect("valid config"),
    }
}

fn inputs(token: &str, database: &str) -> BackupAndRestoreDatabaseInputs {
    BackupAndRestoreDatabaseInputs {
        api_token: token.to_string(),
        database_id: database.to_string(),
        backup_label: Some("before-migration".to_string()),
    }
}

fn polling(limit: u32) -> RunOptions {
    RunOptions::default().with_retry_unmatched(limit, Duration::from_millis(10))
}

#[tokio::test]
async fn polls_until_the_backup_completes_then_restores() {
    let sim = simulator(SimulatorConfig::default()).await;
    let run = backup_and_restore_database_traced(&clients(&sim), &inputs("sim-token", "db_123"), &polling(5)).await;
    let outputs = run.result.expect("the workflow completes");
    // Typed from the OpenAPI response schemas (`DatabaseBackup.id`, the restore's `status`).
    assert_eq!(outputs.restore_status.as_deref(), Some("restoring"));
    let backup_id = outputs.backup_id.as_deref().expect("a backup id");
    assert!(backup_id.starts_with("bkp_") && backup_id != "bkp_1", "{backup_id}");

    let steps: Vec<(&str, u32, Option<u16>, &Outcome)> =
        run.trace.iter().map(|e| (e.step_id.as_str(), e.attempt, e.status, &e.outcome)).collect();
    assert_eq!(steps, vec![
        ("createBackup", 1, Some(202), &Outcome::Succeeded),
        ("pollBackup", 1, Some(200), &Outcome::Retrying { delay: Duration::from_millis(10) }),
        ("pollBackup", 2, Some(200), &Outcome::Succeeded),
        ("restoreBackup", 1, Some(202), &Outcome::Succeeded),
    ]);
    let stats = sim.stats();
    assert_eq!((stats.create_backup, stats.list_backups, stats.restore_backup), (1, 2, 1));
    // The trace never carries the token.
    assert!(!format!("{:?}", run.trace).contains("sim-token"));
}

#[tokio::test]
async fn without_polling_the_workflow_fails_at_poll_backup() {
    let sim = simulator(SimulatorConfig::default()).await;
    let error = backup_and_restore_database(&clients(&sim), &inputs("sim-token", "db_123"), &RunOptions::default())
        .await
        .expect_err("the backup is still in progress at the first poll");
    assert_eq!(error.step(), "pollBackup");
    assert_eq!(error.status(), Some(200));
    assert_eq!(
        error.to_string(),
        "workflow `backup-and-restore-database` failed at step `pollBackup` (HTTP 200): success criterion `$.data[0].status == \"completed\"` was not met"
    );
    assert_eq!(sim.stats().restore_backup, 0);
}

#[tokio::test]
async fn failed_backups_fail_the_workflow() {
    let sim = simulator(SimulatorConfig { fail_backups: true, ..SimulatorConfig::default() }).await;
    let error = backup_and_restore_database(&clients(&sim), &inputs("sim-token", "db_123"), &polling(3))
        .await
        .expect_err("the backup ends in `failed`");
    assert_eq!(error.step(), "pollBackup");
    assert!(error.to_string().contains("still not met after 3 retries"), "{error}");
    assert_eq!(sim.stats().restore_backup, 0);
}

#[tokio::test]
async fn a_wrong_token_fails_at_create_backup_with_401() {
    let sim = simulator(SimulatorConfig::default()).await;
    let run = backup_and_restore_database_traced(&clients(&sim), &inputs("wrong-token", "db_123"), &polling(3)).await;
    let error = run.result.expect_err("the simulator rejects the token");
    assert!(matches!(&error, WorkflowError::StepFailed { step, status: Some(401), .. } if step == "createBackup"), "{error:?}");
    assert!(error.to_string().contains("`$statusCode == 202` was not met"), "{error}");
    // A 4xx is not polled, even when polling is on.
    assert_eq!(run.trace.len(), 1);
    assert!(!error.to_string().contains("wrong-token") && !format!("{error:?}").contains("wrong-token"));
}

#[tokio::test]
async fn an_unknown_database_fails_at_create_backup_with_404() {
    let sim = simulator(SimulatorConfig::default()).await;
    let error = backup_and_restore_database(&clients(&sim), &inputs("sim-token", "db_missing"), &polling(3))
        .await
        .expect_err("the database does not exist");
    assert_eq!((error.step(), error.status()), ("createBackup", Some(404)));
}

#[tokio::test]
async fn the_retry_budget_runs_out() {
    let config = SimulatorConfig { polls_to_in_progress: 1, polls_to_complete: 10, ..SimulatorConfig::default() };
    let sim = simulator(config).await;
    let run = backup_and_restore_database_traced(&clients(&sim), &inputs("sim-token", "db_123"), &polling(2)).await;
    let error = run.result.expect_err("the backup does not complete within two retries");
    assert_eq!(error.step(), "pollBackup");
    assert!(error.to_string().contains("still not met after 2 retries"), "{error}");
    assert_eq!(sim.stats().list_backups, 3);
    let last = run.trace.last().expect("a trace");
    assert_eq!((last.attempt, &last.outcome), (3, &Outcome::Failed));
}

#[tokio::test]
async fn the_step_budget_bounds_polling() {
    let sim = simulator(SimulatorConfig { polls_to_complete: 10, ..SimulatorConfig::default() }).await;
    let options = polling(100).with_max_steps(4);
    let error = backup_and_restore_database(&clients(&sim), &inputs("sim-token", "db_123"), &options)
        .await
        .expect_err("four steps are not enough");
    assert!(matches!(error, WorkflowError::StepBudgetExhausted { limit: 4, .. }), "{error:?}");
    assert_eq!(error.step(), "pollBackup");
}

#[tokio::test]
async fn the_deadline_stops_a_slow_run() {
    let sim = simulator(SimulatorConfig::default()).await;
    sim.set_faults(Faults { latency_ms: 2_000, ..Faults::default() });
    let options = polling(3).with_deadline(Duration::from_millis(200));
    let error = backup_and_restore_database(&clients(&sim), &inputs("sim-token", "db_123"), &options)
        .await
        .expect_err("the first call outlasts the deadline");
    assert!(matches!(error, WorkflowError::DeadlineExceeded { .. }), "{error:?}");
    assert_eq!(error.step(), "createBackup");
}

#[tokio::test]
async fn inputs_deserialize_from_json_and_hide_the_token_in_debug() {
    let inputs: BackupAndRestoreDatabaseInputs =
        serde_json::from_value(serde_json::json!({"apiToken": "secret-value", "databaseId": "db_123"})).expect("valid inputs");
    assert_eq!(inputs.backup_label, None);
    let debug = format!("{inputs:?}");
    assert!(debug.contains("db_123") && !debug.contains("secret-value"), "{debug}");
}

/// An upstream whose 202 carries a numeric backup `id`, where the `DatabaseBackup` schema says
/// string: the run fails at the step that captured it, naming the output, and sends nothing more.
#[tokio::test]
async fn a_wrongly_typed_step_output_fails_naming_the_step_and_output() {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/databases/{database_id}/backups",
        post(|| async { (axum::http::StatusCode::ACCEPTED, axum::Json(serde_json::json!({"id": 42, "status": "pending"}))) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let clients = Clients {
        postgres_management_database_backups: Client::new(ClientConfig::new(base).with_auth(Auth::None)).expect("valid config"),
    };
    let run = backup_and_restore_database_traced(&clients, &inputs("t", "db_123"), &RunOptions::default()).await;
    let error = run.result.expect_err("a number is not a string");
    assert!(
        matches!(&error, WorkflowError::OutputType { step, output, .. } if step == "createBackup" && output == "backupId"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "workflow `backup-and-restore-database` failed at step `createBackup`: output `backupId` does not match its schema: invalid type: integer `42`, expected a string"
    );
    let steps: Vec<(&str, Option<u16>, &Outcome)> = run.trace.iter().map(|e| (e.step_id.as_str(), e.status, &e.outcome)).collect();
    assert_eq!(steps, vec![("createBackup", None, &Outcome::Error)]);
}

/// The outputs serialize as before typing: strings, and `null` where a step did not run.
#[test]
fn typed_outputs_serialize_like_json_values() {
    let outputs = prisma::workflows::BackupAndRestoreDatabaseOutputs { backup_id: Some("bkp_1".to_string()), restore_status: None };
    assert_eq!(serde_json::to_string(&outputs).expect("serializes"), r#"{"backupId":"bkp_1","restoreStatus":null}"#);
    let back: prisma::workflows::BackupAndRestoreDatabaseOutputs = serde_json::from_str(r#"{"backupId":"bkp_1"}"#).expect("deserializes");
    assert_eq!(back, outputs);
}
