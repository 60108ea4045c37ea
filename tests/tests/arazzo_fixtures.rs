//! The public Arazzo runner fixtures `bnpl.test_config.yaml` and `pet-coupons.test_config.yaml`
//! (inputs, mocked responses, expected outputs and call counts), run against the workflows
//! capgen compiled from the documents alone (`capgen_tests::workflows`, clients generated from
//! the source descriptions) and a mock upstream built from each fixture.
//!
//! Where the fixture expects what the Arazzo specification does not say, the difference is
//! written down in [`Deviation`]s next to the case, with the reason; everything else is checked
//! as the fixture states it. The BNPL document as published has mistakes (reported precisely:
//! `codegen/tests/corpus_workflows.rs`); its fixture runs against the corrected copy in
//! `fixtures/arazzo/`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use capgen_runtime::ClientConfig;
use capgen_runtime::binds::on_server;
use capgen_runtime::workflow::{RunOptions, StepOutputs, Traced};
use capgen_tests::workflows::bnpl_arazzo;
use serde::Deserialize;
use serde_json::{Value, json};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The proc-macro front-end (BNPL comes from `tests/build.rs`, the build-script one).
// The spec's warnings (shown by `capgen check`) are known here.
#[allow(deprecated)]
mod pet_coupons {
    capgen_macros::include_workflows!("corpus/arazzo-oai-examples/pet-coupons.arazzo.yaml");
}

// ---------------------------------------------------------------------------------------------
// The fixture format.

#[derive(Debug, Deserialize)]
struct TestConfig {
    #[serde(default)]
    custom_mocks: BTreeMap<String, Vec<Mock>>,
    workflows: Vec<Case>,
}

