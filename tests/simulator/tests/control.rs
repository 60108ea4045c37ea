//! Control endpoints (`/_sim/faults`, `/_sim/reset`, `/_sim/stats`), the
//! library counterparts, and the `prisma-simulator` binary.

mod common;

use common::{TOKEN, start};
use prisma_simulator::{Faults, Stats};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn stats_count_requests_per_route() {
    let s = start().await;
    s.list_ok("db_123").await;
    s.list("db_nope").await;
    s.http
        .get(s.url("/databases/db_123/backups"))
        .send()
        .await
        .unwrap(); // 401 still counts
    let id = s.create_ok("db_123").await;
    s.restore("db_123", &id).await;
    s.http.get(s.root("/healthz")).send().await.unwrap();

    let expected = Stats {
        list_backups: 3,
        create_backup: 1,
        restore_backup: 1,
        healthz: 1,
        ..Stats::default()
    };
    assert_eq!(s.sim.stats(), expected);

    let over_http: Stats = s
        .http
        .get(s.root("/_sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http, expected);
}

#[tokio::test]
async fn faults_can_be_set_and_read_over_http() {
    let s = start().await;
    let response = s
        .http
        .post(s.root("/_sim/faults"))
        .json(&json!({ "rate_limit_next": 1, "retry_after_secs": 3 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let faults: Faults = response.json().await.unwrap();
    assert_eq!(faults.rate_limit_next, 1);
    assert_eq!(faults.oversized_bytes, Faults::default().oversized_bytes);

    let response = s.list("db_123").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "3");

    let now: Faults = s
        .http
        .get(s.root("/_sim/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(now.rate_limit_next, 0);
    assert_eq!(now.retry_after_secs, 3);
}

#[tokio::test]
async fn bad_faults_body_is_400_json() {
    let s = start().await;
    for body in ["{oops", r#"{"error_rate": 2.0}"#, r#"{"fail_next": -1}"#] {
        let response = s
            .http
            .post(s.root("/_sim/faults"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "bad_request");
    }
    assert_eq!(s.sim.faults(), Faults::default());
}

#[tokio::test]
async fn reset_restores_start_up_state() {
    let s = start().await;
    s.create_ok("db_123").await;
    s.create_ok("db_456").await;
    s.sim.set_faults(Faults {
        fail_next: 3,
        ..Faults::default()
    });

    let response = s.http.post(s.root("/_sim/reset")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    assert_eq!(s.sim.faults(), Faults::default());
    assert_eq!(s.sim.stats(), Stats::default());
    assert_eq!(s.list_ok("db_123").await.len(), 1);
    assert!(s.list_ok("db_456").await.is_empty());
    // Ids start over after the seeds.
    assert_eq!(s.create_ok("db_456").await, "bkp_2");

    s.sim.reset();
    assert_eq!(s.sim.stats(), Stats::default());
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let s = start().await;
    let url = s.url("/databases/db_123/backups");
    let http = s.http.clone();
    assert_eq!(
        http.get(&url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // A fresh client, so no pooled connection hides the closed listener.
    s.sim.shutdown().await;
    assert!(reqwest::Client::new().get(&url).send().await.is_err());
}

#[cfg(unix)]
#[test]
fn binary_prints_base_uri_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_prisma-simulator"))
        .args([
            "--port",
            "0",
            "--token",
            "cli-token",
            "--rate-limit-next",
            "1",
        ])
        .args(["--retry-after-secs", "9", "--seed-backup", "db_456:failed"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().to_owned();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/v1"),
        "{base}"
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let url = format!("{base}/databases/db_456/backups");
        let response = http
            .get(&url)
            .bearer_auth("cli-token")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "9");
        let body: Value = http
            .get(&url)
            .bearer_auth("cli-token")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["data"][0]["status"], "failed");
        assert!(
            http.get(format!("{base}/databases/db_123/backups"))
                .bearer_auth("cli-token")
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["data"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    });

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
