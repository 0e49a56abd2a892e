//! The tests' stand-in for a Confluent Schema Registry: a small HTTP
//! server (axum) implementing the documented endpoints jidoka and
//! Confluent's Python client use, with Confluent's error bodies
//! (`{"error_code": …, "message": …}`). Not a full registry: ids are
//! global and shared by equal schemas (as Confluent does), a subject
//! refuses a new schema (409) only when the test marked it incompatible,
//! and a schema that does not parse as Avro is refused with 422.
//! Query strings (`?normalize=false`, `?subject=…`) are accepted and
//! ignored.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::BoxError;

/// First id handed out: far from jidoka's fixed ids (1–13), so a test
/// passes only if the registry's ids are the ones used.
pub const FIRST_ID: u32 = 101;

#[derive(Default)]
struct Inner {
    /// (schema text, schema type) by id - FIRST_ID.
    schemas: Vec<(String, String)>,
    /// Ids of each subject's versions, oldest first.
    subjects: BTreeMap<String, Vec<u32>>,
    /// Subjects that refuse any new schema (409).
    incompatible: Vec<String>,
    /// `GET /schemas/ids/{id}` requests, by id.
    fetches: BTreeMap<u32, u32>,
    /// While true, `GET /schemas/ids/{id}` answers 503.
    failing: bool,
}

/// A running test registry (stopped on drop).
pub struct TestRegistry {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestRegistry {
    /// Starts the server on a free loopback port.
    pub async fn start() -> Result<TestRegistry, BoxError> {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let router = Router::new()
            .route("/schemas/ids/{id}", get(by_id))
            .route("/subjects/{subject}/versions", post(register))
            .route("/subjects/{subject}", post(lookup))
            .route("/subjects/{subject}/versions/latest", get(latest))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(TestRegistry { url, inner, task })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `GET /schemas/ids/{id}` requests made for `id`.
    pub fn fetches(&self, id: u32) -> u32 {
        self.lock().fetches.get(&id).copied().unwrap_or(0)
    }

    /// `GET /schemas/ids/{id}` requests made for any id.
    pub fn all_fetches(&self) -> u32 {
        self.lock().fetches.values().sum()
    }

    /// The ids registered under a subject, oldest first.
    pub fn versions(&self, subject: &str) -> Vec<u32> {
        self.lock()
            .subjects
            .get(subject)
            .cloned()
            .unwrap_or_default()
    }

    /// Makes a subject refuse every schema it does not hold yet (409).
    pub fn make_incompatible(&self, subject: &str) {
        self.lock().incompatible.push(subject.to_string());
    }

    /// While `failing`, schema fetches by id answer 503.
    pub fn set_failing(&self, failing: bool) {
        self.lock().failing = failing;
    }

    /// Registers a schema directly (as another producer would).
    pub fn add(&self, subject: &str, schema: &str) -> u32 {
        let mut inner = self.lock();
        let id = inner.id_of(schema, "AVRO");
        inner.subjects.entry(subject.into()).or_default().push(id);
        id
    }
}

impl Inner {
    /// The global id of a schema, new if no equal schema has one.
    fn id_of(&mut self, schema: &str, kind: &str) -> u32 {
        let wanted = normalized(schema);
        if let Some(i) = self
            .schemas
            .iter()
            .position(|(s, k)| k == kind && normalized(s) == wanted)
        {
            return FIRST_ID + i as u32;
        }
        self.schemas.push((schema.to_string(), kind.to_string()));
        FIRST_ID + self.schemas.len() as u32 - 1
    }

    fn find(&self, subject: &str, schema: &str) -> Option<(u32, usize)> {
        let wanted = normalized(schema);
        let versions = self.subjects.get(subject)?;
        versions.iter().enumerate().find_map(|(v, id)| {
            let (s, _) = &self.schemas[(id - FIRST_ID) as usize];
            (normalized(s) == wanted).then_some((*id, v + 1))
        })
    }
}

/// A schema's JSON value (so whitespace and key order do not matter).
fn normalized(schema: &str) -> Value {
    serde_json::from_str(schema).unwrap_or_else(|_| Value::String(schema.to_string()))
}

fn answer(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            "application/vnd.schemaregistry.v1+json",
        )],
        body.to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, code: i64, message: String) -> Response {
    answer(status, json!({ "error_code": code, "message": message }))
}

