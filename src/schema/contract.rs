//! Every record type's schema and its contract beyond Avro types: what
//! [`super::Codec`] checks after decoding and before encoding.
//!
//! Guarantees: a prediction or label has a non-empty model id and feature
//! names without NUL, an event time in 1970..9999, and finite numbers; an
//! outcome's recovery and cost are finite; an operator command's action is
//! a healing command and only on an approval, and a veto or approval names
//! its model (and an approval its target command). Every check's error says
//! which field is wrong and why.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::codec::SchemaKind;
use super::records::{
    Action, AuditRecord, DeadLetter, DriftEvent, EvaluationRecord, HealCommand, HealOutcome, Label,
    OperatorCommand, OperatorKind, Prediction,
};

/// A record type with a schema. Implemented for every type in `records.rs`.
pub trait AvroRecord: Serialize + DeserializeOwned {
    /// Its schema.
    const KIND: SchemaKind;
    /// Checks the record's contract beyond Avro types (e.g. finite numbers).
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

fn finite(name: &str, value: f64) -> Result<(), String> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(format!("{name} is {value}, not a finite number"))
    }
}

/// Latest event time accepted (9999-12-31T23:59:59.999Z), in ms.
const MAX_EVENT_TIME: i64 = 253_402_300_799_999;

fn name(what: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("{what} is empty"));
    }
    if value.contains('\0') {
        return Err(format!(
            "{what} `{}` contains a NUL character",
            value.escape_debug()
        ));
    }
    Ok(())
}

fn event_time(value: i64) -> Result<(), String> {
    if (0..=MAX_EVENT_TIME).contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "event_time {value} is outside 1970-01-01..9999-12-31"
        ))
    }
}

impl AvroRecord for Prediction {
    const KIND: SchemaKind = SchemaKind::Prediction;
    fn check(&self) -> Result<(), String> {
        name("model_id", &self.model_id)?;
        event_time(self.event_time)?;
        for (feature, value) in &self.features {
            name("feature name", feature)?;
            finite(&format!("feature `{feature}`"), *value)?;
        }
        finite("score", self.score)?;
        if let Some(latency) = self.latency_ms {
            finite("latency_ms", latency)?;
        }
        Ok(())
    }
}

impl AvroRecord for Label {
    const KIND: SchemaKind = SchemaKind::Label;
    fn check(&self) -> Result<(), String> {
        name("model_id", &self.model_id)?;
        event_time(self.event_time)
    }
}

impl AvroRecord for DriftEvent {
    const KIND: SchemaKind = SchemaKind::DriftEvent;
}

impl AvroRecord for EvaluationRecord {
    const KIND: SchemaKind = SchemaKind::Evaluation;
}

impl AvroRecord for HealCommand {
    const KIND: SchemaKind = SchemaKind::HealCommand;
}

impl AvroRecord for HealOutcome {
    const KIND: SchemaKind = SchemaKind::HealOutcome;
    fn check(&self) -> Result<(), String> {
        finite("recovery", self.recovery)?;
        finite("cost", self.cost)
    }
}

impl AvroRecord for OperatorCommand {
    const KIND: SchemaKind = SchemaKind::OperatorCommand;
    fn check(&self) -> Result<(), String> {
        if let Some(action) = &self.action {
            if Action::command_from_name(action).is_none() {
                return Err(format!(
                    "action `{}` is not one of retrain, rollback, fallback, hold, escalate",
                    action.escape_debug()
                ));
            }
            if self.kind != OperatorKind::Approve {
                return Err(format!(
                    "action is set on a {} command (approve only)",
                    self.kind
                ));
            }
        }
        if matches!(self.kind, OperatorKind::Veto | OperatorKind::Approve) {
            match &self.model_id {
                Some(model) => name("model_id", model)?,
                None => return Err(format!("a {} command needs a model_id", self.kind)),
            }
        }
        if self.kind == OperatorKind::Approve && self.target_command_id.is_none() {
            return Err("an approve command needs a target_command_id".into());
        }
        Ok(())
    }
}

impl AvroRecord for AuditRecord {
    const KIND: SchemaKind = SchemaKind::AuditRecord;
}

impl AvroRecord for DeadLetter {
    const KIND: SchemaKind = SchemaKind::DeadLetter;
}
