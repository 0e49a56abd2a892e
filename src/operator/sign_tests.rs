//! Tests of operator command signatures.

use hmac::Mac;
use proptest::prelude::*;

use super::*;
use crate::schema::{OperatorCommand, OperatorKind};

const KEY: &[u8] = b"an operator key of at least 32 bytes!";

fn command() -> OperatorCommand {
    OperatorCommand {
        command_id: "op-1".into(),
        kind: OperatorKind::Approve,
        model_id: Some("churn-v7".into()),
        target_command_id: Some("cmd-9".into()),
        issued_by: "alice".into(),
        issued_at: 1_700_000_000_000,
        signature: None,
        action: Some("rollback".into()),
        note: Some("retrain data is bad".into()),
    }
}

fn signed(mut cmd: OperatorCommand) -> OperatorCommand {
    sign(&mut cmd, KEY);
    cmd
}

#[test]
fn round_trip() {
    let cmd = signed(command());
    let sig = cmd.signature.clone().unwrap_or_default();
    assert_eq!(sig.len(), 2 * SIGNATURE_BYTES);
    assert!(
        sig.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')),
        "{sig}"
    );
    assert_eq!(verify(&cmd, KEY), Ok(()));
    // Signing again (over an existing signature) gives the same signature.
    assert_eq!(signed(cmd.clone()).signature, cmd.signature);
    // Upper-case hex is the same bytes.
    let upper = OperatorCommand {
        signature: Some(sig.to_uppercase()),
        ..cmd
    };
    assert_eq!(verify(&upper, KEY), Ok(()));
}

/// Every single-field change of `cmd`, by name.
fn single_field_changes(cmd: &OperatorCommand) -> Vec<(&'static str, OperatorCommand)> {
    let with = |f: &dyn Fn(&mut OperatorCommand)| {
        let mut c = cmd.clone();
        f(&mut c);
        c
    };
    let toggle = |o: &Option<String>| match o {
        None => Some(String::new()),
        Some(s) if s.is_empty() => None,
        Some(s) => Some(format!("{s}x")),
    };
    vec![
        ("command_id", with(&|c| c.command_id.push('x'))),
        (
            "kind",
            with(&|c| {
                c.kind = match c.kind {
                    OperatorKind::Veto => OperatorKind::Approve,
                    OperatorKind::Approve => OperatorKind::Pause,
                    OperatorKind::Pause => OperatorKind::Resume,
                    OperatorKind::Resume => OperatorKind::Veto,
                }
            }),
        ),
        ("model_id", with(&|c| c.model_id = toggle(&c.model_id))),
        (
            "target_command_id",
            with(&|c| c.target_command_id = toggle(&c.target_command_id)),
        ),
        ("issued_by", with(&|c| c.issued_by.push('x'))),
        (
            "issued_at",
            with(&|c| c.issued_at = c.issued_at.wrapping_add(1)),
        ),
        ("action", with(&|c| c.action = toggle(&c.action))),
        ("note", with(&|c| c.note = toggle(&c.note))),
    ]
}

#[test]
fn any_single_field_change_is_a_mismatch() {
    let cmd = signed(command());
    let changes = single_field_changes(&cmd);
    assert_eq!(changes.len(), 8, "every field but the signature");
    for (field, changed) in changes {
        assert_ne!(changed, cmd, "{field}");
        assert_eq!(
            verify(&changed, KEY),
            Err(SignatureError::Mismatch),
            "{field}"
        );
    }
}

#[test]
fn none_and_empty_string_differ() {
    for field in ["model_id", "target_command_id", "action", "note"] {
        let mut none = command();
        let mut empty = command();
        let (a, b) = match field {
            "model_id" => (&mut none.model_id, &mut empty.model_id),
            "target_command_id" => (&mut none.target_command_id, &mut empty.target_command_id),
            "action" => (&mut none.action, &mut empty.action),
            _ => (&mut none.note, &mut empty.note),
        };
        *a = None;
        *b = Some(String::new());
        let none = signed(none);
        let moved = OperatorCommand {
            signature: none.signature.clone(),
            ..empty
        };
        assert_eq!(
            verify(&moved, KEY),
            Err(SignatureError::Mismatch),
            "{field}"
        );
    }
}

#[test]
fn field_boundaries_are_unambiguous() {
    // Moving characters between adjacent strings changes the encoding.
    let a = OperatorCommand {
        command_id: "ab".into(),
        issued_by: "c".into(),
        ..command()
    };
    let b = OperatorCommand {
        command_id: "a".into(),
        issued_by: "bc".into(),
        ..command()
    };
    assert_ne!(canonical(&a), canonical(&b));
    let c = OperatorCommand {
        model_id: Some("m".into()),
        target_command_id: None,
        ..command()
    };
    let d = OperatorCommand {
        model_id: None,
        target_command_id: Some("m".into()),
        ..command()
    };
    assert_ne!(canonical(&c), canonical(&d));
}

