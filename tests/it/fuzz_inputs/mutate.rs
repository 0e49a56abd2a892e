//! The fuzzing harness shared by `tests/fuzz_inputs.rs`: a runner that
//! counts and prints executions per target, the case budget
//! (`JIDOKA_FUZZ_CASES`), and input strategies: byte-level mutations of
//! valid encodings, huge length announcements (Avro zig-zag varints),
//! JSON number swaps, and text mutations for the policy language.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};

use crate::common::BoxError;

/// Default cases per target: the whole file runs in well under 60 s in a
/// debug build on a 2-core machine.
const DEFAULT_CASES: u32 = 10_000;

/// Cases per target: `JIDOKA_FUZZ_CASES`, else [`DEFAULT_CASES`]. Heavier
/// targets run `cases() / divisor` (at least 10).
pub fn cases(divisor: u32) -> u32 {
    let base = std::env::var("JIDOKA_FUZZ_CASES")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(DEFAULT_CASES);
    (base / divisor.max(1)).max(10)
}

/// What one case did: inputs fed to the code under test, and how many of
/// them it accepted (the rest it rejected with an error).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ran {
    /// Inputs fed.
    pub executions: u64,
    /// Inputs accepted.
    pub accepted: u64,
}

impl Ran {
    /// One input, accepted or not.
    pub fn one(accepted: bool) -> Ran {
        Ran {
            executions: 1,
            accepted: u64::from(accepted),
        }
    }
}

impl std::ops::AddAssign for Ran {
    fn add_assign(&mut self, other: Ran) {
        self.executions += other.executions;
        self.accepted += other.accepted;
    }
}

/// Runs `body` on `cases` generated inputs (a panic is a failure, shrunk to
/// a minimal input) and prints the target's executions: the inputs fed to
/// the code under test, and how many it accepted.
pub fn fuzz<S>(
    name: &str,
    cases: u32,
    strategy: S,
    body: impl Fn(S::Value) -> Result<Ran, TestCaseError>,
) -> Result<(), BoxError>
where
    S: Strategy,
    S::Value: Debug,
{
    let executions = AtomicU64::new(0);
    let accepted = AtomicU64::new(0);
    let runs = AtomicU64::new(0);
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let started = Instant::now();
    let result = runner.run(&strategy, |input| {
        runs.fetch_add(1, Ordering::Relaxed);
        let ran = body(input)?;
        executions.fetch_add(ran.executions, Ordering::Relaxed);
        accepted.fetch_add(ran.accepted, Ordering::Relaxed);
        Ok(())
    });
    println!(
        "fuzz target {name}: {} executions ({} accepted) over {} cases in {:.1?}",
        executions.load(Ordering::Relaxed),
        accepted.load(Ordering::Relaxed),
        runs.load(Ordering::Relaxed),
        started.elapsed()
    );
    result.map_err(|e| format!("fuzz target {name}: {e}").into())
}

/// A test-case failure with a message.
pub fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

/// One byte-level edit; positions are reduced modulo the input length.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Flips one bit.
    Flip { at: usize, bit: u8 },
    /// Overwrites one byte.
    Set { at: usize, byte: u8 },
    /// Inserts bytes.
    Insert { at: usize, bytes: Vec<u8> },
    /// Removes a range.
    Delete { at: usize, len: usize },
    /// Cuts the input.
    Truncate { at: usize },
    /// Repeats a range in place.
    Duplicate { at: usize, len: usize },
    /// Inserts an Avro zig-zag varint (a length or count announcement).
    Varint { at: usize, value: i64 },
}

/// Lengths and counts that decoders must refuse or survive: negative,
/// just past the allocation cap, and far beyond memory.
pub fn huge_length() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => prop::sample::select(vec![
            -1i64,
            -2,
            -64,
            i64::MIN,
            i64::MAX,
            i64::MAX / 2,
            i64::from(i32::MAX),
            i64::from(u32::MAX),
            1 << 32,
            1 << 40,
            1 << 62,
            -(1 << 62),
            1024 * 1024,
            1024 * 1024 + 1,
            100_000_000,
            500_000_000,
        ]),
        1 => any::<i64>(),
    ]
}

/// Any single mutation.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        2 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        2 => (any::<usize>(), 1usize..16).prop_map(|(at, len)| Mutation::Delete { at, len }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        1 => (any::<usize>(), 1usize..32).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        2 => (any::<usize>(), huge_length()).prop_map(|(at, value)| Mutation::Varint { at, value }),
    ]
}

/// One to six mutations.
pub fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(mutation(), 1..7)
}

/// Avro's zig-zag varint encoding of `value`.
pub fn zigzag(value: i64) -> Vec<u8> {
    let mut n = ((value << 1) ^ (value >> 63)) as u64;
    let mut out = Vec::with_capacity(10);
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out
}

