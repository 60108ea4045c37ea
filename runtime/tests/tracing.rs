//! The client's `tracing` events name the operation, method, path template and status, and
//! never carry URLs, query API keys or header values.

use std::fmt::{Debug, Write};
use std::sync::{Arc, Mutex};

use axum::Router;
use capgen_runtime::{Auth, ClientConfig, HttpClient, Method, Request};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

const TOKEN: &str = "tok-SECRET-1234";

/// Records every event as `target: field=value …`.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, "{}={value} ", field.name());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(format!("{}: ", event.metadata().target()));
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test]
async fn events_describe_calls_without_secrets() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        async move { axum::serve(listener, Router::new().fallback(|| async { "ok" })).await },
    );
    let config = ClientConfig::new(format!("http://{addr}"))
        .with_auth(Auth::api_key_query("api_key", TOKEN))
        .with_header("x-secret", TOKEN);
    let client = HttpClient::new(config).unwrap();
    let request = Request::new(Method::GET, "getdatabase", "/databases/db1")
        .path_template("/databases/{databaseId}");
    client.send(request).await.unwrap();

    let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = refused.local_addr().unwrap();
    drop(refused);
    let config = ClientConfig::new(format!("http://{dead}"))
        .with_auth(Auth::api_key_query("api_key", TOKEN));
    let err = HttpClient::new(config)
        .unwrap()
        .send(Request::new(Method::POST, "createbackup", "/b"))
        .await;
    assert!(err.is_err());

    let events = capture.0.lock().unwrap().clone();
    let ours: Vec<&String> = events
        .iter()
        .filter(|e| e.starts_with("capgen_runtime"))
        .collect();
    assert_eq!(ours.len(), 2, "{events:#?}");
    for field in [
        "operation=getdatabase",
        "method=GET",
        "path=/databases/{databaseId}",
        "status=200",
        "elapsed=",
    ] {
        assert!(ours[0].contains(field), "{field} missing in {}", ours[0]);
    }
    assert!(
        ours[1].contains("operation=createbackup") && ours[1].contains("transport error"),
        "{}",
        ours[1]
    );
    for event in &events {
        assert!(
            !event.contains(TOKEN) && !event.contains("api_key="),
            "{event}"
        );
    }
}
