//! Helpers shared by the integration tests: start a simulator and talk to it.

#![allow(dead_code)] // each test binary uses a different subset

use prisma_simulator::{RunningSimulator, SimulatorConfig};
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;

pub const TOKEN: &str = "sim-token";

/// A started simulator plus a client pointed at it.
pub struct Sim {
    pub sim: RunningSimulator,
    pub http: Client,
}

pub async fn start() -> Sim {
    start_with(SimulatorConfig::default()).await
}

pub async fn start_with(config: SimulatorConfig) -> Sim {
    let sim = prisma_simulator::start(config)
        .await
        .expect("simulator starts");
    Sim {
        sim,
        http: Client::new(),
    }
}

impl Sim {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_uri())
    }

    /// Root URL (outside `/v1`), for `/healthz` and `/_sim/...`.
    pub fn root(&self, path: &str) -> String {
        format!("http://{}{path}", self.sim.addr())
    }

    pub async fn list(&self, db: &str) -> Response {
        self.http
            .get(self.url(&format!("/databases/{db}/backups")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("list request")
    }

    /// Lists and returns the `data` array, asserting a 200.
    pub async fn list_ok(&self, db: &str) -> Vec<Value> {
        let response = self.list(db).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("list body is JSON");
        body["data"].as_array().expect("data array").clone()
    }

    pub async fn create(&self, db: &str) -> Response {
        self.http
            .post(self.url(&format!("/databases/{db}/backups")))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({ "label": "test" }))
            .send()
            .await
            .expect("create request")
    }

    /// Creates a backup and returns its id, asserting a 202.
    pub async fn create_ok(&self, db: &str) -> String {
        let response = self.create(db).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let body: Value = response.json().await.expect("create body is JSON");
        body["id"].as_str().expect("id").to_owned()
    }

    pub async fn restore(&self, db: &str, backup: &str) -> Response {
        self.http
            .post(self.url(&format!("/databases/{db}/backups/{backup}/restore")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("restore request")
    }
}

/// Asserts the spec's `Error` body with the given code.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        !body["error"]["message"]
            .as_str()
            .expect("message")
            .is_empty()
    );
}
