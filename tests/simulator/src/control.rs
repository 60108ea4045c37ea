//! Control endpoints for tests and benchmarks (no auth, no faults):
//! `GET|POST /_sim/faults`, `POST /_sim/reset`, `GET /_sim/stats`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::config::Faults;
use crate::model::ApiError;
use crate::state::{SimState, Stats};

pub(crate) fn routes() -> Router<SimState> {
    Router::new()
        .route("/_sim/faults", get(get_faults).post(set_faults))
        .route("/_sim/reset", post(reset))
        .route("/_sim/stats", get(stats))
}

async fn get_faults(State(state): State<SimState>) -> Json<Faults> {
    Json(state.faults())
}

/// Replaces all fault knobs; omitted fields take their defaults.
async fn set_faults(State(state): State<SimState>, body: Bytes) -> Result<Json<Faults>, ApiError> {
    let bad_request =
        |message: String| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message);
    let faults: Faults = if body.iter().all(u8::is_ascii_whitespace) {
        Faults::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| bad_request(format!("Invalid faults: {e}")))?
    };
    if !(0.0..=1.0).contains(&faults.error_rate) {
        return Err(bad_request("error_rate must be between 0 and 1".to_owned()));
    }
    state.set_faults(faults.clone());
    Ok(Json(faults))
}

async fn reset(State(state): State<SimState>) -> StatusCode {
    state.reset();
    StatusCode::NO_CONTENT
}

async fn stats(State(state): State<SimState>) -> Json<Stats> {
    Json(state.stats())
}
