//! One attempt to hand a request to its target, and what it tells.
//!
//! Guarantees: an attempt is classed by whether the target can have
//! acted on it: [`Attempt::Accepted`] (2xx; a program that ran),
//! [`Attempt::Refused`] (4xx and other non-2xx answers but 5xx, a program
//! that cannot start: final), [`Attempt::Retryable`] (5xx, or no connection:
//! the target did not take it, a retry is safe) and [`Attempt::Unknown`]
//! (timeout or a broken exchange after sending: it may have acted, so it is
//! never sent again). Redirects are not followed. A program gets the
//! command on stdin, is killed at the timeout, and its stdout, when it is
//! an outcome's JSON, is its outcome.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::request::{OutcomeBody, Request};
use crate::schema::OutcomeStatus;

/// Most bytes of an answer kept for the log.
const DETAIL_BYTES: usize = 200;

/// An outcome a target reported with its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Immediate {
    /// How it ended.
    pub status: OutcomeStatus,
    /// Recovery.
    pub recovery: f64,
    /// Cost.
    pub cost: f64,
    /// The program's note, if it printed one.
    pub note: Option<String>,
}

/// What one attempt tells.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// Taken: a 2xx answer, or a program that ran (with its outcome, if it
    /// printed one or failed).
    Accepted {
        /// Status line or exit.
        detail: String,
        /// The outcome to report now.
        outcome: Option<Immediate>,
    },
    /// Finally refused: reported `rejected`, never retried.
    Refused {
        /// Why.
        detail: String,
    },
    /// Not taken; a retry is safe.
    Retryable {
        /// Why.
        detail: String,
    },
    /// May have been taken; never sent again.
    Unknown {
        /// Why.
        detail: String,
    },
}

/// The HTTP client of the bridge: no redirects, `timeout` per request.
pub fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
}

/// Makes one attempt.
pub async fn attempt(client: &reqwest::Client, request: &Request, timeout: Duration) -> Attempt {
    match request {
        Request::Http { url, headers, body } => post(client, url, headers, body).await,
        Request::Program {
            program,
            args,
            stdin,
        } => run(program, args, stdin, timeout).await,
    }
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Attempt {
    let mut request = client.post(url).body(body.to_vec());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            let detail = format!("HTTP {}: {}", status.as_u16(), clip(&text));
            if status.is_success() {
                Attempt::Accepted {
                    detail,
                    outcome: None,
                }
            } else if status.is_server_error() {
                Attempt::Retryable { detail }
            } else {
                Attempt::Refused { detail }
            }
        }
        Err(e) if e.is_connect() => Attempt::Retryable {
            detail: format!("no connection: {e}"),
        },
        Err(e) if e.is_builder() => Attempt::Refused {
            detail: format!("bad request: {e}"),
        },
        Err(e) => Attempt::Unknown {
            detail: format!("no answer (it may have been taken): {e}"),
        },
    }
}

async fn run(program: &str, args: &[String], stdin: &[u8], timeout: Duration) -> Attempt {
    let spawned = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            return Attempt::Refused {
                detail: format!("cannot start `{program}`: {e}"),
            }
        }
    };
    let input = stdin.to_vec();
    let pipe = child.stdin.take();
    let exchange = async move {
        if let Some(mut pipe) = pipe {
            // A program that does not read its stdin closes the pipe: not
            // an error of the run.
            let _ = pipe.write_all(&input).await;
            drop(pipe);
        }
        child.wait_with_output().await
    };
    match tokio::time::timeout(timeout, exchange).await {
        Err(_) => Attempt::Accepted {
            detail: format!("`{program}` killed after {timeout:?}"),
            outcome: Some(failed()),
        },
        Ok(Err(e)) => Attempt::Unknown {
            detail: format!("`{program}` started, then: {e}"),
        },
        Ok(Ok(output)) => {
            let printed = parse_outcome(&output.stdout);
            let code = output.status.code();
            let detail = match code {
                Some(c) => format!("`{program}` exited with {c}"),
                None => format!("`{program}` was killed by a signal"),
            };
            let outcome = if output.status.success() {
                printed
            } else {
                Some(printed.unwrap_or_else(failed))
            };
            Attempt::Accepted { detail, outcome }
        }
    }
}

fn failed() -> Immediate {
    Immediate {
        status: OutcomeStatus::Failed,
        recovery: 0.0,
        cost: 0.0,
        note: None,
    }
}

/// A program's stdout as an outcome: one JSON object with a known status
/// and finite numbers; anything else is no outcome.
pub fn parse_outcome(stdout: &[u8]) -> Option<Immediate> {
    let body: OutcomeBody = serde_json::from_slice(stdout).ok()?;
    let status = body.status()?;
    (body.recovery.is_finite() && body.cost.is_finite()).then_some(Immediate {
        status,
        recovery: body.recovery,
        cost: body.cost,
        note: body.note,
    })
}