#[derive(Clone, Debug, Deserialize)]
struct Mock {
    path: String,
    method: String,
    #[serde(default)]
    query_params: BTreeMap<String, Value>,
    status_code: u16,
    #[serde(default)]
    response: Option<Value>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Case {
    id: String,
    #[serde(default)]
    inputs: Value,
    #[serde(default)]
    expected_outputs: BTreeMap<String, Value>,
    expected_api_calls: usize,
    expect_success: bool,
    #[serde(default)]
    custom_mocks: Vec<Mock>,
}

fn load(name: &str) -> TestConfig {
    let path = Path::new(ROOT).join("corpus/arazzo-oai-examples").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// The mock upstream.

/// One request the mock received.
#[derive(Clone, Debug)]
struct Received {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    body: Value,
}

#[derive(Clone)]
struct Mocks {
    /// The case's mocks first, then the fixture's global ones.
    mocks: Arc<Vec<Mock>>,
    received: Arc<Mutex<Vec<Received>>>,
}

/// Serves `mocks` on a free loopback port; returns its origin and the requests it receives.
async fn mock_upstream(mocks: Vec<Mock>) -> (String, Arc<Mutex<Vec<Received>>>) {
    let state = Mocks { mocks: Arc::new(mocks), received: Arc::default() };
    let received = state.received.clone();
    let app = axum::Router::new().fallback(answer).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let origin = format!("http://{}", listener.local_addr().expect("bound"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("the mock serves") });
    (origin, received)
}

async fn answer(State(state): State<Mocks>, request: Request) -> Response {
    let method = request.method().as_str().to_ascii_lowercase();
    let path = request.uri().path().to_string();
    let query: Vec<(String, String)> = request
        .uri()
        .query()
        .map(url_pairs)
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(request.into_body(), 1 << 20).await.unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    state.received.lock().expect("not poisoned").push(Received { method: method.clone(), path: path.clone(), query: query.clone(), body });

    // Same method and path (a `{name}` segment matches any segment); among those, a mock whose
    // query parameters all match wins over one that does not name them.
    let candidates: Vec<&Mock> = state.mocks.iter().filter(|m| m.method.eq_ignore_ascii_case(&method) && path_matches(&m.path, &path)).collect();
    let chosen = candidates.iter().find(|m| !m.query_params.is_empty() && query_matches(&m.query_params, &query)).or_else(|| candidates.first());
    let Some(mock) = chosen else {
        return (axum::http::StatusCode::NOT_FOUND, axum::Json(json!({"error": "no mock", "path": path}))).into_response();
    };
    let status = axum::http::StatusCode::from_u16(mock.status_code).expect("a valid status");
    let mut response = match (&mock.response, &mock.text) {
        (Some(body), _) => (status, axum::Json(body.clone())).into_response(),
        (None, Some(text)) => (status, text.clone()).into_response(),
        (None, None) => status.into_response(),
    };
    for (name, value) in &mock.headers {
        let name = axum::http::HeaderName::from_bytes(name.as_bytes()).expect("a header name");
        response.headers_mut().insert(name, value.parse().expect("a header value"));
    }
    response
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| percent_decode(&s.replace('+', " "));
            (decode(k), decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn path_matches(template: &str, path: &str) -> bool {
    if !template.starts_with('/') {
        return false; // absolute URLs of documents, never requested by a workflow
    }
    let wanted: Vec<&str> = template.trim_end_matches('/').split('/').collect();
    let got: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    wanted.len() == got.len() && wanted.iter().zip(&got).all(|(w, g)| (w.starts_with('{') && w.ends_with('}')) || w == g)
}

fn query_matches(wanted: &BTreeMap<String, Value>, got: &[(String, String)]) -> bool {
    wanted.iter().all(|(name, value)| {
        let values: Vec<&str> = got.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect();
        match value {
            Value::Array(items) => items.iter().map(capgen_runtime::workflow::text).collect::<Vec<_>>() == values,
            other => values == [capgen_runtime::workflow::text(other).as_str()],
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Running a case.

/// Where the fixture's expectation differs from what the Arazzo specification prescribes.
#[derive(Clone, Copy, Debug)]
enum Deviation {
    /// The fixture expects this many upstream calls; the specification gives `calls`.
    Calls { calls: usize, why: &'static str },
}

/// The outcome of one run: outputs, kept step outputs, and whether it succeeded.
struct Outcome {
    success: bool,
    error: Option<String>,
    outputs: Value,
    steps: StepOutputs,
}

fn outcome<T: serde::Serialize>(traced: Traced<T>) -> Outcome {
    let (success, error, outputs) = match traced.result {
        Ok(outputs) => (true, None, serde_json::to_value(outputs).expect("outputs serialize")),
        Err(error) => (false, Some(error.to_string()), Value::Null),
    };
    Outcome { success, error, outputs, steps: traced.step_outputs }
}

fn options() -> RunOptions {
    RunOptions::default().with_step_outputs(true)
}

/// Checks one case's expectations against its outcome and the requests the mock received.
fn check(fixture: &str, case: &Case, outcome: &Outcome, received: &[Received], deviations: &[Deviation]) {
    let what = format!("{fixture} / {} with {}", case.id, case.inputs);
    assert_eq!(outcome.success, case.expect_success, "{what}: success (error: {:?})", outcome.error);
    let mut calls = case.expected_api_calls;
    for deviation in deviations {
        match deviation {
            Deviation::Calls { calls: by_spec, why } => {
                eprintln!("{what}: {by_spec} calls where the fixture expects {calls}: {why}");
                calls = *by_spec;
            }
        }
    }
    assert_eq!(received.len(), calls, "{what}: upstream calls: {received:#?}");
    for (name, expected) in &case.expected_outputs {
        let actual = output(case, outcome, name).unwrap_or_else(|| panic!("{what}: no output `{name}` in {} or the step outputs {:?}", outcome.outputs, outcome.steps));
        assert!(same(&actual, expected), "{what}: output `{name}` is {actual}, expected {expected}");
    }
}

/// An expected output: a workflow output, `<stepId>.<output>` of a step of the case's workflow
/// (or of a workflow it runs), or a step output named alone (the BNPL fixture's form).
fn output(case: &Case, outcome: &Outcome, name: &str) -> Option<Value> {
    if let Some(value) = outcome.outputs.get(name) {
        return Some(value.clone());
    }
    if let Some((step, output)) = name.split_once('.') {
        let mut own = outcome.steps.0.iter().filter(|(key, _)| key.ends_with(&format!(".{step}")));
        let preferred = outcome.steps.get(&case.id, step).or_else(|| own.next().map(|(_, v)| v));
        if let Some(value) = preferred.and_then(|outputs| outputs.get(output)) {
            return Some(value.clone());
        }
    }
    let mut found = outcome.steps.0.values().filter_map(|outputs| outputs.get(name));
    let first = found.next()?;
    assert!(found.next().is_none(), "`{name}` names outputs of several steps");
    Some(first.clone())
}

/// JSON equality with numbers compared as numbers (`750.00` == `750`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w))),
        _ => a == b,
    }
}

/// The case's mocks, then the fixture's.
fn mocks_for(config: &TestConfig, case: &Case) -> Vec<Mock> {
    case.custom_mocks.iter().cloned().chain(config.custom_mocks.values().flatten().cloned()).collect()
}

// ---------------------------------------------------------------------------------------------
// pet-coupons

fn pet_clients(origin: &str) -> pet_coupons::client::Clients {
    use pet_coupons::client::pet_coupons as api;
    let config = ClientConfig::new(on_server(origin, api::DEFAULT_BASE_URI));
    pet_coupons::client::Clients { pet_coupons: api::Client::new(config).expect("a client") }
}

async fn run_pet_case(case: &Case, clients: &pet_coupons::client::Clients) -> Outcome {
    use pet_coupons::workflows as w;
    let inputs = case.inputs.clone();
    match case.id.as_str() {
        "apply-coupon" => outcome(w::apply_coupon_traced(clients, &serde_json::from_value(inputs).expect("inputs"), &options()).await),
        "buy-available-pet" => outcome(w::buy_available_pet_traced(clients, &serde_json::from_value(inputs).expect("inputs"), &options()).await),
        "place-order" => outcome(w::place_order_traced(clients, &serde_json::from_value(inputs).expect("inputs"), &options()).await),
        other => panic!("pet-coupons has no workflow `{other}`"),
    }
}

#[tokio::test]
async fn pet_coupons_fixture_runs_as_the_fixture_expects() {
    let config = load("pet-coupons.test_config.yaml");
    assert_eq!(config.workflows.len(), 4, "every case of the fixture is run");
    for case in &config.workflows {
        let (origin, received) = mock_upstream(mocks_for(&config, case)).await;
        let outcome = run_pet_case(case, &pet_clients(&origin)).await;
        let received = received.lock().expect("not poisoned").clone();
        check("pet-coupons", case, &outcome, &received, &[]);

        // What the requests carried: the pet found first is the one whose coupons are read and
        // that is ordered, with the coupon found.
        let order = received.iter().find(|r| r.method == "post" && r.path == "/store/order").expect("an order is placed");
        match case.id.as_str() {
            "apply-coupon" => {
                assert!(received.iter().any(|r| r.path == "/pet/123/coupons"), "{received:#?}");
                assert_eq!(order.body["petId"], json!(123));
                assert_eq!(order.body["couponCode"], json!("DOG20"));
                // The document names the query parameter `pet_tags`; it is sent as written.
                let tags: Vec<&str> = received[0].query.iter().filter(|(n, _)| n == "pet_tags").map(|(_, v)| v.as_str()).collect();
                assert_eq!(tags, ["golden", "friendly"]);
            }
            "buy-available-pet" => {
                assert_eq!(order.body["petId"], json!(456));
                let query = &received[0].query;
                for pair in [("status", "available"), ("page", "1"), ("pageSize", "10")] {
                    assert!(query.iter().any(|(n, v)| (n.as_str(), v.as_str()) == pair), "{pair:?} in {query:?}");
                }
            }
            _ => {
                assert_eq!(order.body["petId"], case.inputs["pet_id"]);
                assert_eq!(order.body["quantity"], case.inputs["quantity"]);
                assert_eq!(order.body["status"], json!("placed"));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// BNPL

fn bnpl_clients(origin: &str) -> bnpl_arazzo::client::Clients {
    use bnpl_arazzo::client::bnpl_api as api;
    // The document's server is relative (`/bnpl/v1`): the mock stands for the host.
    let config = ClientConfig::new(on_server(origin, api::DEFAULT_BASE_URI));
    bnpl_arazzo::client::Clients { bnpl_api: api::Client::new(config).expect("a client") }
}

#[tokio::test]
async fn bnpl_fixture_runs_against_the_corrected_document() {
    let config = load("bnpl.test_config.yaml");
    assert_eq!(config.workflows.len(), 1);
    let case = &config.workflows[0];
    let mut mocks = mocks_for(&config, case);
    // The fixture's 202 for `createBnplTransaction` omits `loanTransactionId`, which the
    // OpenAPI response schema requires and the corrected document reads.
    let create = mocks.iter_mut().find(|m| m.method == "post" && m.path == "/bnpl/v1/loan-transactions").expect("the mock");
    create.response.as_mut().and_then(Value::as_object_mut).expect("an object body").insert("loanTransactionId".into(), json!("LOAN1001"));

    let (origin, received) = mock_upstream(mocks).await;
    let inputs = serde_json::from_value(case.inputs.clone()).expect("inputs");
    let outcome = outcome(bnpl_arazzo::workflows::apply_for_loan_at_checkout_traced(&bnpl_clients(&origin), &inputs, &options()).await);
    let received = received.lock().expect("not poisoned").clone();
    let deviations = [Deviation::Calls {
        calls: 7,
        why: "`initiateBnplTransaction` returns a `redirectAuthToken`, so its `CustomerAuthorizationRequired` goto runs \
              `authenticateCustomerAndAuthorizeLoan` (the fixture's comment says that step is skipped)",
    }];
    check("bnpl", case, &outcome, &received, &deviations);

    let calls: Vec<(String, String)> = received.iter().map(|r| (r.method.clone(), r.path.clone())).collect();
    let expected = [
        ("post", "/bnpl/v1/products"),
        ("get", "/bnpl/v1/terms-and-conditions"),
        ("post", "/bnpl/v1/customers"),
        ("post", "/bnpl/v1/loan-transactions"),
        ("get", "/bnpl/v1/auth"),
        ("get", "/bnpl/v1/loan-transactions/LOAN1001"),
        ("patch", "/bnpl/v1/loan-transactions/LOAN1001/status"),
    ];
    assert_eq!(calls, expected.map(|(m, p)| (m.to_string(), p.to_string())));
    // Whole-string expressions in a JSON text payload keep their values' types.
    assert_eq!(received[0].body["products"], case.inputs["products"]);
    assert_eq!(received[0].body["customer"], case.inputs["customer"]);
    assert_eq!(received[2].body["firstName"], json!("John"));
    assert_eq!(received[2].body["termsAndConditionsAccepted"], json!(true));
    assert_eq!(received[3].body["products"], json!(["PROD123", "PROD456"]));
    assert_eq!(received[4].query, [("redirectAuthToken".to_string(), "eda8c851-f36e-4d78-b832-2d1411e1414b".to_string())]);
    assert_eq!(received[6].body, json!({"loanStatus": "Completed"}));
    assert_eq!(outcome.outputs["finalizedPaymentPlan"]["status"], json!("Finalised"));
    let auth = outcome.steps.get("ApplyForLoanAtCheckout", "authenticateCustomerAndAuthorizeLoan").expect("kept");
    assert_eq!(auth["redirectUrl"], json!("https://auth.bnpl-example.com/authorize?token=eda8c851-f36e-4d78-b832-2d1411e1414b"));
}

/// A crate generated from Arazzo alone serves its workflows: `POST /workflows/<id>` on the REST
/// adapter runs the compiled workflow against the upstream.
#[tokio::test]
async fn workflows_alone_are_served_over_rest() {
    let config = load("pet-coupons.test_config.yaml");
    let case = config.workflows.iter().find(|c| c.id == "place-order").expect("a place-order case");
    let (origin, received) = mock_upstream(mocks_for(&config, case)).await;
    let app = pet_coupons::rest::router(pet_clients(&origin)).expect("no inbound auth to configure");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let address = listener.local_addr().expect("bound");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serves") });

    let http = reqwest::Client::new();
    let url = format!("http://{address}/workflows/place-order");
    let response = http.post(&url).json(&json!({"pet_id": 7, "quantity": 2})).send().await.expect("a response");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["workflow_order_id"], json!(1001));
    assert_eq!(received.lock().expect("not poisoned")[0].body["petId"], json!(7));

    // A wrongly typed input is the caller's error, named, before any upstream call.
    let response = http.post(&url).json(&json!({"pet_id": "seven"})).send().await.expect("a response");
    assert!(response.status().is_client_error(), "{}", response.status());
    let body: Value = response.json().await.expect("JSON");
    assert!(body.to_string().contains("pet_id"), "{body}");
    assert_eq!(received.lock().expect("not poisoned").len(), 1);
}
