//! The condition AST: canonical printing and pure evaluation.
//!
//! Guarantees: [`Condition::eval`] is pure and total (any comparison involving
//! NaN is false, including `!=`); `Display` prints a canonical form that
//! [`Condition::parse`] turns back into an equal AST.

use std::fmt;

use super::parse::{self, ParseError};
use super::signals::{Signal, Signals};

/// A comparison operator between a signal and a literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl CmpOp {
    /// Every operator.
    pub const ALL: [CmpOp; 6] = [
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
        CmpOp::Eq,
        CmpOp::Ne,
    ];

    /// The operator as written in conditions.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }

    /// The operator with its operands swapped (`a < b` is `b > a`).
    pub fn flip(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            CmpOp::Eq => CmpOp::Eq,
            CmpOp::Ne => CmpOp::Ne,
        }
    }

    /// Applies `lhs op rhs`; false whenever either side is NaN.
    pub fn apply(self, lhs: f64, rhs: f64) -> bool {
        if lhs.is_nan() || rhs.is_nan() {
            return false;
        }
        match self {
            CmpOp::Lt => lhs < rhs,
            CmpOp::Le => lhs <= rhs,
            CmpOp::Gt => lhs > rhs,
            CmpOp::Ge => lhs >= rhs,
            CmpOp::Eq => lhs == rhs,
            CmpOp::Ne => lhs != rhs,
        }
    }
}

/// A parsed rule condition.
///
/// Comparisons are normalised to `signal op literal` (a literal on the left is
/// flipped). `And`/`Or` are n-ary (at least two operands) so long chains do
/// not nest; explicit parentheses around a same-kind group are kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `true` / `false`.
    Bool(bool),
    /// `signal op value`.
    Cmp {
        /// The signal read.
        signal: Signal,
        /// The operator.
        op: CmpOp,
        /// The literal (never NaN when parsed; may be infinite).
        value: f64,
    },
    /// Negation.
    Not(Box<Condition>),
    /// Conjunction of all operands.
    And(Vec<Condition>),
    /// Disjunction of all operands.
    Or(Vec<Condition>),
}

impl Condition {
    /// Parses a condition; see the crate docs for the grammar.
    pub fn parse(src: &str) -> Result<Condition, ParseError> {
        parse::parse_condition(src)
    }

    /// Evaluates the condition against the given signals (pure; NaN compares false).
    pub fn eval(&self, s: &Signals) -> bool {
        match self {
            Condition::Bool(b) => *b,
            Condition::Cmp { signal, op, value } => op.apply(s.get(*signal), *value),
            Condition::Not(c) => !c.eval(s),
            Condition::And(cs) => cs.iter().all(|c| c.eval(s)),
            Condition::Or(cs) => cs.iter().any(|c| c.eval(s)),
        }
    }

    fn fmt_child(&self, f: &mut fmt::Formatter<'_>, paren: bool) -> fmt::Result {
        if paren {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }
}

/// Writes a number so that the condition lexer reads back the same `f64`.
pub(crate) fn fmt_number(x: f64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if x.is_infinite() {
        f.write_str(if x > 0.0 { "inf" } else { "-inf" })
    } else if x == 0.0 || (1e-4..1e16).contains(&x.abs()) {
        write!(f, "{x}")
    } else {
        write!(f, "{x:e}")
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Bool(b) => write!(f, "{b}"),
            Condition::Cmp { signal, op, value } => {
                write!(f, "{signal} {} ", op.symbol())?;
                fmt_number(*value, f)
            }
            Condition::Not(c) => {
                f.write_str("not ")?;
                c.fmt_child(f, matches!(**c, Condition::And(_) | Condition::Or(_)))
            }
            Condition::And(cs) => join(f, cs, " and ", |c| {
                matches!(c, Condition::And(_) | Condition::Or(_))
            }),
            Condition::Or(cs) => join(f, cs, " or ", |c| matches!(c, Condition::Or(_))),
        }
    }
}