fn clip(text: &str) -> String {
    let mut end = text.len().min(DETAIL_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn script(dir: &std::path::Path, body: &str) -> std::io::Result<String> {
        let path = dir.join("target.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n"))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        Ok(path.display().to_string())
    }

    fn program(path: &str, stdin: &[u8]) -> Request {
        Request::Program {
            program: path.into(),
            args: vec![],
            stdin: stdin.to_vec(),
        }
    }

    #[tokio::test]
    async fn a_program_gets_the_command_on_stdin_and_its_stdout_is_the_outcome(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let seen = dir.path().join("stdin.json");
        // Saves its stdin, answers with an outcome naming what it read.
        let path = script(
            dir.path(),
            &format!(
                "cat > {seen}\ngrep -q '\"action\":\"retrain\"' {seen} || exit 9\n\
                 echo '{{\"status\":\"completed\",\"recovery\":0.3,\"cost\":4}}'",
                seen = seen.display()
            ),
        )?;
        let client = client(Duration::from_secs(5))?;
        let stdin = br#"{"command_id":"c1","action":"retrain"}"#;
        let got = attempt(&client, &program(&path, stdin), Duration::from_secs(30)).await;
        assert_eq!(
            got,
            Attempt::Accepted {
                detail: format!("`{path}` exited with 0"),
                outcome: Some(Immediate {
                    status: OutcomeStatus::Succeeded,
                    recovery: 0.3,
                    cost: 4.0,
                    note: None,
                }),
            }
        );
        assert_eq!(std::fs::read(&seen)?, stdin);
        // The wrong action: exit 9, no JSON: a failed outcome.
        let got = attempt(
            &client,
            &program(&path, br#"{"action":"rollback"}"#),
            Duration::from_secs(30),
        )
        .await;
        assert!(
            matches!(&got, Attempt::Accepted { detail, outcome: Some(o) }
                if detail.ends_with("exited with 9") && o.status == OutcomeStatus::Failed),
            "{got:?}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_missing_program_is_refused_and_a_slow_one_killed(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let client = client(Duration::from_secs(5))?;
        let missing = dir.path().join("nope").display().to_string();
        let got = attempt(&client, &program(&missing, b"{}"), Duration::from_secs(5)).await;
        assert!(matches!(got, Attempt::Refused { .. }), "{got:?}");
        let slow = script(dir.path(), "sleep 30")?;
        let got = attempt(&client, &program(&slow, b"{}"), Duration::from_millis(200)).await;
        assert!(
            matches!(&got, Attempt::Accepted { outcome: Some(o), .. } if o.status == OutcomeStatus::Failed),
            "{got:?}"
        );
        // A program that exits 0 and prints nothing: accepted, no outcome yet.
        let quiet = script(dir.path(), "cat > /dev/null")?;
        let got = attempt(&client, &program(&quiet, b"{}"), Duration::from_secs(30)).await;
        assert!(
            matches!(got, Attempt::Accepted { outcome: None, .. }),
            "{got:?}"
        );
        Ok(())
    }

    /// A one-connection HTTP server answering `status` to whatever comes.
    async fn answer_once(status: u16) -> std::io::Result<std::net::SocketAddr> {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            if let Ok((mut s, _)) = listener.accept().await {
                let mut buf = vec![0u8; 65536];
                let _ = s.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                );
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        Ok(addr)
    }

    #[tokio::test]
    async fn http_answers_are_classed_by_whether_a_retry_is_safe(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let client = client(Duration::from_secs(5))?;
        let post = |addr: std::net::SocketAddr| Request::Http {
            url: format!("http://{addr}/hook"),
            headers: vec![("content-type".into(), "application/json".into())],
            body: b"{}".to_vec(),
        };
        let t = Duration::from_secs(5);
        for (status, class) in [
            (202, "accepted"),
            (204, "accepted"),
            (422, "refused"),
            (404, "refused"),
            (302, "refused"),
            (503, "retryable"),
            (500, "retryable"),
        ] {
            let got = attempt(&client, &post(answer_once(status).await?), t).await;
            let seen = match got {
                Attempt::Accepted { .. } => "accepted",
                Attempt::Refused { .. } => "refused",
                Attempt::Retryable { .. } => "retryable",
                Attempt::Unknown { .. } => "unknown",
            };
            assert_eq!(seen, class, "{status}");
        }
        // Nobody listening: not taken, safe to retry.
        let free = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let got = attempt(&client, &post(free), t).await;
        assert!(matches!(got, Attempt::Retryable { .. }), "{got:?}");
        // Taken but never answered: unknown, never resent.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = silent.local_addr()?;
        let keep = tokio::spawn(async move {
            let conn = silent.accept().await;
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(conn);
        });
        let quick = super::client(Duration::from_millis(300))?;
        let got = attempt(&quick, &post(addr), t).await;
        keep.abort();
        assert!(matches!(got, Attempt::Unknown { .. }), "{got:?}");
        Ok(())
    }
}