#[test]
fn canonical_encoding_is_the_documented_one() {
    let cmd = OperatorCommand {
        command_id: "c".into(),
        kind: OperatorKind::Pause,
        model_id: None,
        target_command_id: Some("t".into()),
        issued_by: "b".into(),
        issued_at: -2,
        signature: Some("ignored".into()),
        action: None,
        note: Some("".into()),
    };
    let mut expected = Vec::new();
    let s = |out: &mut Vec<u8>, v: &str| {
        out.extend_from_slice(&(v.len() as u64).to_be_bytes());
        out.extend_from_slice(v.as_bytes());
    };
    s(&mut expected, "jidoka-operator-command-v1");
    s(&mut expected, "c");
    s(&mut expected, "pause");
    expected.push(0);
    expected.push(1);
    s(&mut expected, "t");
    s(&mut expected, "b");
    expected.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
    expected.push(0);
    expected.push(1);
    s(&mut expected, "");
    assert_eq!(canonical(&cmd), expected);
}

#[test]
fn known_signature() {
    // The vector of docs/operator.md, computed independently with its
    // Python verifier: `command()` signed with `KEY`.
    assert_eq!(
        signed(command()).signature.as_deref(),
        Some("71ea389ed7cd17a9102089e0d2a1b6b30bbdc5225615a35c5feb8d26457966fc")
    );
}

#[test]
fn hmac_matches_rfc_4231() {
    // Test cases 1, 2 and 6 of RFC 4231 (short, text and over-block keys).
    let cases: [(Vec<u8>, &[u8], &str); 3] = [
        (
            vec![0x0b; 20],
            b"Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            b"Jefe".to_vec(),
            b"what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            vec![0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
    ];
    for (key, data, expected) in cases {
        let mut mac = keyed(&key);
        mac.update(data);
        assert_eq!(hex::encode(mac.finalize().into_bytes()), expected);
        let mut lib = match <Hmac<Sha256> as Mac>::new_from_slice(&key) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        };
        lib.update(data);
        assert_eq!(hex::encode(lib.finalize().into_bytes()), expected);
    }
}

#[test]
fn wrong_key_is_a_mismatch() {
    let cmd = signed(command());
    assert_eq!(
        verify(&cmd, b"another key of at least 32 bytes....."),
        Err(SignatureError::Mismatch)
    );
    let mut longer = KEY.to_vec();
    longer.push(b'!');
    assert_eq!(verify(&cmd, &longer), Err(SignatureError::Mismatch));
    assert_eq!(verify(&cmd, &KEY[1..]), Err(SignatureError::Mismatch));
}

#[test]
fn missing_signature() {
    assert_eq!(verify(&command(), KEY), Err(SignatureError::Missing));
}

#[test]
fn malformed_signatures() {
    let valid = signed(command()).signature.unwrap_or_default();
    for bad in [
        String::new(),
        "zz".repeat(SIGNATURE_BYTES),
        valid[..62].to_string(),
        format!("{valid}00"),
        format!("{valid}0"),
        format!(" {}", &valid[1..]),
    ] {
        let cmd = OperatorCommand {
            signature: Some(bad.clone()),
            ..command()
        };
        assert!(
            matches!(verify(&cmd, KEY), Err(SignatureError::Malformed(_))),
            "{bad:?}: {:?}",
            verify(&cmd, KEY)
        );
    }
}

fn opt_string() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some(String::new())),
        any::<String>().prop_map(Some)
    ]
}

fn any_command() -> impl Strategy<Value = OperatorCommand> {
    (
        any::<String>(),
        prop_oneof![
            Just(OperatorKind::Veto),
            Just(OperatorKind::Approve),
            Just(OperatorKind::Pause),
            Just(OperatorKind::Resume),
        ],
        opt_string(),
        opt_string(),
        any::<String>(),
        any::<i64>(),
        opt_string(),
        opt_string(),
    )
        .prop_map(
            |(
                command_id,
                kind,
                model_id,
                target_command_id,
                issued_by,
                issued_at,
                action,
                note,
            )| {
                OperatorCommand {
                    command_id,
                    kind,
                    model_id,
                    target_command_id,
                    issued_by,
                    issued_at,
                    signature: None,
                    action,
                    note,
                }
            },
        )
}

proptest! {
    #[test]
    fn signed_commands_verify_and_mutations_do_not(
        cmd in any_command(),
        key in proptest::collection::vec(any::<u8>(), 0..100),
        field in 0usize..8,
    ) {
        let mut cmd = cmd;
        sign(&mut cmd, &key);
        prop_assert_eq!(verify(&cmd, &key), Ok(()));
        let changes = single_field_changes(&cmd);
        let (name, changed) = &changes[field];
        prop_assert_eq!(verify(changed, &key), Err(SignatureError::Mismatch), "{}", name);
    }
}
