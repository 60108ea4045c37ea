//! The simulated API: `/v1` backup routes, `/healthz`, and the middleware
//! that counts requests, injects faults and checks the bearer token.

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;

use crate::model::{ApiError, BackupCreate, DatabaseBackup};
use crate::server::ConnectionKill;
use crate::state::{BodyFault, Route, SimState, TransportFault};

/// The whole simulator as an axum router: `/v1/...` API, `/healthz` and
/// `/_sim/...` control endpoints. Served by [`crate::start`]; embed it
/// elsewhere if needed (then `drop_next` makes hyper abort the connection
/// through a failing response body, instead of closing it before any byte).
pub fn router(state: SimState) -> Router {
    let api = Router::new()
        .route(
            "/databases/{database_id}/backups",
            get(list_backups).post(create_backup),
        )
        .route(
            "/databases/{database_id}/backups/{backup_id}/restore",
            post(restore_backup),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            api_middleware,
        ))
        .fallback(unmatched);
    Router::new()
        .nest("/v1", api)
        .route("/healthz", get(healthz))
        .merge(crate::control::routes())
        .fallback(|| async { ApiError::not_found("No such route") })
        .with_state(state)
}

/// `200` body of `listDatabaseBackups`.
#[derive(Serialize)]
struct ListBackups {
    data: Vec<DatabaseBackup>,
}

async fn list_backups(
    State(state): State<SimState>,
    Path(database_id): Path<String>,
) -> Result<Response, ApiError> {
    let data = state.list_backups(&database_id)?;
    Ok(Json(ListBackups { data }).into_response())
}

async fn create_backup(
    State(state): State<SimState>,
    Path(database_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    // The body is optional; when present it must be a `BackupCreate` object.
    if !body.iter().all(u8::is_ascii_whitespace) {
        serde_json::from_slice::<BackupCreate>(&body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("Invalid request body: {e}"),
            )
        })?;
    }
    let backup = state.create_backup(&database_id)?;
    Ok((StatusCode::ACCEPTED, Json(backup)).into_response())
}

async fn restore_backup(
    State(state): State<SimState>,
    Path((database_id, backup_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    state.restore_backup(&database_id, &backup_id)?;
    let body = json!({
        "status": "restoring",
        "message": format!("Restoring database '{database_id}' from backup '{backup_id}'"),
    });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

async fn healthz(State(state): State<SimState>) -> Json<serde_json::Value> {
    state.count(Route::Healthz);
    Json(json!({ "status": "ok" }))
}

async fn unmatched(State(state): State<SimState>) -> ApiError {
    state.count(Route::Unmatched);
    ApiError::not_found("No such route")
}

/// Runs around every matched `/v1` route: count → latency → transport fault
/// → auth → handler → body fault.
async fn api_middleware(State(state): State<SimState>, req: Request, next: Next) -> Response {
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let route = match (req.method(), template) {
        (&Method::POST, Some(t)) if t.ends_with("/restore") => Route::RestoreBackup,
        (&Method::GET, Some(t)) if t.ends_with("/backups") => Route::ListBackups,
        (&Method::POST, Some(t)) if t.ends_with("/backups") => Route::CreateBackup,
        _ => Route::Unmatched,
    };
    state.count(route);

    let (latency, fault) = state.take_transport_fault(route);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        Some(TransportFault::Drop) => {
            let kill = req.extensions().get::<ConnectionKill>().cloned();
            return drop_connection(kill, false).await;
        }
        Some(TransportFault::Reset) => {
            let kill = req.extensions().get::<ConnectionKill>().cloned();
            return drop_connection(kill, true).await;
        }
        Some(TransportFault::RateLimit { retry_after_secs }) => {
            let error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests (simulated)",
            );
            return ([(header::RETRY_AFTER, retry_after_secs.to_string())], error).into_response();
        }
        Some(TransportFault::Fail) => {
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Internal server error (simulated)",
            )
            .into_response();
        }
        None => {}
    }

    if let Err(error) = check_auth(&req, state.token()) {
        return error.into_response();
    }

    let response = next.run(req).await;
    if !response.status().is_success() {
        return response;
    }
    match state.take_body_fault(route) {
        Some(fault) => corrupt_body(response, fault).await,
        None => response,
    }
}

fn check_auth(req: &Request, token: &str) -> Result<(), ApiError> {
    let unauthorized = |message| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("Missing Authorization header"))?;
    let presented = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .ok_or_else(|| unauthorized("Authorization header must be 'Bearer <token>'"))?;
    if presented.trim() == token {
        Ok(())
    } else {
        Err(unauthorized("Invalid service token"))
    }
}

/// Drops the request's connection without a response.
///
/// Under [`crate::start`] the connection task is told to stop and drops the
/// TCP stream before anything is written: the client sees the connection
/// closed (reqwest: a request error, "connection closed before message
/// completed"), or with `reset` reset (`SO_LINGER` 0: an RST instead of a FIN,
/// "connection reset by peer"). When the router is embedded elsewhere (no
/// [`ConnectionKill`]), the response body fails at once, which makes hyper
/// abort the connection.
async fn drop_connection(kill: Option<ConnectionKill>, reset: bool) -> Response {
    if let Some(kill) = kill {
        kill.trigger(reset);
        // The connection task drops this future together with the connection.
        std::future::pending::<()>().await;
    }
    let failing = failing_body();
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(failing)
        .unwrap_or_default()
}

/// A body whose first frame is an error.
fn failing_body() -> Body {
    struct Failing;
    impl http_body::Body for Failing {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
            std::task::Poll::Ready(Some(Err(std::io::Error::other(
                "simulated dropped connection",
            ))))
        }
    }
    Body::new(Failing)
}

/// Applies a body fault to a successful JSON response, keeping its status and
/// `content-type`.
async fn corrupt_body(response: Response, fault: BodyFault) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return (parts, Body::empty()).into_response();
    };
    let new_body = match fault {
        // Any proper prefix of a JSON object is invalid JSON.
        BodyFault::Malformed => match bytes.len() / 2 {
            0 => Bytes::from_static(b"{"),
            half => bytes.slice(..half),
        },
        BodyFault::Oversized { bytes: target } => pad_json(&bytes, target),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (parts, Body::from(new_body)).into_response()
}

/// Adds a `"padding"` string to a JSON object so the body is about `target` bytes.
fn pad_json(bytes: &Bytes, target: usize) -> Bytes {
    let Ok(mut object) =
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(bytes)
    else {
        return bytes.clone();
    };
    let padding = target.saturating_sub(bytes.len() + 14);
    object.insert("padding".to_owned(), "x".repeat(padding).into());
    serde_json::to_vec(&object)
        .map(Bytes::from)
        .unwrap_or_else(|_| bytes.clone())
}