fn join(
    f: &mut fmt::Formatter<'_>,
    cs: &[Condition],
    sep: &str,
    needs_paren: impl Fn(&Condition) -> bool,
) -> fmt::Result {
    for (i, c) in cs.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        c.fmt_child(f, needs_paren(c))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(drift: f64, acc: f64) -> Signals {
        Signals {
            drift,
            accuracy_drop: acc,
            ..Signals::default()
        }
    }

    fn p(src: &str) -> Condition {
        Condition::parse(src).unwrap_or_else(|e| panic!("{src:?}: {e}"))
    }

    #[test]
    fn every_operator() {
        let s = sig(0.5, 0.0);
        let cases = [
            ("drift < 0.5", false),
            ("drift < 0.6", true),
            ("drift <= 0.5", true),
            ("drift <= 0.4", false),
            ("drift > 0.4", true),
            ("drift > 0.5", false),
            ("drift >= 0.5", true),
            ("drift >= 0.6", false),
            ("drift == 0.5", true),
            ("drift == 0.4", false),
            ("drift != 0.4", true),
            ("drift != 0.5", false),
            ("0.4 < drift", true),
            ("0.5 <= drift", true),
            ("0.6 > drift", true),
            ("0.5 >= drift", true),
            ("0.5 == drift", true),
            ("0.5 != drift", false),
            ("true", true),
            ("false", false),
            ("not true", false),
            ("!false", true),
            ("true and false", false),
            ("true && true", true),
            ("false or true", true),
            ("false || false", false),
            ("drift > -inf", true),
            ("drift < inf", true),
            ("drift > 5e-1", false),
            ("drift >= 5E-1", true),
        ];
        for (src, want) in cases {
            assert_eq!(p(src).eval(&s), want, "{src}");
        }
    }

    #[test]
    fn precedence_not_and_or() {
        // or binds loosest: true or (false and false)
        assert!(p("true or false and false").eval(&Signals::default()));
        // not binds tighter than and: (not false) and false
        assert!(!p("not false and false").eval(&Signals::default()));
        // comparisons bind tighter than not/and
        assert_eq!(
            p("not drift > 0.2 and accuracy_drop < 0.1"),
            Condition::And(vec![
                Condition::Not(Box::new(p("drift > 0.2"))),
                p("accuracy_drop < 0.1"),
            ])
        );
        assert_eq!(
            p("true or false and false").to_string(),
            "true or false and false"
        );
        assert_eq!(
            p("(true or false) and false").to_string(),
            "(true or false) and false"
        );
        assert!(!p("(true or false) and false").eval(&Signals::default()));
        // and/&&, or/||, not/! are interchangeable
        assert_eq!(
            p("!drift > 1 && true || false"),
            p("not drift > 1 and true or false")
        );
    }

    #[test]
    fn literal_on_left_is_flipped_and_printed_canonically() {
        assert_eq!(p("0.2 < drift"), p("drift > 0.2"));
        assert_eq!(p("1e-3>=drift").to_string(), "drift <= 0.001");
        assert_eq!(p("drift>1e-7").to_string(), "drift > 1e-7");
        assert_eq!(p("drift > -inf").to_string(), "drift > -inf");
        assert_eq!(
            p("!(drift>0.2||accuracy_drop>0.15)&&true").to_string(),
            "not (drift > 0.2 or accuracy_drop > 0.15) and true"
        );
        assert_eq!(
            p("((true and true) and true)").to_string(),
            "(true and true) and true"
        );
    }

    #[test]
    fn nan_comparisons_are_false() {
        let s = sig(f64::NAN, 0.0);
        for op in CmpOp::ALL {
            let c = Condition::Cmp {
                signal: Signal::Drift,
                op,
                value: 0.5,
            };
            assert!(!c.eval(&s), "{c}");
        }
        assert!(p("not drift == 0.5").eval(&s));
    }

    #[test]
    fn infinite_signal_compares_normally() {
        let s = Signals::default();
        assert!(p("minutes_since_action > 60").eval(&s));
        assert!(p("minutes_since_action == inf").eval(&s));
        assert!(!p("minutes_since_action < inf").eval(&s));
    }
}
