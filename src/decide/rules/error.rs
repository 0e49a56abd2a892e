//! Errors from loading a policy file.
//!
//! Guarantees: every variant names the file (the `origin` given to the
//! loader); rule-level variants also name the rule, and condition errors
//! carry the 1-based byte column inside the rule's `when` string.

use super::parse::ParseError;
use super::signals::Signal;

/// Why a policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("{file}: cannot read policy file: {source}")]
    Io {
        /// File name.
        file: String,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the policy schema.
    #[error("{file}: invalid policy TOML: {message}")]
    Toml {
        /// File name.
        file: String,
        /// The `toml` crate's message (includes line and column).
        message: String,
    },
    /// A `when` condition is malformed.
    #[error("{file}: rule \"{rule}\": at column {column}: {message}")]
    Syntax {
        /// File name.
        file: String,
        /// Rule name.
        rule: String,
        /// 1-based byte column in the `when` string.
        column: usize,
        /// What was expected and what was found.
        message: String,
    },
    /// A `when` condition names a signal that does not exist.
    #[error("{file}: rule \"{rule}\": at column {column}: unknown signal \"{name}\" (known: {known})", known = known_signals())]
    UnknownSignal {
        /// File name.
        file: String,
        /// Rule name.
        rule: String,
        /// 1-based byte column of the name in the `when` string.
        column: usize,
        /// The unknown name.
        name: String,
    },
    /// An `action` is not one of the known actions.
    #[error(
        "{file}: rule \"{rule}\": unknown action \"{action}\" (expected one of retrain, rollback, fallback, hold, escalate, none)"
    )]
    UnknownAction {
        /// File name.
        file: String,
        /// Rule name.
        rule: String,
        /// The action as written.
        action: String,
    },
    /// Two rules share a name.
    #[error("{file}: duplicate rule name \"{rule}\"")]
    DuplicateRule {
        /// File name.
        file: String,
        /// The repeated name.
        rule: String,
    },
    /// The file defines no `[[rule]]`.
    #[error("{file}: policy has no [[rule]] entries")]
    Empty {
        /// File name.
        file: String,
    },
}

fn known_signals() -> String {
    Signal::ALL.map(Signal::name).join(", ")
}

impl PolicyError {
    /// Converts a condition parse error into a rule-scoped policy error.
    pub(crate) fn from_parse(file: &str, rule: &str, e: ParseError) -> PolicyError {
        use super::parse::ParseErrorKind;
        let (file, rule, column) = (file.to_string(), rule.to_string(), e.column);
        match e.kind {
            ParseErrorKind::Syntax(message) => PolicyError::Syntax {
                file,
                rule,
                column,
                message,
            },
            ParseErrorKind::UnknownSignal(name) => PolicyError::UnknownSignal {
                file,
                rule,
                column,
                name,
            },
        }
    }
}
