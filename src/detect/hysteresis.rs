//! Hysteresis for an alert: it opens and closes instead of flapping.
//!
//! Guarantees: a closed alert opens after `persist` consecutive `true`
//! signals and an open one closes after `persist` consecutive `false`
//! signals (`persist` 0 behaves as 1), so with `persist` 1 the state equals
//! the last signal. A transition happens only when the last `persist`
//! signals all disagree with the state before it, transitions alternate
//! strictly (opened, closed, opened, …), and the state after any sequence
//! is a function of that sequence alone. The 5-byte encoding round-trips
//! exactly and decoding rejects malformed bytes with an error, never a
//! panic.

/// The state of one alert (e.g. one model's drift alert).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Hysteresis {
    open: bool,
    /// Consecutive evaluations disagreeing with the current state.
    run: u32,
}

/// A change of an alert's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The alert opened (the condition persisted).
    Opened,
    /// The alert closed (the condition cleared and stayed clear).
    Closed,
}

/// Bytes that are not an encoded [`Hysteresis`] (corrupt local state; a
/// retry cannot help).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt hysteresis state: {0}")]
pub struct HysteresisDecodeError(pub &'static str);

impl Hysteresis {
    /// Feeds one evaluation's signal (`true` = condition present) and
    /// returns the transition it causes, if any.
    pub fn observe(&mut self, signal: bool, persist: u32) -> Option<Transition> {
        if signal == self.open {
            self.run = 0;
            return None;
        }
        self.run = self.run.saturating_add(1);
        if self.run < persist.max(1) {
            return None;
        }
        self.open = signal;
        self.run = 0;
        Some(if signal {
            Transition::Opened
        } else {
            Transition::Closed
        })
    }

    /// True while the alert is open.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Encodes as `[open (0 or 1), run as u32 little-endian]`.
    pub fn encode(&self) -> [u8; 5] {
        let run = self.run.to_le_bytes();
        [u8::from(self.open), run[0], run[1], run[2], run[3]]
    }

    /// Decodes what [`Hysteresis::encode`] produced.
    pub fn decode(bytes: &[u8]) -> Result<Self, HysteresisDecodeError> {
        let bytes: &[u8; 5] = bytes
            .try_into()
            .map_err(|_| HysteresisDecodeError("length is not 5 bytes"))?;
        let open = match bytes[0] {
            0 => false,
            1 => true,
            _ => return Err(HysteresisDecodeError("open flag is neither 0 nor 1")),
        };
        let run = u32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        Ok(Self { open, run })
    }
}

#[cfg(test)]
#[path = "hysteresis_tests.rs"]
mod tests;