/// Applies one mutation in place.
pub fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    let pos = |at: usize| at % (len + 1);
    match m {
        Mutation::Flip { at, bit } => {
            if len > 0 {
                bytes[at % len] ^= 1 << bit;
            }
        }
        Mutation::Set { at, byte } => {
            if len > 0 {
                bytes[at % len] = *byte;
            }
        }
        Mutation::Insert { at, bytes: new } => {
            let p = pos(*at);
            bytes.splice(p..p, new.iter().copied());
        }
        Mutation::Delete { at, len: n } => {
            let p = pos(*at);
            let end = (p + n).min(len);
            bytes.drain(p..end);
        }
        Mutation::Truncate { at } => bytes.truncate(pos(*at)),
        Mutation::Duplicate { at, len: n } => {
            let p = pos(*at);
            let end = (p + n).min(len);
            let chunk = bytes[p..end].to_vec();
            bytes.splice(end..end, chunk);
        }
        Mutation::Varint { at, value } => {
            let p = pos(*at);
            bytes.splice(p..p, zigzag(*value));
        }
    }
}

/// `seed` with every mutation applied in order.
pub fn mutated(seed: &[u8], ms: &[Mutation]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for m in ms {
        apply(&mut bytes, m);
    }
    bytes
}

/// Numbers that break naive JSON consumers: overflowing integers, floats
/// out of range, and values of the wrong type.
const EDGE_NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1.5",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "9007199254740993",
    "4294967296",
    "1e400",
    "-1e400",
    "1e-400",
    "null",
    "true",
    "\"7\"",
    "[]",
    "{}",
];

/// Replaces the `pick`-th JSON number of `text` (modulo their count) with
/// an edge value, `times` times with successive picks.
pub fn swap_json_numbers(text: &[u8], picks: &[(usize, usize)]) -> Vec<u8> {
    let mut out = text.to_vec();
    for (pick, edge) in picks {
        let mut runs = Vec::new();
        let mut i = 0;
        while i < out.len() {
            if out[i].is_ascii_digit()
                || (out[i] == b'-' && out.get(i + 1).is_some_and(u8::is_ascii_digit))
            {
                let start = i;
                i += 1;
                while i < out.len()
                    && matches!(out[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    i += 1;
                }
                runs.push((start, i));
            } else {
                i += 1;
            }
        }
        if runs.is_empty() {
            return out;
        }
        let (start, end) = runs[pick % runs.len()];
        let edge = EDGE_NUMBERS[edge % EDGE_NUMBERS.len()];
        out.splice(start..end, edge.bytes());
    }
    out
}

/// Swaps of JSON numbers for edge values (1 to 4 of them).
pub fn number_swaps() -> impl Strategy<Value = Vec<(usize, usize)>> {
    prop::collection::vec((any::<usize>(), any::<usize>()), 1..5)
}

/// Pieces of text that matter to TOML and to the condition language.
const TEXT_TOKENS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "[[rule]]",
    "{",
    "}",
    "\"",
    "'",
    "\"\"\"",
    "'''",
    "=",
    ".",
    ",",
    "#",
    "\n",
    "\r\n",
    "\t",
    " ",
    "\\",
    "\\u0000",
    "\\uD800",
    "\0",
    "é",
    "\u{202e}",
    "😀",
    "name",
    "when",
    "action",
    "priority",
    "hard",
    "rule",
    "= \"x\"",
    "= 1",
    "= true",
    "= [",
    "= {",
    "drift",
    "accuracy_drop",
    "anomaly_rate",
    "drifted_share",
    "latency_shift",
    "minutes_since_action",
    "recent_actions",
    "bogus",
    "and",
    "or",
    "not",
    "&&",
    "||",
    "!",
    "(",
    ")",
    "<",
    "<=",
    ">",
    ">=",
    "==",
    "!=",
    "=<",
    "=",
    "-",
    "inf",
    "-inf",
    "nan",
    "1e309",
    "0.1",
    "1e-400",
    "00",
    ".5",
    "5.",
    "1e",
    "retrain",
    "rollback",
    "fallback",
    "hold",
    "escalate",
    "none",
    "2147483648",
    "-2147483649",
    "1979-05-27T07:32:00Z",
];

/// One text edit; positions are reduced modulo the text length (in chars).
#[derive(Debug, Clone)]
pub enum TextEdit {
    /// Inserts a token.
    Insert { at: usize, token: usize },
    /// Replaces a range of chars with a token.
    Replace { at: usize, len: usize, token: usize },
    /// Removes a range of chars.
    Delete { at: usize, len: usize },
    /// Repeats a range of chars in place.
    Duplicate { at: usize, len: usize },
    /// Swaps two lines.
    SwapLines { a: usize, b: usize },
    /// Inserts a run of one token (deep nesting, long chains).
    Repeat {
        at: usize,
        token: usize,
        times: usize,
    },
    /// Inserts an arbitrary character.
    Char { at: usize, c: char },
}

