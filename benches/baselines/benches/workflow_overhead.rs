//! Per-step overhead of the compiled seed workflow: time per run minus the time of the same
//! upstream calls made directly with the typed client, against the zero-latency simulator.
//!
//!     cargo bench -p capgen-baselines --bench workflow_overhead
//!
//! Both sides make the same three requests (create, list — already `completed`, restore), on
//! one client, sequentially, so the difference is what the workflow adds: expression
//! evaluation, criteria, outputs, the trace and the loop. Reports medians over rounds.

use std::time::{Duration, Instant};

use capgen_runtime::workflow::RunOptions;
use capgen_runtime::{ClientConfig, Secret};
use prisma_postgres_backups::client::{Clients, postgres_management_database_backups::Client};
use prisma_postgres_backups::workflows::{BackupAndRestoreDatabaseInputs, backup_and_restore_database};
use prisma_simulator::SimulatorConfig;

const RUNS_PER_ROUND: u32 = 50;
const ROUNDS: usize = 15;
const STEPS: u32 = 3;

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // Backups complete at the first poll: the workflow runs exactly three steps.
    let config = SimulatorConfig { polls_to_in_progress: 0, polls_to_complete: 1, ..SimulatorConfig::default() };
    let sim = prisma_simulator::start(config).await.expect("simulator");
    let client_config = ClientConfig::new(sim.base_uri()).with_auth(capgen_runtime::Auth::Bearer { token: Secret::from("sim-token") });
    let client = Client::new(client_config).expect("client");
    let clients = Clients { postgres_management_database_backups: client.clone() };
    let inputs = BackupAndRestoreDatabaseInputs { api_token: "sim-token".into(), database_id: "db_123".into(), backup_label: None };
    let options = RunOptions::default();

    // Warm up connections and caches.
    for _ in 0..20 {
        backup_and_restore_database(&clients, &inputs, &options).await.expect("workflow runs");
    }

    let mut workflow_rounds = Vec::new();
    let mut direct_rounds = Vec::new();
    for _ in 0..ROUNDS {
        // Each batch starts from the same state (the list grows with every backup created).
        sim.reset();
        let start = Instant::now();
        for _ in 0..RUNS_PER_ROUND {
            backup_and_restore_database(&clients, &inputs, &options).await.expect("workflow runs");
        }
        workflow_rounds.push(start.elapsed() / RUNS_PER_ROUND);

        sim.reset();
        let start = Instant::now();
        for _ in 0..RUNS_PER_ROUND {
            let backup = client.create_database_backup("db_123", None).await.expect("create");
            let list = client.list_database_backups("db_123").await.expect("list");
            assert!(list.data.is_some_and(|d| !d.is_empty()));
            client.restore_database_backup("db_123", &backup.id).await.expect("restore");
        }
        direct_rounds.push(start.elapsed() / RUNS_PER_ROUND);
    }
    let workflow = median(workflow_rounds);
    let direct = median(direct_rounds);
    let overhead = workflow.saturating_sub(direct) / STEPS;
    println!("workflow run (3 steps):        {workflow:>10.1?}  ({:.0} runs/s)", 1.0 / workflow.as_secs_f64());
    println!("same 3 calls, typed client:    {direct:>10.1?}");
    println!("per-step overhead (median):    {overhead:>10.1?}");
}
