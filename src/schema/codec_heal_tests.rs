//! Heal commands and outcomes across their schema versions: version 1
//! (written by earlier jidoka builds and by executors built against them)
//! still decodes, and version 2's added fields round-trip.

use apache_avro::Schema;

use super::tests::{codec, datum_with};
use crate::schema::records::*;
use crate::schema::wire::frame;

fn v1_datum(source: &str, value: serde_json::Value) -> Vec<u8> {
    match Schema::parse_str(source) {
        Ok(schema) => datum_with(&schema, value),
        Err(e) => panic!("v1 schema: {e}"),
    }
}

#[test]
fn heal_command_v1_is_read_and_v2_carries_the_target() {
    let c = codec();
    let datum = v1_datum(
        include_str!("../../schemas/history/heal_command.v1.avsc"),
        serde_json::json!({
            "command_id": "c1", "decision_id": "d1", "model_id": "m", "model_version": "3",
            "action": "hold", "reason": "r", "evidence": ["c0"], "issued_at": 5,
            "config_version": "cfg"
        }),
    );
    let old: HealCommand = match c.decode(Some(&frame(4, &datum))) {
        Ok(r) => r,
        Err(e) => panic!("a v1 command must decode: {e}"),
    };
    assert_eq!((old.command_id.as_str(), old.action), ("c1", Action::Hold));
    assert_eq!(old.target_command_id, None);

    let new = HealCommand {
        target_command_id: Some("c0".into()),
        ..old
    };
    let bytes = match c.encode(&new) {
        Ok(b) => b,
        Err(e) => panic!("encode: {e}"),
    };
    assert_eq!(
        bytes[1..5],
        12u32.to_be_bytes(),
        "written with version 2's id"
    );
    match c.decode::<HealCommand>(Some(&bytes)) {
        Ok(back) => assert_eq!(back, new),
        Err(e) => panic!("decode: {e}"),
    }
}

#[test]
fn heal_outcome_v1_is_read_and_v2_carries_the_note() {
    let c = codec();
    let datum = v1_datum(
        include_str!("../../schemas/history/heal_outcome.v1.avsc"),
        serde_json::json!({
            "command_id": "c1", "model_id": "m", "status": "succeeded",
            "recovery": 0.2, "cost": 1.5, "reported_at": 9
        }),
    );
    let old: HealOutcome = match c.decode(Some(&frame(5, &datum))) {
        Ok(r) => r,
        Err(e) => panic!("a v1 outcome must decode: {e}"),
    };
    assert_eq!(
        (old.recovery, old.cost, old.note.as_deref()),
        (0.2, 1.5, None)
    );
    let new = HealOutcome {
        note: Some("https://ci.example/runs/7".into()),
        ..old
    };
    let bytes = match c.encode(&new) {
        Ok(b) => b,
        Err(e) => panic!("encode: {e}"),
    };
    assert_eq!(
        bytes[1..5],
        13u32.to_be_bytes(),
        "written with version 2's id"
    );
    match c.decode::<HealOutcome>(Some(&bytes)) {
        Ok(back) => assert_eq!(back, new),
        Err(e) => panic!("decode: {e}"),
    }
}
