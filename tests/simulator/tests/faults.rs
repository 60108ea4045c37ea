//! Fault knobs: 500s, deterministic error rate, 429 + Retry-After, malformed
//! and oversized bodies, dropped and reset connections, latency, and faults
//! aimed at one route.

mod common;

use std::time::{Duration, Instant};

use common::{TOKEN, assert_error, start, start_with};
use prisma_simulator::{ApiRoute, Faults, SimulatorConfig};
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn fail_next_answers_500_then_recovers() {
    let s = start().await;
    s.sim.set_faults(Faults {
        fail_next: 2,
        ..Faults::default()
    });
    assert_error(
        s.list("db_123").await,
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
    )
    .await;
    // A failed create creates nothing.
    assert_error(
        s.create("db_123").await,
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
    )
    .await;
    assert_eq!(s.list_ok("db_123").await.len(), 1);
    assert_eq!(s.sim.stats().injected.failed, 2);
    assert_eq!(s.sim.faults().fail_next, 0);
}

#[tokio::test]
async fn faults_apply_before_auth() {
    let s = start().await;
    s.sim.set_faults(Faults {
        fail_next: 1,
        ..Faults::default()
    });
    let response = s
        .http
        .get(s.url("/databases/db_123/backups"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn error_rate_is_deterministic() {
    let s = start().await;
    s.sim.set_faults(Faults {
        error_rate: 0.25,
        ..Faults::default()
    });
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(s.list("db_123").await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 500, 200, 200, 200, 500]);
}

#[tokio::test]
async fn rate_limit_next_answers_429_with_retry_after() {
    let s = start().await;
    s.sim.set_faults(Faults {
        rate_limit_next: 1,
        retry_after_secs: 7,
        ..Faults::default()
    });
    let response = s.list("db_123").await;
    assert_eq!(response.headers()["retry-after"], "7");
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(s.list("db_123").await.status(), StatusCode::OK);
    assert_eq!(s.sim.stats().injected.rate_limited, 1);
}

#[tokio::test]
async fn retry_after_defaults_to_one_second() {
    let config = SimulatorConfig {
        faults: Faults {
            rate_limit_next: 1,
            ..Faults::default()
        },
        ..SimulatorConfig::default()
    };
    let s = start_with(config).await;
    let response = s.create("db_123").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "1");
}

#[tokio::test]
async fn malformed_next_keeps_status_but_breaks_json() {
    let s = start().await;
    s.sim.set_faults(Faults {
        malformed_next: 2,
        ..Faults::default()
    });

    let response = s.list("db_123").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    assert!(!text.is_empty());
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");

    let response = s.create("db_123").await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert!(response.json::<Value>().await.is_err());

    // Consumed: the next answer is fine (and the garbled create did happen).
    assert_eq!(s.list_ok("db_123").await.len(), 2);
    assert_eq!(s.sim.stats().injected.malformed, 2);
}

#[tokio::test]
async fn body_faults_spare_error_answers() {
    let s = start().await;
    s.sim.set_faults(Faults {
        malformed_next: 1,
        ..Faults::default()
    });
    assert_error(s.list("db_nope").await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(s.sim.faults().malformed_next, 1);
}

#[tokio::test]
async fn oversized_next_sends_a_large_valid_body() {
    let s = start().await;
    s.sim.set_faults(Faults {
        oversized_next: 1,
        ..Faults::default()
    });
    let response = s.list("db_123").await;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.len() >= 4 * 1024 * 1024 - 64, "{} bytes", bytes.len());
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 1);

    let bytes = s.list("db_123").await.bytes().await.unwrap();
    assert!(bytes.len() < 4096);
}

#[tokio::test]
async fn oversized_size_is_configurable() {
    let s = start().await;
    s.sim.set_faults(Faults {
        oversized_next: 1,
        oversized_bytes: 10_000_000,
        ..Faults::default()
    });
    let response = s.create("db_456").await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.len() >= 10_000_000 - 64, "{} bytes", bytes.len());
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["status"], "pending");
}

#[tokio::test]
async fn drop_next_closes_the_connection_without_response() {
    let s = start().await;
    // Warm up so the drop happens on a pooled keep-alive connection too.
    s.list_ok("db_123").await;
    s.sim.set_faults(Faults {
        drop_next: 1,
        ..Faults::default()
    });

    let result = s
        .http
        .get(s.url("/databases/db_123/backups"))
        .bearer_auth(TOKEN)
        .send()
        .await;
    let error = result.expect_err("dropped connection is an error");
    assert!(error.status().is_none(), "{error:?}");
    assert!(error.is_request() || error.is_connect(), "{error:?}");

    // Next request is served; the dropped one was not retried behind our back.
    assert_eq!(s.list_ok("db_123").await.len(), 1);
    let stats = s.sim.stats();
    assert_eq!(stats.injected.dropped, 1);
    assert_eq!(stats.list_backups, 3);
}

