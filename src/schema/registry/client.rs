//! A small client of the Confluent Schema Registry REST API: the four
//! endpoints jidoka uses, over `reqwest` (native TLS, optional basic
//! authentication and CA file).
//!
//! Guarantees: every request is bounded by `schemas.registry-timeout`; an
//! answer is either the documented body or a [`RegistryError`] carrying
//! the URL, the request, the status and Confluent's `error_code` and
//! `message`, so the caller can tell "does not exist" (4xx) from "try
//! again" ([`RegistryError::is_retryable`]). The password is never logged.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::error::RegistryError;
use crate::config::{SchemasConfig, Secret};

/// Media type of the registry's requests and answers.
const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// A schema as `GET /schemas/ids/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedSchema {
    /// The schema's text.
    pub schema: String,
    /// `AVRO` (the registry leaves it out for Avro), `JSON` or `PROTOBUF`.
    pub schema_type: String,
    /// How many schema references it names.
    pub references: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaBody {
    schema: String,
    #[serde(default)]
    schema_type: Option<String>,
    #[serde(default)]
    references: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct IdBody {
    id: u32,
}

#[derive(Deserialize)]
struct ErrorBody {
    error_code: i64,
    message: String,
}

/// A Schema Registry client; cheap to clone.
#[derive(Clone)]
pub struct RegistryClient {
    http: reqwest::Client,
    base: String,
    username: Option<String>,
    password: Option<Secret>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("url", &self.base)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl RegistryClient {
    /// The client of `schemas.registry-url`, or `None` when it is not set.
    pub fn from_config(cfg: &SchemasConfig) -> Result<Option<RegistryClient>, RegistryError> {
        let Some(url) = &cfg.registry_url else {
            return Ok(None);
        };
        let mut client = Self::new(url, cfg.registry_timeout, cfg.registry_ca_file.as_deref())?;
        client.username = cfg.registry_username.clone();
        client.password = cfg.registry_password.clone();
        Ok(Some(client))
    }

    /// A client of `url` without authentication, with a timeout per
    /// request and, optionally, a PEM file of CA certificates to trust.
    pub fn new(
        url: &str,
        timeout: Duration,
        ca_file: Option<&Path>,
    ) -> Result<RegistryClient, RegistryError> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout);
        if let Some(path) = ca_file {
            let ca_error = |message: String| RegistryError::CaFile {
                path: path.display().to_string(),
                message,
            };
            let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| ca_error(format!("not PEM certificates: {e}")))?;
            if certs.is_empty() {
                return Err(ca_error("holds no PEM certificate".into()));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| RegistryError::Client(e.to_string()))?;
        Ok(RegistryClient {
            http,
            base: url.trim_end_matches('/').to_string(),
            username: None,
            password: None,
        })
    }

    /// The registry's base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// `GET /schemas/ids/{id}`: the schema with a global id.
    pub async fn schema_by_id(&self, id: u32) -> Result<FetchedSchema, RegistryError> {
        let what = format!("GET /schemas/ids/{id}");
        let body: SchemaBody = self
            .call(
                &what,
                self.http.get(format!("{}/schemas/ids/{id}", self.base)),
            )
            .await?;
        Ok(FetchedSchema {
            schema: body.schema,
            schema_type: body.schema_type.unwrap_or_else(|| "AVRO".into()),
            references: body.references.len(),
        })
    }

    /// `POST /subjects/{subject}/versions`: registers an Avro schema under
    /// a subject (or finds it already registered) and returns its id.
    pub async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let what = format!("POST /subjects/{subject}/versions");
        let url = format!("{}/subjects/{subject}/versions", self.base);
        let body: IdBody = self.call(&what, self.post(url, schema)).await?;
        Ok(body.id)
    }

    /// `POST /subjects/{subject}`: the id of an Avro schema already
    /// registered under a subject, `None` when it is not (or the subject
    /// does not exist).
    pub async fn lookup(&self, subject: &str, schema: &str) -> Result<Option<u32>, RegistryError> {
        let what = format!("POST /subjects/{subject}");
        let url = format!("{}/subjects/{subject}", self.base);
        match self.call::<IdBody>(&what, self.post(url, schema)).await {
            Ok(body) => Ok(Some(body.id)),
            Err(RegistryError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /subjects/{subject}/versions/latest`: the id and text of the
    /// subject's latest schema, `None` when the subject does not exist.
    pub async fn latest(&self, subject: &str) -> Result<Option<(u32, String)>, RegistryError> {
        #[derive(Deserialize)]
        struct Latest {
            id: u32,
            schema: String,
        }
        let what = format!("GET /subjects/{subject}/versions/latest");
        let url = format!("{}/subjects/{subject}/versions/latest", self.base);
        match self.call::<Latest>(&what, self.http.get(url)).await {
            Ok(l) => Ok(Some((l.id, l.schema))),
            Err(RegistryError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn post(&self, url: String, schema: &str) -> reqwest::RequestBuilder {
        let body = serde_json::json!({ "schema": schema }).to_string();
        self.http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .body(body)
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, RegistryError> {
        let mut request = request.header(reqwest::header::ACCEPT, CONTENT_TYPE);
        if let Some(user) = &self.username {
            request = request.basic_auth(user, self.password.as_ref().map(Secret::expose));
        }
        let unreachable = |e: reqwest::Error| RegistryError::Unreachable {
            url: self.base.clone(),
            message: error_chain(&e),
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(unreachable)?;
        if !status.is_success() {
            let (code, message) = match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(e) => (e.error_code, e.message),
                Err(_) => (
                    i64::from(status.as_u16()),
                    String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned(),
                ),
            };
            return Err(RegistryError::Status {
                url: self.base.clone(),
                what: what.to_string(),
                status: status.as_u16(),
                code,
                message,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| RegistryError::Body {
            url: self.base.clone(),
            what: what.to_string(),
            message: e.to_string(),
        })
    }
}

/// An error with its sources ("error sending request: connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