/// Any single text edit.
pub fn text_edit() -> impl Strategy<Value = TextEdit> {
    prop_oneof![
        4 => (any::<usize>(), any::<usize>()).prop_map(|(at, token)| TextEdit::Insert { at, token }),
        3 => (any::<usize>(), 1usize..12, any::<usize>())
            .prop_map(|(at, len, token)| TextEdit::Replace { at, len, token }),
        2 => (any::<usize>(), 1usize..24).prop_map(|(at, len)| TextEdit::Delete { at, len }),
        1 => (any::<usize>(), 1usize..200).prop_map(|(at, len)| TextEdit::Duplicate { at, len }),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| TextEdit::SwapLines { a, b }),
        1 => (any::<usize>(), any::<usize>(), 2usize..400)
            .prop_map(|(at, token, times)| TextEdit::Repeat { at, token, times }),
        2 => (any::<usize>(), any::<char>()).prop_map(|(at, c)| TextEdit::Char { at, c }),
    ]
}

/// One to eight text edits.
pub fn text_edits() -> impl Strategy<Value = Vec<TextEdit>> {
    prop::collection::vec(text_edit(), 1..9)
}

/// `seed` with every edit applied in order (always valid UTF-8).
pub fn edited(seed: &str, edits: &[TextEdit]) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for e in edits {
        let len = chars.len();
        let pos = |at: usize| at % (len + 1);
        let token = |t: usize| TEXT_TOKENS[t % TEXT_TOKENS.len()].chars();
        match e {
            TextEdit::Insert { at, token: t } => {
                let p = pos(*at);
                chars.splice(p..p, token(*t));
            }
            TextEdit::Replace {
                at,
                len: n,
                token: t,
            } => {
                let p = pos(*at);
                let end = (p + n).min(len);
                chars.splice(p..end, token(*t));
            }
            TextEdit::Delete { at, len: n } => {
                let p = pos(*at);
                let end = (p + n).min(len);
                chars.drain(p..end);
            }
            TextEdit::Duplicate { at, len: n } => {
                let p = pos(*at);
                let end = (p + n).min(len);
                let chunk: Vec<char> = chars[p..end].to_vec();
                chars.splice(end..end, chunk);
            }
            TextEdit::SwapLines { a, b } => {
                let text: String = chars.iter().collect();
                let mut lines: Vec<&str> = text.split('\n').collect();
                let n = lines.len();
                lines.swap(a % n, b % n);
                chars = lines.join("\n").chars().collect();
            }
            TextEdit::Repeat {
                at,
                token: t,
                times,
            } => {
                let p = pos(*at);
                let run: Vec<char> = (0..*times).flat_map(|_| token(*t)).collect();
                chars.splice(p..p, run);
            }
            TextEdit::Char { at, c } => {
                let p = pos(*at);
                chars.insert(p, *c);
            }
        }
    }
    chars.into_iter().collect()
}

/// Arbitrary bytes, up to `max` long.
pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

/// Arbitrary text (any chars, including NUL and surrogate-free unicode).
pub fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..max).prop_map(String::from_iter)
}

/// Tokens of TOML and of the condition language joined by spaces, newlines
/// or nothing: text that gets past a lexer more often than random chars.
pub fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (any::<usize>(), prop::sample::select(vec!["", " ", "\n"])),
        0..40,
    )
    .prop_map(|parts| {
        parts
            .iter()
            .map(|(t, sep)| format!("{}{sep}", TEXT_TOKENS[t % TEXT_TOKENS.len()]))
            .collect()
    })
}

/// Conditions built from the grammar (signals, comparisons, numbers in many
/// spellings, `and`/`or`/`not` in both forms, parentheses): mostly valid
/// text, so mutations of it reach the parser's later stages.
pub fn condition_text() -> impl Strategy<Value = String> {
    use jidoka::decide::rules::{CmpOp, Signal};
    let signal = prop::sample::select(Signal::ALL.map(Signal::name).to_vec());
    let op = prop::sample::select(CmpOp::ALL.map(CmpOp::symbol).to_vec());
    let number = prop_oneof![
        2 => prop::sample::select(vec![
            "0", "-0", "0.2", "-1", "1e-3", "1E+3", "inf", "-inf", "1e308", "5e-324", "00",
            "0.0e0", "123456789012345678901234567890",
        ])
        .prop_map(str::to_string),
        1 => any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(|v| v.to_string()),
    ];
    let leaf = prop_oneof![
        4 => (signal.clone(), op.clone(), number.clone()).prop_map(|(s, o, n)| format!("{s} {o} {n}")),
        1 => (number, op, signal).prop_map(|(n, o, s)| format!("{n}{o}{s}")),
        1 => prop::sample::select(vec!["true", "false"]).prop_map(str::to_string),
    ];
    leaf.prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            3 => (
                inner.clone(),
                prop::sample::select(vec![" and ", " or ", " && ", "||", " AND "]),
                inner.clone(),
            )
                .prop_map(|(a, op, b)| format!("{a}{op}{b}")),
            1 => inner.clone().prop_map(|a| format!("not {a}")),
            1 => inner.clone().prop_map(|a| format!("!{a}")),
            2 => inner.prop_map(|a| format!("({a})")),
        ]
    })
}
