//! Hand-written lexer and recursive-descent parser for rule conditions.
//!
//! Guarantees: never panics on any input (including non-ASCII text); every
//! error carries a 1-based byte column inside `1..=len+1` and says what was
//! expected; nesting of `(` / `not` is capped at [`MAX_DEPTH`] so recursion
//! depth is bounded; `and`/`or` chains are collected iteratively.
//!
//! Grammar (precedence: comparison > `not` > `and` > `or`):
//! ```text
//! or   := and (("or" | "||") and)*
//! and  := not (("and" | "&&") not)*
//! not  := ("not" | "!") not | atom
//! atom := "(" or ")" | "true" | "false"
//!       | SIGNAL CMP NUMBER | NUMBER CMP SIGNAL
//! CMP  := "<" | "<=" | ">" | ">=" | "==" | "!="
//! NUMBER := "-"? (DIGITS ("." DIGITS)? ([eE] [+-]? DIGITS)? | "inf")
//! ```

use std::fmt;

use super::condition::{CmpOp, Condition};
use super::signals::Signal;

/// Maximum nesting of parentheses and `not` in one condition.
pub const MAX_DEPTH: usize = 32;

/// What went wrong while parsing a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Malformed text; the message says what was expected and what was found.
    Syntax(String),
    /// A well-formed name that is not a known [`Signal`].
    UnknownSignal(String),
}

/// A condition parse error at a 1-based byte column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at column {column}: {kind}")]
pub struct ParseError {
    /// 1-based byte column of the offending token (`len + 1` for end of input).
    pub column: usize,
    /// The kind of error.
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::Syntax(m) => f.write_str(m),
            ParseErrorKind::UnknownSignal(name) => {
                write!(f, "unknown signal \"{name}\" (known: ")?;
                for (i, s) in Signal::ALL.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{s}")?;
                }
                f.write_str(")")
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok<'a> {
    Ident(&'a str),
    Num(f64),
    And,
    Or,
    Not,
    True,
    False,
    LParen,
    RParen,
    Cmp(CmpOp),
    End,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    tok: Tok<'a>,
    /// Byte offset of the first byte.
    start: usize,
    text: &'a str,
}

impl Token<'_> {
    fn found(&self) -> String {
        match self.tok {
            Tok::End => "end of input".to_string(),
            _ => format!("\"{}\"", self.text),
        }
    }
}

