//! Workflows that run other workflows (`tests/fixtures/arazzo/transfers.arazzo.yaml`), against
//! the Prisma simulator: `dependsOn` runs first and its outputs are read through
//! `$workflows.<id>.outputs`; a `goto` failure action naming a workflow transfers to it; a
//! `retry` action naming a workflow runs it before each retry.

use capgen_runtime::workflow::{Outcome, RunOptions, WorkflowError};
use capgen_runtime::{Auth, ClientConfig};
use prisma_simulator::{RunningSimulator, SimulatorConfig};
use serde_json::json;

mod transfers {
    capgen_macros::include_capability!(
        "../specs/prisma/capabilities/postgres-management-database-backups.yaml",
        arazzo = ["fixtures/arazzo/transfers.arazzo.yaml"],
        sources = ["postgresManagementApi=../specs/prisma/openapi/prisma-postgres-management-openapi.yml"],
    );
}

use transfers::client::Clients;
use transfers::client::postgres_management_database_backups::Client;
use transfers::workflows as w;

async fn simulator() -> RunningSimulator {
    prisma_simulator::start(SimulatorConfig::default()).await.expect("the simulator starts")
}

fn clients(sim: &RunningSimulator) -> Clients {
    let config = ClientConfig::new(sim.base_uri()).with_auth(Auth::bearer("sim-token"));
    Clients { postgres_management_database_backups: Client::new(config).expect("valid config") }
}

/// `(workflow, step, status, outcome)` of every attempt.
fn steps(trace: &[capgen_runtime::workflow::TraceEntry]) -> Vec<(&str, &str, Option<u16>, &Outcome)> {
    trace.iter().map(|e| (e.workflow_id.as_str(), e.step_id.as_str(), e.status, &e.outcome)).collect()
}

#[tokio::test]
async fn depends_on_runs_first_and_its_outputs_are_read() {
    let sim = simulator().await;
    let inputs = w::BackupAfterLookingInputs { database_id: "db_123".into(), label: Some("nightly".into()) };
    let run = w::backup_after_looking_traced(&clients(&sim), &inputs, &RunOptions::default()).await;
    let outputs = run.result.expect("the workflow completes");
    assert_eq!(outputs.previous, json!("bkp_1"), "the seed backup, read before the new one exists");
    let created = outputs.created.expect("a backup id");
    assert!(created.starts_with("bkp_") && created != "bkp_1", "{created}");
    assert_eq!(steps(&run.trace), [
        ("latest-backup", "list", Some(200), &Outcome::Succeeded),
        ("backup-after-looking", "create", Some(202), &Outcome::Succeeded),
    ]);
    let stats = sim.stats();
    assert_eq!((stats.list_backups, stats.create_backup), (1, 1));
}

#[tokio::test]
async fn a_goto_naming_a_workflow_transfers_to_it() {
    let sim = simulator().await;
    let clients = clients(&sim);

    // The restore is refused (404): the failure action runs `latest-backup`, and the run ends
    // successfully with the restore's outputs unset.
    let inputs = w::RestoreOrLookInputs { database_id: "db_123".into(), backup_id: "bkp_missing".into() };
    let run = w::restore_or_look_traced(&clients, &inputs, &RunOptions::default()).await;
    assert_eq!(run.result.expect("the goto recovers").status, None);
    assert_eq!(steps(&run.trace), [
        ("restore-or-look", "restore", Some(404), &Outcome::FailedOver),
        ("latest-backup", "list", Some(200), &Outcome::Succeeded),
    ]);

    // Accepted: no transfer.
    let inputs = w::RestoreOrLookInputs { database_id: "db_123".into(), backup_id: "bkp_1".into() };
    let run = w::restore_or_look_traced(&clients, &inputs, &RunOptions::default()).await;
    assert_eq!(run.result.expect("restored").status.as_deref(), Some("restoring"));
    assert_eq!(run.trace.len(), 1);

    // The workflow transferred to can fail too, and then the run fails there.
    let inputs = w::RestoreOrLookInputs { database_id: "db_missing".into(), backup_id: "bkp_1".into() };
    let error = w::restore_or_look(&clients, &inputs, &RunOptions::default()).await.expect_err("no such database to list");
    assert!(matches!(&error, WorkflowError::StepFailed { workflow, step, status: Some(404), .. } if workflow == "latest-backup" && step == "list"), "{error:?}");
    // A status the action's criteria do not cover fails the run at the step.
    let unauthorized = Clients {
        postgres_management_database_backups: Client::new(ClientConfig::new(sim.base_uri()).with_auth(Auth::bearer("wrong"))).expect("config"),
    };
    let error = w::restore_or_look(&unauthorized, &inputs, &RunOptions::default()).await.expect_err("401 is not covered");
    assert!(matches!(&error, WorkflowError::StepFailed { step, status: Some(401), .. } if step == "restore"), "{error:?}");
}

#[tokio::test]
async fn a_retry_naming_a_workflow_runs_it_before_each_retry() {
    let sim = simulator().await;
    let clients = clients(&sim);
    // A manual backup that completes after a few polls of its database's backup list.
    let inputs = w::BackupAfterLookingInputs { database_id: "db_123".into(), label: None };
    w::backup_after_looking(&clients, &inputs, &RunOptions::default()).await.expect("a backup is created");

    let run = w::wait_for_backup_traced(&clients, &w::WaitForBackupInputs { database_id: "db_123".into() }, &RunOptions::default()).await;
    assert_eq!(run.result.expect("the backup completes within the retry limit").status.as_deref(), Some("completed"));
    let trace = steps(&run.trace);
    let (last, earlier) = trace.split_last().expect("a trace");
    assert_eq!(*last, ("wait-for-backup", "check", Some(200), &Outcome::Succeeded));
    assert!(!earlier.is_empty(), "{trace:?}");
    // Each failed check is followed by a run of `latest-backup`, then the check again.
    for pair in earlier.chunks(2) {
        assert!(matches!(pair[0], ("wait-for-backup", "check", Some(200), Outcome::Retrying { .. })), "{trace:?}");
        assert_eq!(pair[1], ("latest-backup", "list", Some(200), &Outcome::Succeeded), "{trace:?}");
    }
}
