//! The bridge's HTTP endpoint (`executor.http-address`):
//!
//! - `GET /metrics`: the bridge's metrics, OpenMetrics text;
//! - `GET /health`: `200 ready` when partitions of the actions topic are
//!   assigned and a broker is reachable, else `503` and the reason;
//! - `GET /health/live`: `200 live` while the process runs;
//! - `POST /outcomes`: an executor reports how a command ended (JSON
//!   [`OutcomeBody`](super::request::OutcomeBody) with `command_id`),
//!   signed like the bridge's own requests.
//!
//! Guarantees for `POST /outcomes`: nothing is produced unless the
//! `X-Jidoka-Signature-256` header is the HMAC-SHA256 of the exact body
//! under `executor.hmac-key` (checked in constant time; else `401`); a
//! body that is not an outcome, or whose numbers are not finite, is `400`;
//! a command id the bridge has not read and that is not on the actions
//! topic is `404` with a message saying so; a written outcome is `202`
//! with its partition and offset; a Kafka failure is `503` (retry). The
//! listener is bound before [`start`] returns and the server stops when
//! the returned handle is dropped.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::bridge::{now_ms, Shared};
use super::events::OutcomeProduced;
use super::metrics;
use super::request::OutcomeBody;
use super::sign::{self, SIGNATURE_HEADER};
use crate::heal::report::{self, OutcomeReport, ReportError};
use crate::telemetry::exposition::{self, CONTENT_TYPE};

/// The endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[error("executor.http-address {address}: {source}")]
pub struct EndpointError {
    /// The configured address.
    pub address: String,
    /// Why binding failed.
    pub source: std::io::Error,
}

/// A running endpoint; dropping it stops the server.
#[derive(Debug)]
pub struct Endpoint {
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Endpoint {
    /// The address bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct AppState {
    shared: Arc<Shared>,
    registry: Arc<Registry>,
}

/// Binds `address` and serves the endpoint.
pub async fn start(address: &str, shared: Arc<Shared>) -> Result<Endpoint, EndpointError> {
    let fail = |source| EndpointError {
        address: address.to_string(),
        source,
    };
    let listener = TcpListener::bind(address).await.map_err(fail)?;
    let local_addr = listener.local_addr().map_err(fail)?;
    let state = AppState {
        registry: Arc::new(metrics::registry(shared.metrics.clone())),
        shared,
    };
    let router = Router::new()
        .route("/metrics", get(metrics_text))
        .route("/health", get(health))
        .route("/health/live", get(|| async { "live\n" }))
        .route("/outcomes", post(outcomes))
        .with_state(state);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "executor endpoint stopped");
        }
    });
    tracing::info!(address = %local_addr, "executor endpoint listening (/metrics, /health, /health/live, POST /outcomes)");
    Ok(Endpoint { local_addr, task })
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    match exposition::encode(&state.registry) {
        Ok(text) => (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding the metrics failed: {e}\n"),
        )
            .into_response(),
    }
}

async fn health(State(state): State<AppState>) -> Response {
    match state.shared.metrics.ready() {
        Ok(()) => (StatusCode::OK, "ready\n".to_string()).into_response(),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")).into_response(),
    }
}

fn json(code: StatusCode, value: serde_json::Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{value}\n"),
    )
        .into_response()
}

fn error(code: StatusCode, message: String) -> Response {
    json(code, serde_json::json!({ "error": message }))
}

async fn outcomes(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let response = answer(&state.shared, &headers, &body).await;
    state.shared.metrics.request(response.status().as_u16());
    response
}

