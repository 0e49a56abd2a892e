//! The lifecycle status of a decision, as its audit records name it.
//!
//! Guarantees: each status travels as the name it had as a string
//! (`awaiting-approval`, …), in Avro, JSON and the state store alike.

use super::wire_enum::wire_enum;

wire_enum! {
    /// Where a decision is in its lifecycle (`AuditRecord::status`; a
    /// remembered command's status too).
    pub enum AuditStatus {
        /// Decided; no command was issued.
        Decided = "decided",
        /// A command went to the executors.
        Dispatched = "dispatched",
        /// An escalation waits for an operator.
        AwaitingApproval = "awaiting-approval",
        /// An operator approved the escalation.
        Approved = "approved",
        /// An operator vetoed the command.
        Vetoed = "vetoed",
        /// The executor reported an outcome.
        Completed = "completed",
        /// An operator command was obeyed.
        Accepted = "accepted",
        /// An operator command was refused.
        Rejected = "rejected",
    }
}

impl Default for AuditStatus {
    /// `decided`, the schema's default.
    fn default() -> Self {
        AuditStatus::Decided
    }
}