type Shared = State<Arc<Mutex<Inner>>>;

fn lock(state: &Arc<Mutex<Inner>>) -> std::sync::MutexGuard<'_, Inner> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

async fn by_id(State(state): Shared, Path(id): Path<u32>) -> Response {
    let mut inner = lock(&state);
    *inner.fetches.entry(id).or_default() += 1;
    if inner.failing {
        return error(StatusCode::SERVICE_UNAVAILABLE, 50003, "unavailable".into());
    }
    match id
        .checked_sub(FIRST_ID)
        .and_then(|i| inner.schemas.get(i as usize))
    {
        Some((schema, kind)) if kind == "AVRO" => {
            answer(StatusCode::OK, json!({ "schema": schema }))
        }
        Some((schema, kind)) => answer(
            StatusCode::OK,
            json!({ "schema": schema, "schemaType": kind }),
        ),
        None => error(
            StatusCode::NOT_FOUND,
            40403,
            format!("Schema {id} not found"),
        ),
    }
}

/// The request's schema and type, or why it is invalid (a 422 answer).
fn parse_request(body: &Bytes) -> Result<(String, String), String> {
    let request: Value =
        serde_json::from_slice(body).map_err(|e| format!("Invalid request: {e}"))?;
    let schema = request["schema"]
        .as_str()
        .map(str::to_string)
        .ok_or("Invalid schema: no schema")?;
    let kind = request["schemaType"].as_str().unwrap_or("AVRO").to_string();
    if kind == "AVRO" {
        apache_avro::Schema::parse_str(&schema).map_err(|e| format!("Invalid schema: {e}"))?;
    }
    Ok((schema, kind))
}

fn invalid(message: String) -> Response {
    error(StatusCode::UNPROCESSABLE_ENTITY, 42201, message)
}

async fn register(State(state): Shared, Path(subject): Path<String>, body: Bytes) -> Response {
    let (schema, kind) = match parse_request(&body) {
        Ok(r) => r,
        Err(message) => return invalid(message),
    };
    let mut inner = lock(&state);
    if let Some((id, _)) = inner.find(&subject, &schema) {
        return answer(StatusCode::OK, json!({ "id": id }));
    }
    let has_versions = inner.subjects.get(&subject).is_some_and(|v| !v.is_empty());
    if has_versions && inner.incompatible.contains(&subject) {
        return error(
            StatusCode::CONFLICT,
            409,
            format!("Schema being registered is incompatible with an earlier schema for subject \"{subject}\""),
        );
    }
    let id = inner.id_of(&schema, &kind);
    inner.subjects.entry(subject).or_default().push(id);
    answer(StatusCode::OK, json!({ "id": id }))
}

async fn lookup(State(state): Shared, Path(subject): Path<String>, body: Bytes) -> Response {
    let (schema, _) = match parse_request(&body) {
        Ok(r) => r,
        Err(message) => return invalid(message),
    };
    let inner = lock(&state);
    if !inner.subjects.contains_key(&subject) {
        return error(
            StatusCode::NOT_FOUND,
            40401,
            format!("Subject '{subject}' not found."),
        );
    }
    match inner.find(&subject, &schema) {
        Some((id, version)) => answer(
            StatusCode::OK,
            json!({ "subject": subject, "id": id, "version": version, "schema": schema }),
        ),
        None => error(StatusCode::NOT_FOUND, 40403, "Schema not found".into()),
    }
}

async fn latest(State(state): Shared, Path(subject): Path<String>) -> Response {
    let inner = lock(&state);
    match inner
        .subjects
        .get(&subject)
        .and_then(|v| v.last().map(|id| (*id, v.len())))
    {
        Some((id, version)) => {
            let (schema, _) = &inner.schemas[(id - FIRST_ID) as usize];
            answer(
                StatusCode::OK,
                json!({ "subject": subject, "id": id, "version": version, "schema": schema }),
            )
        }
        None => error(
            StatusCode::NOT_FOUND,
            40401,
            format!("Subject '{subject}' not found."),
        ),
    }
}
