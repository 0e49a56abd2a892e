//! The HTTP endpoint for operators (`telemetry.http-address`):
//!
//! - `GET /metrics`: every metric, OpenMetrics text ([`super::exposition`]);
//! - `GET /health`: `200 ready` when partitions are assigned, their state
//!   restored and a broker reachable, else `503` and the reason on one line;
//! - `GET /health/live`: `200 live` while the process runs.
//!
//! Guarantees: the listener is bound before [`HttpEndpoint::start`]
//! returns (a bad or busy address is an error at start-up); the server
//! stops when the [`HttpEndpoint`] is dropped, so it lives exactly as long as
//! the pipeline that holds it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::exposition::{self, CONTENT_TYPE};
use super::metrics::Metrics;

/// The endpoint could not start (the user's address, or external: port in
/// use). Retrying helps only once the port is free.
#[derive(Debug, thiserror::Error)]
#[error("telemetry.http-address {address}: {source}")]
pub struct HttpError {
    /// The configured address.
    pub address: String,
    /// Why binding failed.
    pub source: std::io::Error,
}

/// A running endpoint; dropping it stops the server.
#[derive(Debug)]
pub struct HttpEndpoint {
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
    registry: Arc<Registry>,
}

impl HttpEndpoint {
    /// Binds `address` (`host:port`) and serves `metrics` from a tokio task.
    pub async fn start(address: &str, metrics: Arc<Metrics>) -> Result<HttpEndpoint, HttpError> {
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| HttpError {
                address: address.to_string(),
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| HttpError {
            address: address.to_string(),
            source,
        })?;
        let state = AppState {
            registry: Arc::new(exposition::registry(metrics.clone())),
            metrics,
        };
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router(state)).await {
                tracing::error!(error = %e, "telemetry endpoint stopped");
            }
        });
        tracing::info!(address = %local_addr, "telemetry endpoint listening (/metrics, /health, /health/live)");
        Ok(HttpEndpoint { local_addr, task })
    }

    /// Starts the endpoint when `address` is not empty.
    pub async fn start_if(
        address: &str,
        metrics: Arc<Metrics>,
    ) -> Result<Option<HttpEndpoint>, HttpError> {
        if address.trim().is_empty() {
            return Ok(None);
        }
        Self::start(address.trim(), metrics).await.map(Some)
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for HttpEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .route("/health/live", get(live))
        .with_state(state)
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    match exposition::encode(&state.registry) {
        Ok(text) => (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], text),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("encoding the metrics failed: {e}\n"),
        ),
    }
}

async fn health(State(state): State<AppState>) -> impl IntoResponse {
    match state.metrics.ready() {
        Ok(()) => (StatusCode::OK, "ready\n".to_string()),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")),
    }
}

async fn live() -> &'static str {
    "live\n"
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    async fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
        let mut buf = String::new();
        s.read_to_string(&mut buf).await?;
        let status = buf
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = buf
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_string();
        Ok((status, body))
    }

    #[tokio::test]
    async fn serves_metrics_health_and_liveness() -> Result<(), Box<dyn std::error::Error>> {
        let m = Arc::new(Metrics::default());
        let endpoint = HttpEndpoint::start("127.0.0.1:0", m.clone()).await?;
        let addr = endpoint.local_addr();
        assert_eq!(get(addr, "/health/live").await?, (200, "live\n".into()));
        assert_eq!(
            get(addr, "/health").await?,
            (503, "no broker reachable\n".into())
        );
        Metrics::set(&m.broker_reachable, true);
        assert_eq!(
            get(addr, "/health").await?,
            (503, "no partitions assigned\n".into())
        );
        m.readiness.assign(&[("p".into(), 0)]);
        m.readiness.restored(m.readiness.epoch());
        assert_eq!(get(addr, "/health").await?, (200, "ready\n".into()));
        let (status, body) = get(addr, "/metrics").await?;
        assert_eq!(status, 200);
        assert!(body.contains("jidoka_ready 1"), "{body}");
        assert!(body.ends_with("# EOF\n"), "{body}");
        assert_eq!(get(addr, "/nope").await?.0, 404);
        drop(endpoint);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(TcpStream::connect(addr).await.is_err(), "still listening");
        Ok(())
    }

    #[tokio::test]
    async fn busy_address_is_an_error_naming_the_key() -> Result<(), Box<dyn std::error::Error>> {
        let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
        let address = taken.local_addr()?.to_string();
        let err = HttpEndpoint::start(&address, Arc::new(Metrics::default()))
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("telemetry.http-address"), "{err}");
        assert!(HttpEndpoint::start_if(" ", Arc::new(Metrics::default()))
            .await?
            .is_none());
        Ok(())
    }
}
