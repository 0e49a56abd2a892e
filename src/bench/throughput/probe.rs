//! Progress of a `jidoka run` child, read from its `/metrics` endpoint.
//!
//! Guarantees: [`scrape`] either returns the counters of one complete
//! exposition or an error (connection refused while the child starts, a
//! cut answer); parsing is pure and tolerates any other metric lines.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The counters the benchmark watches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// `jidoka_records_processed_total`.
    pub processed: u64,
    /// `jidoka_records_dead_lettered_total`.
    pub dead_lettered: u64,
    /// `jidoka_drift_events_total`.
    pub drift_events: u64,
    /// `jidoka_changelog_records_total`.
    pub changelog_records: u64,
}

/// Parses an OpenMetrics exposition; `None` unless it ends with `# EOF`
/// and has the processed counter.
pub fn parse(text: &str) -> Option<Progress> {
    if !text.trim_end().ends_with("# EOF") {
        return None;
    }
    let mut progress = Progress::default();
    let mut seen = false;
    for line in text.lines() {
        let Some((name, value)) = line.split_once(' ') else {
            continue;
        };
        let slot = match name {
            "jidoka_records_processed_total" => {
                seen = true;
                &mut progress.processed
            }
            "jidoka_records_dead_lettered_total" => &mut progress.dead_lettered,
            "jidoka_drift_events_total" => &mut progress.drift_events,
            "jidoka_changelog_records_total" => &mut progress.changelog_records,
            _ => continue,
        };
        // Counters are integers; a float form (`1.0`) is accepted too.
        let value = value.split_whitespace().next().unwrap_or_default();
        *slot = value
            .parse::<u64>()
            .ok()
            .or_else(|| value.parse::<f64>().ok().map(|v| v as u64))?;
    }
    seen.then_some(progress)
}

/// Fetches and parses `http://address/metrics`.
pub fn scrape(address: SocketAddr) -> Result<Progress, String> {
    let timeout = Duration::from_secs(5);
    let mut stream = TcpStream::connect_timeout(&address, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    // HTTP/1.0: the answer is not chunked and ends when the server closes.
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| e.to_string())?;
    let body = answer
        .split_once("\r\n\r\n")
        .map_or(answer.as_str(), |(_, body)| body);
    parse(body).ok_or_else(|| "incomplete /metrics answer".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_read_from_an_exposition() {
        let text = "# HELP jidoka_records_processed_total Input records.\n\
            # TYPE jidoka_records_processed_total counter\n\
            jidoka_records_processed_total 1234\n\
            jidoka_records_dead_lettered_total 2\n\
            jidoka_records_in_total{topic=\"p\"} 99\n\
            jidoka_drift_events_total 7.0\n\
            jidoka_changelog_records_total 50\n\
            # EOF\n";
        assert_eq!(
            parse(text),
            Some(Progress {
                processed: 1234,
                dead_lettered: 2,
                drift_events: 7,
                changelog_records: 50,
            })
        );
        assert_eq!(parse("jidoka_records_processed_total 3\n"), None);
        assert_eq!(parse("jidoka_drift_events_total 3\n# EOF\n"), None);
        assert_eq!(parse("jidoka_records_processed_total x\n# EOF\n"), None);
    }
}