fn syntax(start: usize, message: String) -> ParseError {
    ParseError {
        column: start + 1,
        kind: ParseErrorKind::Syntax(message),
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    peeked: Option<Token<'a>>,
}

/// Parses one condition. Prefer [`Condition::parse`].
pub fn parse_condition(src: &str) -> Result<Condition, ParseError> {
    let mut p = Parser {
        src,
        pos: 0,
        peeked: None,
    };
    let cond = p.or_expr(0)?;
    let t = p.next()?;
    match t.tok {
        Tok::End => Ok(cond),
        Tok::RParen => Err(syntax(t.start, "unbalanced \")\"".to_string())),
        _ => Err(syntax(
            t.start,
            format!(
                "expected \"and\", \"or\" or end of input, found {}",
                t.found()
            ),
        )),
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Strict check of an unsigned decimal literal: DIGITS ("." DIGITS)? ([eE] [+-]? DIGITS)?
fn is_decimal(body: &str) -> bool {
    fn digits(b: &[u8], i: &mut usize) -> bool {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    }
    let b = body.as_bytes();
    let mut i = 0;
    if !digits(b, &mut i) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(b, &mut i) {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(b, &mut i) {
            return false;
        }
    }
    i == b.len()
}

impl<'a> Parser<'a> {
    fn peek(&mut self) -> Result<Token<'a>, ParseError> {
        match self.peeked {
            Some(t) => Ok(t),
            None => {
                let t = self.lex()?;
                self.peeked = Some(t);
                Ok(t)
            }
        }
    }

    fn next(&mut self) -> Result<Token<'a>, ParseError> {
        let t = self.peek()?;
        self.peeked = None;
        Ok(t)
    }

    fn token(&mut self, start: usize, len: usize, tok: Tok<'a>) -> Token<'a> {
        self.pos = start + len;
        Token {
            tok,
            start,
            text: self.src.get(start..start + len).unwrap_or(""),
        }
    }

    fn lex(&mut self) -> Result<Token<'a>, ParseError> {
        let rest = self.src.get(self.pos..).unwrap_or("");
        let trimmed = rest.trim_start();
        let start = self.pos + (rest.len() - trimmed.len());
        let bytes = trimmed.as_bytes();
        let Some(&b0) = bytes.first() else {
            return Ok(self.token(start, 0, Tok::End));
        };
        let b1 = bytes.get(1).copied();
        let pair = |second: u8, both: Tok<'a>, single: Option<Tok<'a>>| {
            if b1 == Some(second) {
                Ok((2, both))
            } else if let Some(t) = single {
                Ok((1, t))
            } else {
                let c = char::from(b0);
                Err(syntax(
                    start,
                    format!("expected \"{c}{}\", found \"{c}\"", char::from(second)),
                ))
            }
        };
        let (len, tok) = match b0 {
            b'(' => (1, Tok::LParen),
            b')' => (1, Tok::RParen),
            b'<' => pair(b'=', Tok::Cmp(CmpOp::Le), Some(Tok::Cmp(CmpOp::Lt)))?,
            b'>' => pair(b'=', Tok::Cmp(CmpOp::Ge), Some(Tok::Cmp(CmpOp::Gt)))?,
            b'!' => pair(b'=', Tok::Cmp(CmpOp::Ne), Some(Tok::Not))?,
            b'=' => pair(b'=', Tok::Cmp(CmpOp::Eq), None)?,
            b'&' => pair(b'&', Tok::And, None)?,
            b'|' => pair(b'|', Tok::Or, None)?,
            b'-' | b'.' | b'0'..=b'9' => return self.number(start, trimmed),
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let len = bytes.iter().take_while(|&&b| is_word_byte(b)).count();
                let word = trimmed.get(..len).unwrap_or("");
                let tok = match word {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "true" => Tok::True,
                    "false" => Tok::False,
                    "inf" => Tok::Num(f64::INFINITY),
                    _ => Tok::Ident(word),
                };
                (len, tok)
            }
            _ => {
                let c = trimmed.chars().next().unwrap_or('?');
                return Err(syntax(start, format!("unexpected character {c:?}")));
            }
        };
        Ok(self.token(start, len, tok))
    }

    /// Lexes a number lexeme: an optional `-`, then the maximal run of word
    /// characters and dots (plus a sign right after an exponent marker).
    fn number(&mut self, start: usize, trimmed: &'a str) -> Result<Token<'a>, ParseError> {
        let b = trimmed.as_bytes();
        let mut i = usize::from(b.first() == Some(&b'-'));
        let body_start = i;
        while i < b.len() {
            let c = b[i];
            let after_exp =
                i > body_start && matches!(b[i - 1], b'e' | b'E') && b[body_start].is_ascii_digit();
            if is_word_byte(c) || c == b'.' || (after_exp && matches!(c, b'+' | b'-')) {
                i += 1;
            } else {
                break;
            }
        }
        let text = trimmed.get(..i).unwrap_or("");
        let body = text.get(body_start..).unwrap_or("");
        let bad = |why: &str| syntax(start, format!("invalid number \"{text}\"{why}"));
        let magnitude = if body == "inf" {
            f64::INFINITY
        } else if is_decimal(body) {
            let v: f64 = body.parse().map_err(|_| bad(""))?;
            if !v.is_finite() {
                return Err(bad(" (out of range)"));
            }
            v
        } else {
            return Err(bad(""));
        };
        let v = if body_start == 1 {
            -magnitude
        } else {
            magnitude
        };
        Ok(self.token(start, i, Tok::Num(v)))
    }

    fn or_expr(&mut self, depth: usize) -> Result<Condition, ParseError> {
        let mut items = vec![self.and_expr(depth)?];
        while self.peek()?.tok == Tok::Or {
            self.next()?;
            items.push(self.and_expr(depth)?);
        }
        Ok(collapse(items, Condition::Or))
    }

    fn and_expr(&mut self, depth: usize) -> Result<Condition, ParseError> {
        let mut items = vec![self.not_expr(depth)?];
        while self.peek()?.tok == Tok::And {
            self.next()?;
            items.push(self.not_expr(depth)?);
        }
        Ok(collapse(items, Condition::And))
    }

    fn not_expr(&mut self, depth: usize) -> Result<Condition, ParseError> {
        let t = self.peek()?;
        if t.tok != Tok::Not {
            return self.atom(depth);
        }
        self.next()?;
        check_depth(&t, depth)?;
        Ok(Condition::Not(Box::new(self.not_expr(depth + 1)?)))
    }

    fn atom(&mut self, depth: usize) -> Result<Condition, ParseError> {
        let t = self.next()?;
        match t.tok {
            Tok::LParen => {
                check_depth(&t, depth)?;
                let inner = self.or_expr(depth + 1)?;
                let close = self.next()?;
                if close.tok == Tok::RParen {
                    Ok(inner)
                } else {
                    Err(syntax(
                        close.start,
                        format!(
                            "expected \")\" to close \"(\" at column {}, found {}",
                            t.start + 1,
                            close.found()
                        ),
                    ))
                }
            }
            Tok::True => Ok(Condition::Bool(true)),
            Tok::False => Ok(Condition::Bool(false)),
            Tok::Ident(name) => {
                let signal = lookup(&t, name)?;
                let op = self.cmp_op()?;
                let v = self.next()?;
                match v.tok {
                    Tok::Num(value) => Ok(Condition::Cmp { signal, op, value }),
                    _ => Err(syntax(
                        v.start,
                        format!("expected a number, found {}", v.found()),
                    )),
                }
            }
            Tok::Num(value) => {
                let op = self.cmp_op()?;
                let s = self.next()?;
                match s.tok {
                    Tok::Ident(name) => Ok(Condition::Cmp {
                        signal: lookup(&s, name)?,
                        op: op.flip(),
                        value,
                    }),
                    _ => Err(syntax(
                        s.start,
                        format!("expected a signal name, found {}", s.found()),
                    )),
                }
            }
            _ => Err(syntax(
                t.start,
                format!(
                    "expected a number or signal name (or \"(\", \"not\", \"true\", \"false\"), found {}",
                    t.found()
                ),
            )),
        }
    }

    fn cmp_op(&mut self) -> Result<CmpOp, ParseError> {
        let t = self.next()?;
        match t.tok {
            Tok::Cmp(op) => Ok(op),
            _ => Err(syntax(
                t.start,
                format!(
                    "expected a comparison operator (<, <=, >, >=, ==, !=), found {}",
                    t.found()
                ),
            )),
        }
    }
}

fn collapse(mut items: Vec<Condition>, make: fn(Vec<Condition>) -> Condition) -> Condition {
    if items.len() == 1 {
        if let Some(only) = items.pop() {
            return only;
        }
    }
    make(items)
}

fn check_depth(t: &Token<'_>, depth: usize) -> Result<(), ParseError> {
    if depth >= MAX_DEPTH {
        Err(syntax(
            t.start,
            format!("conditions nested deeper than {MAX_DEPTH} levels"),
        ))
    } else {
        Ok(())
    }
}

fn lookup(t: &Token<'_>, name: &str) -> Result<Signal, ParseError> {
    Signal::from_name(name).ok_or_else(|| ParseError {
        column: t.start + 1,
        kind: ParseErrorKind::UnknownSignal(name.to_string()),
    })
}
