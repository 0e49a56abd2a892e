//! Error positions and messages for malformed conditions.

use jidoka::decide::rules::{Condition, ParseError, ParseErrorKind, MAX_DEPTH};

fn err(src: &str) -> ParseError {
    match Condition::parse(src) {
        Ok(c) => panic!("{src:?} parsed as {c}"),
        Err(e) => e,
    }
}

fn syntax(src: &str, column: usize, needle: &str) {
    let e = err(src);
    assert_eq!(e.column, column, "{src:?}: {e}");
    match &e.kind {
        ParseErrorKind::Syntax(m) => assert!(m.contains(needle), "{src:?}: {m}"),
        other => panic!("{src:?}: expected syntax error, got {other:?}"),
    }
}

#[test]
fn missing_operand() {
    syntax("drift >", 8, "expected a number, found end of input");
    syntax("drift > or true", 9, "expected a number, found \"or\"");
    syntax("drift > 0.2 or", 15, "found end of input");
    syntax("drift > 0.2 or or", 16, "expected a number or signal name");
    syntax("and true", 1, "found \"and\"");
    syntax("0.2 >", 6, "expected a signal name, found end of input");
    syntax("drift 0.2", 7, "expected a comparison operator");
    syntax("", 1, "found end of input");
    syntax("   ", 4, "found end of input");
    syntax("not", 4, "found end of input");
}

#[test]
fn unbalanced_parens() {
    syntax(
        "(drift > 0.2",
        13,
        "expected \")\" to close \"(\" at column 1",
    );
    syntax("((true) or (false)", 19, "to close \"(\" at column 1");
    syntax("drift > 0.2)", 12, "unbalanced \")\"");
    syntax("()", 2, "found \")\"");
    syntax(")", 1, "found \")\"");
}

#[test]
fn unknown_signal_with_column() {
    let e = err("drift > 0.2 or latncy > 3");
    assert_eq!(e.column, 16);
    assert_eq!(e.kind, ParseErrorKind::UnknownSignal("latncy".into()));
    assert!(e.to_string().contains("known: drift, drifted_share"));
    let e = err("0.5 < Drift");
    assert_eq!(e.column, 7);
    assert_eq!(e.kind, ParseErrorKind::UnknownSignal("Drift".into()));
}

#[test]
fn trailing_junk() {
    syntax(
        "drift > 0.2 true",
        13,
        "expected \"and\", \"or\" or end of input",
    );
    syntax("true false", 6, "found \"false\"");
    syntax("true # comment", 6, "unexpected character '#'");
    syntax("true and drift > 1 é", 20, "unexpected character 'é'");
}

#[test]
fn bad_numbers() {
    syntax("drift > 1.2.3", 9, "invalid number \"1.2.3\"");
    syntax("drift > 1e", 9, "invalid number \"1e\"");
    syntax("drift > .5", 9, "invalid number \".5\"");
    syntax("drift > 2.", 9, "invalid number \"2.\"");
    syntax("drift > 0x10", 9, "invalid number \"0x10\"");
    syntax("drift > - 0.5", 9, "invalid number \"-\"");
    syntax("drift > 1e999", 9, "out of range");
    syntax("drift > nan", 9, "expected a number, found \"nan\"");
}

#[test]
fn bad_operators() {
    syntax("drift = 0.2", 7, "expected \"==\", found \"=\"");
    syntax("true & false", 6, "expected \"&&\"");
    syntax("true | false", 6, "expected \"||\"");
    syntax("drift > drift", 9, "expected a number, found \"drift\"");
    syntax("1 < 2", 5, "expected a signal name, found \"2\"");
}

#[test]
fn nesting_is_capped() {
    let ok = format!("{}true{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(Condition::parse(&ok).is_ok());
    let deep = format!(
        "{}true{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    syntax(&deep, MAX_DEPTH + 1, "nested deeper");
    let nots = format!("{}true", "not ".repeat(100_000));
    assert!(Condition::parse(&nots).is_err());
    let parens = "(".repeat(1_000_000);
    assert!(Condition::parse(&parens).is_err());
    // long flat chains are fine (n-ary, no recursion per operand)
    let chain = vec!["drift > 0.1"; 50_000].join(" or ");
    assert!(Condition::parse(&chain).is_ok());
}
