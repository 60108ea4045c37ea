//! The simulated backups API: auth, 404s, create, status progression, list
//! order, restore and the failed-backups knob.

mod common;

use std::time::Duration;

use common::{TOKEN, assert_error, start, start_with};
use prisma_simulator::{BackupStatus, DatabaseBackup, SeedBackup, SimulatorConfig};
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn missing_or_wrong_token_is_401_with_error_body() {
    let s = start().await;
    let url = s.url("/databases/db_123/backups");

    let response = s.http.get(&url).send().await.unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let response = s.http.get(&url).bearer_auth("wrong").send().await.unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let response = s
        .http
        .post(&url)
        .header("authorization", TOKEN)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;

    // Nothing was created by the unauthorized POST.
    assert_eq!(s.list_ok("db_123").await.len(), 1);
}

#[tokio::test]
async fn custom_token_is_honoured() {
    let config = SimulatorConfig {
        token: "other".to_owned(),
        ..SimulatorConfig::default()
    };
    let s = start_with(config).await;
    let url = s.url("/databases/db_123/backups");
    let response = s.http.get(&url).bearer_auth("other").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_error(
        s.list("db_123").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn unknown_database_backup_or_route_is_404() {
    let s = start().await;
    assert_error(s.list("db_nope").await, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(
        s.create("db_nope").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        s.restore("db_nope", "bkp_1").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        s.restore("db_123", "bkp_999").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // bkp_1 belongs to db_123, not db_456.
    assert_error(
        s.restore("db_456", "bkp_1").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let response = s
        .http
        .get(s.url("/nope"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(s.sim.stats().unmatched, 1);
}

#[tokio::test]
async fn default_seed_is_one_completed_automatic_backup() {
    let s = start().await;
    let data = s.list_ok("db_123").await;
    assert_eq!(data.len(), 1);
    let seed: DatabaseBackup = serde_json::from_value(data[0].clone()).unwrap();
    assert_eq!(seed.id, "bkp_1");
    assert_eq!(seed.database_id, "db_123");
    assert_eq!(seed.status, BackupStatus::Completed);
    assert!(seed.size_bytes.unwrap() > 0);
    assert!(seed.completed_at.is_some());
    assert_eq!(data[0]["type"], "automatic");
    assert!(s.list_ok("db_456").await.is_empty());
}

#[tokio::test]
async fn configurable_databases_and_seeds() {
    let config = SimulatorConfig {
        databases: vec!["db_a".to_owned()],
        seed_backups: vec![
            SeedBackup {
                database_id: "db_a".to_owned(),
                status: BackupStatus::Completed,
            },
            SeedBackup {
                database_id: "db_a".to_owned(),
                status: BackupStatus::Failed,
            },
        ],
        ..SimulatorConfig::default()
    };
    let s = start_with(config).await;
    assert_error(s.list("db_123").await, StatusCode::NOT_FOUND, "not_found").await;
    let data = s.list_ok("db_a").await;
    let statuses: Vec<&str> = data.iter().map(|b| b["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["failed", "completed"]); // newest first
    // Seeds never progress.
    let data = s.list_ok("db_a").await;
    assert_eq!(data[0]["status"], "failed");
    assert!(data[0].get("sizeBytes").is_none());
}

#[tokio::test]
async fn create_answers_202_pending_manual() {
    let s = start().await;
    let response = s.create("db_456").await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], "bkp_2"); // bkp_1 is the seed
    assert_eq!(body["databaseId"], "db_456");
    assert_eq!(body["type"], "manual");
    assert_eq!(body["status"], "pending");
    assert!(body.get("sizeBytes").is_none());
    assert!(body.get("completedAt").is_none());
    let created_at = body["createdAt"].as_str().unwrap();
    // RFC 3339 UTC, e.g. 2025-01-31T12:00:00.123Z
    assert_eq!(created_at.len(), 24, "{created_at}");
    assert_eq!(&created_at[10..11], "T");
    assert!(created_at.ends_with('Z'));
}

#[tokio::test]
async fn create_body_is_optional_but_must_be_valid_json() {
    let s = start().await;
    let url = s.url("/databases/db_123/backups");
    let response = s.http.post(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let response = s
        .http
        .post(&url)
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;

    let response = s
        .http
        .post(&url)
        .bearer_auth(TOKEN)
        .body(r#"{"label": 5}"#)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;

    // Only the body-less create made a backup.
    assert_eq!(s.list_ok("db_123").await.len(), 2);
}

#[tokio::test]
async fn status_advances_with_list_polls() {
    let s = start().await;
    let id = s.create_ok("db_456").await;

    let first = s.list_ok("db_456").await;
    assert_eq!(first[0]["id"], id.as_str());
    assert_eq!(first[0]["status"], "in_progress");
    assert!(first[0].get("completedAt").is_none());

    let second = s.list_ok("db_456").await;
    assert_eq!(second[0]["status"], "completed");
    assert!(second[0]["sizeBytes"].as_i64().unwrap() > 0);
    assert!(second[0]["completedAt"].as_str().unwrap().ends_with('Z'));

    // Completed is final.
    assert_eq!(s.list_ok("db_456").await[0], second[0]);
}

#[tokio::test]
async fn poll_thresholds_are_configurable() {
    let config = SimulatorConfig {
        polls_to_in_progress: 2,
        polls_to_complete: 4,
        ..SimulatorConfig::default()
    };
    let s = start_with(config).await;
    s.create_ok("db_456").await;
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(
            s.list_ok("db_456").await[0]["status"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(
        seen,
        [
            "pending",
            "in_progress",
            "in_progress",
            "completed",
            "completed"
        ]
    );
}

#[tokio::test]
async fn polls_are_counted_per_backup() {
    let s = start().await;
    let old = s.create_ok("db_456").await;
    s.list_ok("db_456").await; // old: in_progress
    let new = s.create_ok("db_456").await;
    let data = s.list_ok("db_456").await; // old: completed, new: in_progress
    assert_eq!(data[0]["id"], new.as_str());
    assert_eq!(data[0]["status"], "in_progress");
    assert_eq!(data[1]["id"], old.as_str());
    assert_eq!(data[1]["status"], "completed");
}

#[tokio::test]
async fn list_is_newest_first() {
    let s = start().await;
    let a = s.create_ok("db_123").await;
    let b = s.create_ok("db_123").await;
    let c = s.create_ok("db_123").await;
    let ids: Vec<String> = s
        .list_ok("db_123")
        .await
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, [c, b, a, "bkp_1".to_owned()]);
}

#[tokio::test]
async fn time_based_completion() {
    let config = SimulatorConfig {
        complete_after: Some(Duration::from_millis(100)),
        ..SimulatorConfig::default()
    };
    let s = start_with(config).await;
    let id = s.create_ok("db_456").await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Restore sees the completion without any list poll.
    assert_eq!(
        s.restore("db_456", &id).await.status(),
        StatusCode::ACCEPTED
    );
    let data = s.list_ok("db_456").await;
    assert_eq!(data[0]["status"], "completed");
    assert!(data[0]["completedAt"].is_string());
}

#[tokio::test]
async fn time_based_progression_ignores_polls() {
    let config = SimulatorConfig {
        complete_after: Some(Duration::from_secs(3600)),
        ..SimulatorConfig::default()
    };
    let s = start_with(config).await;
    s.create_ok("db_456").await;
    for _ in 0..3 {
        assert_eq!(s.list_ok("db_456").await[0]["status"], "pending");
    }
}

#[tokio::test]
async fn restore_is_409_until_completed_then_202() {
    let s = start().await;
    let id = s.create_ok("db_456").await;
    assert_error(
        s.restore("db_456", &id).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    s.list_ok("db_456").await; // in_progress
    assert_error(
        s.restore("db_456", &id).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    s.list_ok("db_456").await; // completed

    let response = s.restore("db_456", &id).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "restoring");
    assert!(body["message"].as_str().unwrap().contains(&id));
}

#[tokio::test]
async fn seeded_backup_can_be_restored_at_once() {
    let s = start().await;
    assert_eq!(
        s.restore("db_123", "bkp_1").await.status(),
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn fail_backups_knob_ends_in_failed() {
    let config = SimulatorConfig {
        fail_backups: true,
        ..SimulatorConfig::default()
    };
    let s = start_with(config).await;
    let id = s.create_ok("db_456").await;
    assert_eq!(s.list_ok("db_456").await[0]["status"], "in_progress");
    let data = s.list_ok("db_456").await;
    assert_eq!(data[0]["status"], "failed");
    assert!(data[0].get("sizeBytes").is_none());
    assert_eq!(s.list_ok("db_456").await[0]["status"], "failed");
    assert_error(
        s.restore("db_456", &id).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
}

#[tokio::test]
async fn healthz_needs_no_token() {
    let s = start().await;
    let response = s.http.get(s.root("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}