#[tokio::test]
async fn dropped_create_creates_nothing() {
    let s = start().await;
    s.sim.set_faults(Faults {
        drop_next: 1,
        ..Faults::default()
    });
    let result = s
        .http
        .post(s.url("/databases/db_456/backups"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({ "label": "x" }))
        .send()
        .await;
    assert!(result.is_err());
    assert!(s.list_ok("db_456").await.is_empty());
}

#[tokio::test]
async fn latency_is_added_to_api_requests() {
    let s = start().await;
    s.sim.set_faults(Faults {
        latency_ms: 200,
        ..Faults::default()
    });
    let started = Instant::now();
    s.list_ok("db_123").await;
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn latency_from_config() {
    let config = SimulatorConfig {
        faults: Faults {
            latency_ms: 100,
            ..Faults::default()
        },
        ..SimulatorConfig::default()
    };
    let s = start_with(config).await;
    let started = Instant::now();
    s.create_ok("db_123").await;
    assert!(started.elapsed() >= Duration::from_millis(100));
}

#[tokio::test]
async fn control_and_health_endpoints_are_never_faulted() {
    let s = start().await;
    s.sim.set_faults(Faults {
        fail_next: 5,
        drop_next: 5,
        ..Faults::default()
    });
    let response = s.http.get(s.root("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = s.http.get(s.root("/_sim/stats")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(s.sim.faults().drop_next, 5);
}

#[tokio::test]
async fn one_transport_fault_per_request_in_documented_order() {
    let s = start().await;
    s.sim.set_faults(Faults {
        drop_next: 1,
        rate_limit_next: 1,
        fail_next: 1,
        ..Faults::default()
    });
    assert!(
        s.http
            .get(s.url("/databases/db_123/backups"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .is_err()
    );
    assert_eq!(
        s.list("db_123").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        s.list("db_123").await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(s.list("db_123").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn drop_next_also_fails_the_request_when_the_router_is_embedded() {
    let state = prisma_simulator::SimState::new(SimulatorConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, prisma_simulator::router(state.clone())).await
    });
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/v1/databases/db_123/backups");
    let response = http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let control = format!("http://{addr}/_sim/faults");
    http.post(&control)
        .json(&serde_json::json!({ "drop_next": 1 }))
        .send()
        .await
        .unwrap();
    let result = async {
        http.get(&url)
            .bearer_auth(TOKEN)
            .send()
            .await?
            .bytes()
            .await
    }
    .await;
    assert!(result.is_err(), "{result:?}");
    server.abort();
}

#[tokio::test]
async fn reset_next_resets_the_connection_without_response() {
    let s = start().await;
    s.list_ok("db_123").await;
    s.sim.set_faults(Faults {
        reset_next: 1,
        ..Faults::default()
    });
    let error = s
        .http
        .get(s.url("/databases/db_123/backups"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect_err("a reset connection is an error");
    assert!(error.status().is_none(), "{error:?}");
    // An RST, not a FIN: the OS reports a reset.
    let chain = format!("{error:?}");
    assert!(
        chain.contains("ConnectionReset") || chain.contains("reset"),
        "{chain}"
    );

    assert_eq!(s.list_ok("db_123").await.len(), 1);
    let stats = s.sim.stats();
    assert_eq!((stats.injected.reset, stats.injected.dropped), (1, 0));
    assert_eq!(stats.list_backups, 3, "the reset request was not retried");
}

#[tokio::test]
async fn drop_next_closes_with_a_fin_not_a_reset() {
    let s = start().await;
    s.sim.set_faults(Faults {
        drop_next: 1,
        ..Faults::default()
    });
    let error = s
        .http
        .get(s.url("/databases/db_123/backups"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect_err("a dropped connection is an error");
    let chain = format!("{error:?}");
    assert!(!chain.contains("ConnectionReset"), "{chain}");
}

#[tokio::test]
async fn route_aims_every_fault_at_one_route() {
    let s = start().await;
    s.sim.set_faults(Faults {
        route: Some(ApiRoute::RestoreBackup),
        fail_next: 1,
        latency_ms: 300,
        ..Faults::default()
    });
    // Other routes are untouched, not delayed, and consume nothing.
    let started = Instant::now();
    let id = s.create_ok("db_123").await;
    s.list_ok("db_123").await;
    assert!(started.elapsed() < Duration::from_millis(300));
    assert_eq!(s.sim.faults().fail_next, 1);
    assert_eq!(s.sim.stats().injected.delayed, 0);

    let started = Instant::now();
    assert_error(
        s.restore("db_123", &id).await,
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
    )
    .await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    let stats = s.sim.stats();
    assert_eq!((stats.injected.failed, stats.injected.delayed), (1, 1));
}

#[tokio::test]
async fn route_aims_body_faults_too() {
    let s = start().await;
    s.sim.set_faults(Faults {
        route: Some(ApiRoute::ListBackups),
        malformed_next: 1,
        ..Faults::default()
    });
    let created = s.create("db_123").await;
    assert_eq!(created.status(), StatusCode::ACCEPTED);
    assert!(created.json::<Value>().await.is_ok(), "create is spared");
    let listed = s.list("db_123").await;
    assert!(listed.json::<Value>().await.is_err(), "list is garbled");
    assert_eq!(s.sim.stats().injected.malformed, 1);
}

#[tokio::test]
async fn route_and_reset_next_from_json() {
    let s = start().await;
    let response = s
        .http
        .post(s.root("/_sim/faults"))
        .json(&serde_json::json!({ "route": "create_backup", "reset_next": 2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let faults = s.sim.faults();
    assert_eq!(faults.route, Some(ApiRoute::CreateBackup));
    assert_eq!(faults.reset_next, 2);

    let response = s
        .http
        .post(s.root("/_sim/faults"))
        .json(&serde_json::json!({ "route": "delete_everything" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}
