//! Durable workflows on a real Restate server: the generated binary's `restate-serve` (built with
//! the `restate` feature) serves the seed workflow, `run --durable` submits runs, and the Prisma
//! simulator counts what reached the upstream.
//!
//! Ignored by `cargo test`: they need `restate-server` and the binary built with `restate`.
//! `scripts/restate.sh` (run by `.ci/run`) installs the server, builds the binary and runs them
//! with `RESTATE_SERVER_BIN` and `CAPGEN_RESTATE_SERVE_BIN` set.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use prisma_simulator::{RunningSimulator, SimulatorConfig};
use serde_json::{Value, json};

const WORKFLOW: &str = "backup-and-restore-database";
/// The upstream token: only ever in restate-serve's environment, never in the journal.
const TOKEN: &str = "tok-restate-7f3a9c-never-journaled";

fn restate_server_bin() -> PathBuf {
    PathBuf::from(std::env::var("RESTATE_SERVER_BIN").expect("RESTATE_SERVER_BIN (scripts/restate.sh sets it)"))
}

fn serve_bin() -> PathBuf {
    PathBuf::from(std::env::var("CAPGEN_RESTATE_SERVE_BIN").expect("CAPGEN_RESTATE_SERVE_BIN (scripts/restate.sh sets it)"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn append_log(path: &Path) -> (Stdio, Stdio) {
    let file = OpenOptions::new().create(true).append(true).open(path).expect("log file");
    (Stdio::from(file.try_clone().expect("log file")), Stdio::from(file))
}

async fn wait_for(what: &str, timeout: Duration, mut ready: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !ready().await {
        assert!(started.elapsed() < timeout, "{what} within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A `restate-server` in a temporary directory; its data survives restarts.
struct Restate {
    dir: tempfile::TempDir,
    ingress: u16,
    admin: u16,
    fabric: u16,
    child: Option<Child>,
}

impl Restate {
    async fn start() -> Self {
        let mut restate = Restate { dir: tempfile::tempdir().expect("temp dir"), ingress: free_port(), admin: free_port(), fabric: free_port(), child: None };
        restate.spawn().await;
        restate
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("restate-server.log")
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn ingress_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ingress)
    }

    async fn spawn(&mut self) {
        let (stdout, stderr) = append_log(&self.log());
        let child = Command::new(restate_server_bin())
            .args(["--no-logo", "--node-name", "capgen-test", "--base-dir"])
            .arg(self.data())
            .env("RESTATE_LISTEN_MODE", "tcp")
            .env("RESTATE_INGRESS__BIND_ADDRESS", format!("127.0.0.1:{}", self.ingress))
            .env("RESTATE_ADMIN__BIND_ADDRESS", format!("127.0.0.1:{}", self.admin))
            .env("RESTATE_BIND_ADDRESS", format!("127.0.0.1:{}", self.fabric))
            .env("RESTATE_ADVERTISED_ADDRESS", format!("http://127.0.0.1:{}", self.fabric))
            .env("RESTATE_LOG_DISABLE_ANSI_CODES", "true")
            .current_dir(self.dir.path())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("restate-server starts");
        self.child = Some(child);
        let http = reqwest::Client::new();
        let health = format!("{}/restate/health", self.ingress_url());
        let admin = format!("http://127.0.0.1:{}/health", self.admin);
        wait_for("restate-server healthy", Duration::from_secs(60), async || {
            let ok = |r: Result<reqwest::Response, reqwest::Error>| r.is_ok_and(|r| r.status().is_success());
            ok(http.get(&health).send().await) && ok(http.get(&admin).send().await)
        })
        .await;
    }

    /// Stops the server like a crash (`kill -9`); its data directory stays.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Registers (or re-registers) the deployment at `port`.
    async fn register(&self, port: u16) {
        let response = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}/deployments", self.admin))
            .json(&json!({"uri": format!("http://127.0.0.1:{port}"), "force": true}))
            .send()
            .await
            .expect("admin API answers");
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "registering the deployment: HTTP {status}: {body}");
    }

    /// The rows of an admin SQL query, as text (the journal and state introspection tables).
    async fn query(&self, sql: &str) -> String {
        let response = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}/query", self.admin))
            .header("accept", "application/json")
            .json(&json!({"query": sql}))
            .send()
            .await
            .expect("admin API answers");
        assert!(response.status().is_success(), "query {sql}: HTTP {}", response.status());
        response.text().await.expect("query body")
    }
}

impl Drop for Restate {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The generated binary's `restate-serve`, with the upstream token in its environment only.
struct Serve {
    port: u16,
    base_uri: String,
    log: PathBuf,
    child: Option<Child>,
}

impl Serve {
    async fn start(sim: &RunningSimulator, log: PathBuf) -> Self {
        let mut serve = Serve { port: free_port(), base_uri: sim.base_uri(), log, child: None };
        serve.spawn().await;
        serve
    }

    async fn spawn(&mut self) {
        let (stdout, stderr) = append_log(&self.log);
        let child = Command::new(serve_bin())
            .args(["--base-uri", &format!("postgres-management-database-backups={}", self.base_uri)])
            .args(["restate-serve", "--port", &self.port.to_string()])
            .env("PRISMA_API_KEY", TOKEN)
            .env("SIM_TOKEN", TOKEN)
            .env("RUST_LOG", "info")
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("restate-serve starts");
        self.child = Some(child);
        let port = self.port;
        wait_for("restate-serve listening", Duration::from_secs(20), async || tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok()).await;
    }

    /// `kill -9`: no graceful shutdown, the in-flight invocation is simply gone.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One test's world: simulator, Restate, restate-serve (registered).
struct World {
    sim: RunningSimulator,
    restate: Restate,
    serve: Serve,
}

impl World {
    async fn start(polls_to_complete: u32) -> Self {
        let sim = prisma_simulator::start(SimulatorConfig { token: TOKEN.to_owned(), polls_to_complete, ..SimulatorConfig::default() }).await.expect("simulator");
        let restate = Restate::start().await;
        let serve = Serve::start(&sim, restate.dir.path().join("restate-serve.log")).await;
        restate.register(serve.port).await;
        World { sim, restate, serve }
    }

    /// `run <workflow> --durable …` of the generated binary.
    fn run(&self, id: &str, database: &str, extra: &[&str]) -> Output {
        Command::new(serve_bin())
            .args(["run", WORKFLOW, "--durable", "--restate", &self.restate.ingress_url(), "--id", id])
            .args(["--input", "apiToken=env:SIM_TOKEN", "--input", &format!("databaseId={database}"), "--input", "backupLabel=nightly"])
            .args(["--retry-unmatched", "30", "--retry-after", "1"])
            .args(extra)
            .env("RUST_LOG", "off")
            .env_remove("PRISMA_API_KEY")
            .output()
            .expect("the binary runs")
    }

    async fn wait_for_polls(&self, polls: u64) {
        wait_for("the run polls", Duration::from_secs(60), async || self.sim.stats().list_backups >= polls).await;
    }
}

fn stdout_json(output: &Output) -> Value {
    assert!(output.status.success(), "run failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

/// The same run in process (`run` without `--durable`) against a fresh simulator.
async fn in_process_outputs(polls_to_complete: u32) -> Value {
    let sim = prisma_simulator::start(SimulatorConfig { token: TOKEN.to_owned(), polls_to_complete, ..SimulatorConfig::default() }).await.expect("simulator");
    let output = Command::new(serve_bin())
        .args(["--base-uri", &format!("postgres-management-database-backups={}", sim.base_uri())])
        .args(["run", WORKFLOW, "--input", &format!("apiToken={TOKEN}"), "--input", "databaseId=db_123", "--input", "backupLabel=nightly"])
        .args(["--retry-unmatched", "30", "--retry-after", "0.05"])
        .env("PRISMA_API_KEY", TOKEN)
        .env("RUST_LOG", "off")
        .output()
        .expect("the binary runs");
    stdout_json(&output)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Restate server: scripts/restate.sh"]
async fn happy_path_matches_the_in_process_run() {
    let world = World::start(3).await;
    let durable = stdout_json(&world.run("happy-1", "db_123", &[]));
    assert_eq!(durable["restoreStatus"], json!("restoring"), "{durable}");
    assert_eq!(durable, in_process_outputs(3).await);
    let stats = world.sim.stats();
    assert_eq!((stats.create_backup, stats.restore_backup), (1, 1));

    // `status`: the steps done, without values or tokens.
    let status: Value = reqwest::Client::new()
        .post(format!("{}/BackupAndRestoreDatabase/happy-1/status", world.restate.ingress_url()))
        .send()
        .await
        .expect("ingress answers")
        .json()
        .await
        .expect("JSON");
    let steps: Vec<(&str, &str)> = status.as_array().expect("array").iter().map(|e| (e["stepId"].as_str().unwrap(), e["outcome"].as_str().unwrap())).collect();
    assert_eq!(steps.first(), Some(&("createBackup", "succeeded")), "{status}");
    assert_eq!(steps.last(), Some(&("restoreBackup", "succeeded")), "{status}");
    assert!(steps.contains(&("pollBackup", "retrying")), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Restate server: scripts/restate.sh"]
async fn a_crash_of_restate_serve_mid_poll_resumes_the_run() {
    let mut world = World::start(4).await;
    let submitted = stdout_json(&world.run("crash-1", "db_123", &["--detach"]));
    assert!(submitted.get("invocationId").is_some(), "{submitted}");
    // The run is between polls (a durable 1 s timer): kill -9 the service, start it again.
    world.wait_for_polls(1).await;
    let killed = Instant::now();
    world.serve.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    world.serve.spawn().await;
    let polls_before = world.sim.stats().list_backups;
    world.wait_for_polls(polls_before + 1).await;
    eprintln!("kill -9 → next poll: {:?}", killed.elapsed());

    let outputs = stdout_json(&world.run("crash-1", "db_123", &[]));
    assert_eq!(outputs["restoreStatus"], json!("restoring"), "{outputs}");
    assert_eq!(outputs, in_process_outputs(4).await);
    let stats = world.sim.stats();
    assert_eq!((stats.create_backup, stats.restore_backup), (1, 1), "exactly one create and one restore: {stats:?}");
    assert_no_secret(&world).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Restate server: scripts/restate.sh"]
async fn a_restart_of_the_restate_server_mid_run_keeps_the_run() {
    let mut world = World::start(4).await;
    stdout_json(&world.run("restart-1", "db_123", &["--detach"]));
    world.wait_for_polls(1).await;
    world.restate.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    world.restate.spawn().await;

    let outputs = stdout_json(&world.run("restart-1", "db_123", &[]));
    assert_eq!(outputs["restoreStatus"], json!("restoring"), "{outputs}");
    let stats = world.sim.stats();
    assert_eq!((stats.create_backup, stats.restore_backup), (1, 1), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Restate server: scripts/restate.sh"]
async fn submitting_an_id_twice_runs_once() {
    let world = World::start(2).await;
    let first = stdout_json(&world.run("twice-1", "db_123", &[]));
    let second = stdout_json(&world.run("twice-1", "db_123", &[]));
    assert_eq!(first, second);
    let detached = stdout_json(&world.run("twice-1", "db_123", &["--detach"]));
    assert_eq!(detached["status"], json!("PreviouslyAccepted"), "{detached}");
    let stats = world.sim.stats();
    assert_eq!((stats.create_backup, stats.restore_backup), (1, 1), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Restate server: scripts/restate.sh"]
async fn an_upstream_404_is_a_terminal_failure_naming_the_step() {
    let world = World::start(2).await;
    let started = Instant::now();
    let output = world.run("missing-1", "db_missing", &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("createBackup") && stderr.contains("404"), "{stderr}");
    // Terminal: no Restate retries (they would keep calling the upstream).
    assert!(started.elapsed() < Duration::from_secs(20));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(world.sim.stats().create_backup, 1);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Restate server: scripts/restate.sh"]
async fn credentials_in_clear_are_refused_before_submission() {
    let world = World::start(2).await;
    let output = Command::new(serve_bin())
        .args(["run", WORKFLOW, "--durable", "--restate", &world.restate.ingress_url(), "--id", "clear-1"])
        .args(["--input", &format!("apiToken={TOKEN}"), "--input", "databaseId=db_123"])
        .env("RUST_LOG", "off")
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("apiToken=env:VARIABLE") && !stderr.contains(TOKEN), "{stderr}");
    assert_eq!(world.sim.stats().create_backup, 0);
    // By reference it runs, and the token stays out of Restate.
    stdout_json(&world.run("clear-2", "db_123", &[]));
    assert_no_secret(&world).await;
}

/// The token is nowhere in Restate's journal (raw entries decoded), state, data directory or
/// logs, nor in restate-serve's log; the journal does hold the `env:` reference (so the
/// inspection sees the inputs).
async fn assert_no_secret(world: &World) {
    let journal: Value = serde_json::from_str(&world.restate.query("SELECT raw FROM sys_journal").await).expect("JSON rows");
    let entries: Vec<Vec<u8>> = journal["rows"].as_array().expect("rows").iter().map(|row| unhex(row["raw"].as_str().unwrap_or_default())).collect();
    assert!(entries.iter().any(|e| contains(e, b"env:SIM_TOKEN")), "the journal holds the submitted inputs");
    assert!(!entries.iter().any(|e| contains(e, TOKEN.as_bytes())), "the token is in the Restate journal");
    let state = world.restate.query("SELECT * FROM state").await;
    assert!(!state.contains(TOKEN), "the token is in the Restate state");
    let mut files = Vec::new();
    collect_files(world.restate.dir.path(), &mut files);
    assert!(files.iter().any(|f| f.ends_with("restate-server.log")) && files.iter().any(|f| f.ends_with("restate-serve.log")));
    for file in &files {
        let bytes = std::fs::read(file).unwrap_or_default();
        assert!(!contains(&bytes, TOKEN.as_bytes()), "the token is in {}", file.display());
    }
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len() / 2).filter_map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, files);
        } else if File::open(&path).is_ok() {
            files.push(path);
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Numbers for BENCHMARKS.md (`scripts/restate.sh` prints them): the seed workflow (3 steps, no
/// polling) run in process and on Restate against the same simulator, sequentially; and the
/// time from a `kill -9` of restate-serve to the run going on (in the crash test above).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Restate server: scripts/restate.sh"]
async fn overhead_on_restate_against_in_process() {
    const RUNS: u32 = 30;
    let world = World::start(1).await;
    let config = capgen_runtime::ClientConfig::new(world.sim.base_uri()).with_auth(capgen_runtime::Auth::None);
    let sim_clients = prisma_postgres_backups::client::Clients {
        postgres_management_database_backups: prisma_postgres_backups::client::postgres_management_database_backups::Client::new(config).expect("client"),
    };
    let inputs = prisma_postgres_backups::workflows::BackupAndRestoreDatabaseInputs {
        api_token: TOKEN.to_owned(),
        database_id: "db_456".to_owned(),
        backup_label: None,
    };
    let options = capgen_runtime::workflow::RunOptions::default().with_retry_unmatched(5, Duration::ZERO);
    let started = Instant::now();
    let mut steps = 0;
    let mut in_process = Vec::new();
    for _ in 0..RUNS {
        let run = prisma_postgres_backups::workflows::backup_and_restore_database_traced(&sim_clients, &inputs, &options).await;
        steps += run.trace.len();
        in_process.push(serde_json::to_value(run.result.expect("in-process run")).expect("JSON"));
    }
    let local = started.elapsed();

    let http = reqwest::Client::new();
    let request = json!({
        "inputs": {"apiToken": "env:SIM_TOKEN", "databaseId": "db_456"},
        "options": {"retryUnmatched": 5, "retryAfterSeconds": 0.0}
    });
    let started = Instant::now();
    for i in 0..RUNS {
        let response = http.post(format!("{}/BackupAndRestoreDatabase/bench-{i}/run", world.restate.ingress_url())).json(&request).send().await.expect("ingress");
        assert!(response.status().is_success(), "HTTP {}", response.status());
        let outputs: Value = response.json().await.expect("JSON");
        assert_eq!(outputs["restoreStatus"], json!("restoring"));
    }
    let durable = started.elapsed();
    assert_eq!(in_process.last().map(|o| &o["restoreStatus"]), Some(&json!("restoring")));
    let steps_per_run = steps as f64 / f64::from(RUNS);
    let per_run = |d: Duration| d.as_secs_f64() * 1000.0 / f64::from(RUNS);
    eprintln!(
        "seed workflow, {RUNS} sequential runs, {steps_per_run:.0} steps each: in process {:.2} ms/run ({:.0} runs/s); on Restate {:.2} ms/run ({:.0} runs/s); ratio {:.1}x; per-step overhead on Restate {:.2} ms",
        per_run(local),
        f64::from(RUNS) / local.as_secs_f64(),
        per_run(durable),
        f64::from(RUNS) / durable.as_secs_f64(),
        durable.as_secs_f64() / local.as_secs_f64(),
        (per_run(durable) - per_run(local)) / steps_per_run,
    );
}