async fn answer(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Response {
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    if let Err(e) = sign::verify(&shared.key, body, signature) {
        tracing::warn!(error = %e, "POST /outcomes refused: bad signature");
        return error(StatusCode::UNAUTHORIZED, e.to_string());
    }
    let parsed: OutcomeBody = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("not an outcome: {e}")),
    };
    let Some(status) = parsed.status() else {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "unknown status `{}` (completed, failed or rejected)",
                parsed.status
            ),
        );
    };
    let request = OutcomeReport {
        command_id: parsed.command_id.clone().unwrap_or_default(),
        status,
        recovery: parsed.recovery,
        cost: parsed.cost,
        reported_at: now_ms(),
        note: parsed.note.clone(),
    };
    if let Err(e) = report::check(&request) {
        return error(StatusCode::BAD_REQUEST, e.to_string());
    }
    let known = match shared.store.model_of(&request.command_id) {
        Ok(m) => m,
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    let model_id = match known {
        Some(m) => m,
        None => match report::lookup_model(&shared.cfg, &request.command_id, false).await {
            Ok(m) => m,
            Err(e @ ReportError::UnknownCommand { .. }) => {
                return error(StatusCode::NOT_FOUND, e.to_string())
            }
            Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        },
    };
    let outcome = report::outcome(&model_id, &request);
    match report::produce(&shared.cfg, &shared.codec, &shared.producer, outcome).await {
        Ok(written) => {
            OutcomeProduced {
                command_id: &written.outcome.command_id,
                model_id: &written.outcome.model_id,
                status: written.outcome.status.as_str(),
                source: "http",
            }
            .emit(&shared.metrics);
            json(
                StatusCode::ACCEPTED,
                serde_json::json!({
                    "command_id": written.outcome.command_id,
                    "model_id": written.outcome.model_id,
                    "status": written.outcome.status.as_str(),
                    "topic": shared.cfg.topics.outcomes,
                    "partition": written.partition,
                    "offset": written.offset,
                }),
            )
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::executor::store::DeliveryStore;
    use crate::executor::ExecutorMetrics;
    use crate::kafka::tool_producer_config;

    const KEY: &[u8] = b"endpoint-test-key-0123456789abcdef";

    #[tokio::test]
    async fn refuses_unsigned_and_malformed_outcomes_before_any_lookup(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        // No broker: every answer below comes before Kafka is needed.
        let cfg = Config::defaults_with(&["kafka.bootstrap-servers = \"127.0.0.1:9\""])?;
        let shared = Arc::new(Shared {
            producer: tool_producer_config(&cfg, "test").create()?,
            codec: crate::schema::Codec::new(cfg.schemas.ids)?,
            cfg,
            key: KEY.to_vec(),
            store: DeliveryStore::open(dir.path())?,
            metrics: Arc::new(ExecutorMetrics::default()),
        });
        let endpoint = start("127.0.0.1:0", shared.clone()).await?;
        let url = format!("http://{}/outcomes", endpoint.local_addr());
        let client = reqwest::Client::new();
        let post = |body: &'static str, signature: Option<String>| {
            let mut r = client.post(&url).body(body);
            if let Some(s) = signature {
                r = r.header(SIGNATURE_HEADER, s);
            }
            r.send()
        };
        let good = r#"{"command_id":"c1","status":"completed","recovery":1,"cost":1}"#;
        for (body, signature, code, says) in [
            (good, None, 401, "no x-jidoka-signature-256"),
            (good, Some("sha256=abc".to_string()), 401, "malformed"),
            (
                good,
                Some(sign::header_value(
                    b"another-key-another-key-another-key",
                    good.as_bytes(),
                )),
                401,
                "does not match",
            ),
            (
                "not json",
                Some(sign::header_value(KEY, b"not json")),
                400,
                "not an outcome",
            ),
            (
                r#"{"command_id":"c1","status":"done","recovery":1,"cost":1}"#,
                Some(sign::header_value(
                    KEY,
                    br#"{"command_id":"c1","status":"done","recovery":1,"cost":1}"#,
                )),
                400,
                "unknown status `done`",
            ),
            (
                r#"{"status":"failed","recovery":1,"cost":1}"#,
                Some(sign::header_value(
                    KEY,
                    br#"{"status":"failed","recovery":1,"cost":1}"#,
                )),
                400,
                "command id is empty",
            ),
        ] {
            let response = post(body, signature).await?;
            let status = response.status().as_u16();
            let text = response.text().await?;
            assert_eq!(status, code, "{body}: {text}");
            assert!(text.contains(says), "{body}: {text}");
        }
        let (live, health) = (
            client
                .get(format!("http://{}/health/live", endpoint.local_addr()))
                .send()
                .await?,
            client
                .get(format!("http://{}/health", endpoint.local_addr()))
                .send()
                .await?,
        );
        assert_eq!(live.status().as_u16(), 200);
        assert_eq!(health.status().as_u16(), 503);
        let metrics = client
            .get(format!("http://{}/metrics", endpoint.local_addr()))
            .send()
            .await?
            .text()
            .await?;
        assert!(
            metrics.contains("jidoka_executor_outcome_requests_total{code=\"401\"} 3"),
            "{metrics}"
        );
        assert!(
            metrics.contains("jidoka_executor_outcome_requests_total{code=\"400\"} 3"),
            "{metrics}"
        );
        Ok(())
    }
}
