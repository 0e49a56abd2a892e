//! Why a Schema Registry request failed, and whether retrying can help.

/// A Schema Registry request failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The client could not be built: the CA file is unreadable or not PEM
    /// (the user's configuration).
    #[error("schemas.registry-ca-file {path}: {message}")]
    CaFile {
        /// File named by `schemas.registry-ca-file`.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// The HTTP client could not be built (internal).
    #[error("schema registry client: {0}")]
    Client(String),
    /// No answer: connection refused, DNS, TLS or timeout (external,
    /// retryable).
    #[error("schema registry {url} is unreachable: {message}")]
    Unreachable {
        /// Registry base URL.
        url: String,
        /// Transport error.
        message: String,
    },
    /// The registry answered with an error status (a 5xx is retryable, a
    /// 4xx is not).
    #[error("schema registry {url} answered {status} to {what}: {message} (error code {code})")]
    Status {
        /// Registry base URL.
        url: String,
        /// What was asked (`GET /schemas/ids/7`).
        what: String,
        /// HTTP status.
        status: u16,
        /// Confluent's `error_code` (the status when the body has none).
        code: i64,
        /// Confluent's `message` (or the body).
        message: String,
    },
    /// The registry refused one of jidoka's schemas under a subject: it is
    /// incompatible with the subject's earlier versions (409) or invalid
    /// (422). The user's (the subject's compatibility setting), not
    /// retryable.
    #[error(
        "schema registry {url} refused schema {schema} under subject `{subject}` \
         ({status}, error code {code}): {message}; change the subject's compatibility \
         or use other topic names"
    )]
    Refused {
        /// Registry base URL.
        url: String,
        /// Subject (`<topic>-value`).
        subject: String,
        /// jidoka's schema file.
        schema: &'static str,
        /// HTTP status (409 or 422).
        status: u16,
        /// Confluent's `error_code`.
        code: i64,
        /// Confluent's `message`.
        message: String,
    },
    /// A 2xx answer whose body is not what the API documents (external).
    #[error("schema registry {url} answered {what} with an unexpected body: {message}")]
    Body {
        /// Registry base URL.
        url: String,
        /// What was asked.
        what: String,
        /// Parse error.
        message: String,
    },
}

/// Confluent's error code for "schema not found" (`GET /schemas/ids/{id}`).
pub const SCHEMA_NOT_FOUND: i64 = 40403;
/// Confluent's error code for "subject not found".
pub const SUBJECT_NOT_FOUND: i64 = 40401;

impl RegistryError {
    /// Whether asking again later can succeed: the registry was unreachable
    /// or failed on its side (5xx, 429).
    pub fn is_retryable(&self) -> bool {
        match self {
            RegistryError::Unreachable { .. } => true,
            RegistryError::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}
