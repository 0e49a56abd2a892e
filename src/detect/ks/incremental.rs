//! Incremental two-sample Kolmogorov–Smirnov statistic for a sliding window.
//!
//! In the spirit of dos Reis et al., "Fast unsupervised online drift detection
//! using incremental Kolmogorov–Smirnov test" (KDD 2016): a treap keyed by value
//! keeps, per distinct pooled value `x`, the integer counts `(c_ref(x), c_cur(x))`.
//!
//! # Guarantees
//!
//! * The statistics equal scipy's `ks_2samp(reference, current)` definitions
//!   exactly (as rationals): `D = max_x |F_ref(x) - F_cur(x)|` over all distinct
//!   pooled values `x`, ECDFs right-continuous (all values equal to `x` counted).
//!   [`IncrementalKs::statistic_greater`] is `max(F_ref - F_cur)` (scipy
//!   `'greater'`), [`IncrementalKs::statistic_less`] is `max(F_cur - F_ref)`
//!   (scipy `'less'`); both are `>= 0`. [`IncrementalKs::exact`] returns the
//!   integer numerators over `n_ref * n_cur`; the `f64` getters are the correctly
//!   rounded quotient whenever numerator and denominator are below 2^53.
//! * `-0.0` and `0.0` are the same value (as with `np.searchsorted`). Values are
//!   ordered by `f64::total_cmp`. NaN (any payload) is accepted without panic and
//!   treated as one distinct value above `+inf` (scipy would propagate NaN).
//! * Every sum is exact integer arithmetic (`u64` counts, `i128` aggregates).
//!   Removing an absent value returns `false` and changes nothing; nothing panics.
//!
//! # Cost model (`n` = number of distinct pooled values)
//!
//! Each node stores the weight `w(x) = A*c_ref(x) - B*c_cur(x)` for a *basis*
//! `(B, A)` of sample sizes, and per subtree the sum of `w` and the maximum and
//! minimum prefix sum. With `(B, A) = (n_ref, n_cur)` the prefix sum at `x` is
//! `n_ref*n_cur*(F_ref(x) - F_cur(x))`, so the root holds `D+` and `D-`.
//! A prefix maximum of `A*X - B*Y` cannot be re-weighted for new `(A, B)` without
//! touching every node, so the basis is only changed by [`IncrementalKs::rebase`].
//!
//! * insert / remove (either sample): `O(log n)` expected, always — aggregates
//!   stay consistent with the stored basis whatever the sizes are.
//! * statistic reads: `O(1)` when the sizes equal the basis
//!   ([`IncrementalKs::is_rebased`]), otherwise an `O(n)` read-only fold.
//! * [`IncrementalKs::rebase`]: `O(n)`; makes reads `O(1)` until a size changes.
//! * [`SlidingKs::push`] on a full window = remove oldest + insert newest at
//!   constant sizes: `O(log n)` expected, `O(1)` read. While the window fills up
//!   pushes are `O(log n)` but reads are `O(n)`; the push that fills the window
//!   rebases once (`O(n)`). Changing the reference size costs one further
//!   rebase at the next push; a rolling reference (paired insert/remove) does not.
//!
//! Memory: one node (96 bytes) per distinct pooled value plus the window buffer.
//! Treap operations recurse to the tree depth (`O(log n)` with high probability).
//! Priorities come from `seed`; with a seed known to an adversary choosing the
//! values, the tree can be forced to degenerate (use a random seed then).

use std::cmp::Ordering;
use std::collections::VecDeque;

const NIL: u32 = 0;

/// Per-subtree aggregate of the weights in key order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Agg {
    /// Sum of all weights in the subtree.
    sum: i128,
    /// Maximum prefix sum, the empty prefix (0) included.
    max: i128,
    /// Minimum prefix sum, the empty prefix (0) included.
    min: i128,
}

impl Agg {
    fn combine(l: Agg, w: i128, r: Agg) -> Agg {
        let mid = l.sum + w;
        Agg {
            sum: mid + r.sum,
            // r.max >= 0 and r.min <= 0, so `mid` itself is covered.
            max: l.max.max(mid + r.max),
            min: l.min.min(mid + r.min),
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Node {
    key: f64,
    prio: u64,
    /// Children `[left, right]`; `NIL` when absent.
    ch: [u32; 2],
    c_ref: u64,
    c_cur: u64,
    agg: Agg,
}

/// Exact one-sided statistics as integer numerators over `denominator`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KsExact {
    /// `n_ref * n_cur * max(F_ref - F_cur)` (scipy `'greater'`), `>= 0`.
    pub greater: u128,
    /// `n_ref * n_cur * max(F_cur - F_ref)` (scipy `'less'`), `>= 0`.
    pub less: u128,
    /// `n_ref * n_cur` (0 when either sample is empty; numerators are then 0).
    pub denominator: u128,
}

impl KsExact {
    /// Numerator of the two-sided statistic `D`.
    pub fn two_sided(&self) -> u128 {
        self.greater.max(self.less)
    }
}

/// Canonical key: `-0.0 -> 0.0`, every NaN -> `f64::NAN`.
fn canon(v: f64) -> f64 {
    if v.is_nan() {
        f64::NAN
    } else {
        v + 0.0
    }
}

fn ratio(num: u128, den: u128) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Incremental two-sample KS statistic between a reference and a current sample.
#[derive(Clone, Debug)]
pub struct IncrementalKs {
    /// Arena; index 0 is an all-zero sentinel standing for the empty tree.
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    n_ref: u64,
    n_cur: u64,
    /// Basis `(B, A)`: weights are `A*c_ref - B*c_cur`.
    basis_ref: u64,
    basis_cur: u64,
    rng: u64,
}

impl IncrementalKs {
    /// Empty structure; `seed` makes the treap priorities (and thus all timing)
    /// deterministic. Results never depend on the seed.
    pub fn new(seed: u64) -> Self {
        IncrementalKs {
            nodes: vec![Node::default()],
            free: Vec::new(),
            root: NIL,
            n_ref: 0,
            n_cur: 0,
            basis_ref: 0,
            basis_cur: 0,
            rng: seed,
        }
    }

    /// Adds one value to the reference sample. `O(log n)` expected.
    pub fn insert_reference(&mut self, value: f64) {
        self.root = self.insert_at(self.root, canon(value), true);
        self.n_ref += 1;
    }

    /// Removes one occurrence of `value` from the reference sample; `false`
    /// (and no change) if absent. `O(log n)` expected.
    pub fn remove_reference(&mut self, value: f64) -> bool {
        self.remove(value, true)
    }

    /// Adds one value to the current sample. `O(log n)` expected.
    pub fn insert_current(&mut self, value: f64) {
        self.root = self.insert_at(self.root, canon(value), false);
        self.n_cur += 1;
    }

    /// Removes one occurrence of `value` from the current sample; `false`
    /// (and no change) if absent. `O(log n)` expected.
    pub fn remove_current(&mut self, value: f64) -> bool {
        self.remove(value, false)
    }

    /// Size of the reference sample.
    pub fn n_reference(&self) -> usize {
        self.n_ref as usize
    }

    /// Size of the current sample.
    pub fn n_current(&self) -> usize {
        self.n_cur as usize
    }

    /// Number of distinct pooled values (tree nodes).
    pub fn distinct_values(&self) -> usize {
        self.nodes.len() - 1 - self.free.len()
    }

    /// Two-sided `D`; 0.0 if either sample is empty. `O(1)` if
    /// [`is_rebased`](Self::is_rebased), else `O(n)`.
    pub fn statistic(&self) -> f64 {
        let e = self.exact();
        ratio(e.two_sided(), e.denominator)
    }

    /// `max(F_ref - F_cur)`, scipy's `alternative='greater'`; 0.0 if a side is empty.
    pub fn statistic_greater(&self) -> f64 {
        let e = self.exact();
        ratio(e.greater, e.denominator)
    }

    /// `max(F_cur - F_ref)`, scipy's `alternative='less'`; 0.0 if a side is empty.
    pub fn statistic_less(&self) -> f64 {
        let e = self.exact();
        ratio(e.less, e.denominator)
    }

    /// Exact integer numerators of `D+`, `D-` over `n_ref * n_cur`.
    pub fn exact(&self) -> KsExact {
        if self.n_ref == 0 || self.n_cur == 0 {
            return KsExact::default();
        }
        let agg = if self.is_rebased() {
            self.nodes[self.root as usize].agg
        } else {
            self.fold(self.root, i128::from(self.n_cur), i128::from(self.n_ref))
        };
        KsExact {
            greater: agg.max.unsigned_abs(),
            less: agg.min.unsigned_abs(),
            denominator: u128::from(self.n_ref) * u128::from(self.n_cur),
        }
    }

    /// `true` when the stored aggregates use the current sizes, i.e. reads are `O(1)`.
    pub fn is_rebased(&self) -> bool {
        self.basis_ref == self.n_ref && self.basis_cur == self.n_cur
    }

    /// Re-weights every node for the current sizes in `O(n)` so that reads are
    /// `O(1)` until a sample size changes. No effect on results.
    pub fn rebase(&mut self) {
        if !self.is_rebased() {
            self.basis_ref = self.n_ref;
            self.basis_cur = self.n_cur;
            self.rebuild(self.root);
        }
    }

    fn remove(&mut self, value: f64, is_ref: bool) -> bool {
        let Some(root) = self.remove_at(self.root, canon(value), is_ref) else {
            return false;
        };
        self.root = root;
        self.n_ref -= u64::from(is_ref);
        self.n_cur -= u64::from(!is_ref);
        true
    }

    fn next_prio(&mut self) -> u64 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn weight(n: &Node, a: i128, b: i128) -> i128 {
        a * i128::from(n.c_ref) - b * i128::from(n.c_cur)
    }

    fn pull(&mut self, t: u32) {
        let n = &self.nodes[t as usize];
        let w = Self::weight(n, i128::from(self.basis_cur), i128::from(self.basis_ref));
        let agg = Agg::combine(
            self.nodes[n.ch[0] as usize].agg,
            w,
            self.nodes[n.ch[1] as usize].agg,
        );
        self.nodes[t as usize].agg = agg;
    }

    fn alloc(&mut self, key: f64, is_ref: bool) -> u32 {
        let node = Node {
            key,
            prio: self.next_prio(),
            c_ref: u64::from(is_ref),
            c_cur: u64::from(!is_ref),
            ..Node::default()
        };
        let t = match self.free.pop() {
            Some(t) => {
                self.nodes[t as usize] = node;
                t
            }
            None => {
                // u32 indices cap the arena at 4e9 distinct values (~400 GB).
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        self.pull(t);
        t
    }

    /// Lifts child `d` (0 = left, 1 = right) of `t` above `t`; returns it.
    fn rotate(&mut self, t: u32, d: usize) -> u32 {
        let c = self.nodes[t as usize].ch[d];
        self.nodes[t as usize].ch[d] = self.nodes[c as usize].ch[1 - d];
        self.nodes[c as usize].ch[1 - d] = t;
        self.pull(t);
        self.pull(c);
        c
    }

    fn insert_at(&mut self, t: u32, key: f64, is_ref: bool) -> u32 {
        if t == NIL {
            return self.alloc(key, is_ref);
        }
        let i = t as usize;
        match key.total_cmp(&self.nodes[i].key) {
            Ordering::Equal => {
                let n = &mut self.nodes[i];
                n.c_ref += u64::from(is_ref);
                n.c_cur += u64::from(!is_ref);
            }
            ord => {
                let d = usize::from(ord == Ordering::Greater);
                let c = self.insert_at(self.nodes[i].ch[d], key, is_ref);
                self.nodes[i].ch[d] = c;
                if self.nodes[c as usize].prio > self.nodes[i].prio {
                    return self.rotate(t, d);
                }
            }
        }
        self.pull(t);
        t
    }

    /// `None` if `key` has no occurrence in the chosen sample (tree untouched).
    fn remove_at(&mut self, t: u32, key: f64, is_ref: bool) -> Option<u32> {
        if t == NIL {
            return None;
        }
        let i = t as usize;
        match key.total_cmp(&self.nodes[i].key) {
            Ordering::Equal => {
                let n = &mut self.nodes[i];
                let c = if is_ref { &mut n.c_ref } else { &mut n.c_cur };
                if *c == 0 {
                    return None;
                }
                *c -= 1;
                if n.c_ref == 0 && n.c_cur == 0 {
                    let [l, r] = n.ch;
                    self.free.push(t);
                    return Some(self.merge(l, r));
                }
            }
            ord => {
                let d = usize::from(ord == Ordering::Greater);
                let c = self.remove_at(self.nodes[i].ch[d], key, is_ref)?;
                self.nodes[i].ch[d] = c;
            }
        }
        self.pull(t);
        Some(t)
    }

    /// Merges two treaps where every key of `a` precedes every key of `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.nodes[a as usize].prio > self.nodes[b as usize].prio {
            let r = self.merge(self.nodes[a as usize].ch[1], b);
            self.nodes[a as usize].ch[1] = r;
            self.pull(a);
            a
        } else {
            let l = self.merge(a, self.nodes[b as usize].ch[0]);
            self.nodes[b as usize].ch[0] = l;
            self.pull(b);
            b
        }
    }

    fn rebuild(&mut self, t: u32) {
        if t != NIL {
            let [l, r] = self.nodes[t as usize].ch;
            self.rebuild(l);
            self.rebuild(r);
            self.pull(t);
        }
    }

    /// Aggregate of subtree `t` for basis `(b, a)`, computed without mutation.
    fn fold(&self, t: u32, a: i128, b: i128) -> Agg {
        if t == NIL {
            return Agg::default();
        }
        let n = &self.nodes[t as usize];
        Agg::combine(
            self.fold(n.ch[0], a, b),
            Self::weight(n, a, b),
            self.fold(n.ch[1], a, b),
        )
    }
}

/// A fixed reference sample against a sliding window of the most recent
/// `capacity` values. Reads are `O(1)` and pushes `O(log n)` once the window is full.
#[derive(Clone, Debug)]
pub struct SlidingKs {
    ks: IncrementalKs,
    window: VecDeque<f64>,
    capacity: usize,
}

impl SlidingKs {
    /// Empty window of `capacity` values (a capacity of 0 is treated as 1).
    pub fn new(capacity: usize, seed: u64) -> Self {
        let capacity = capacity.max(1);
        SlidingKs {
            ks: IncrementalKs::new(seed),
            window: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// Adds a value to the reference sample (changes its size: the next push
    /// on a full window rebases once, `O(n)`).
    pub fn insert_reference(&mut self, value: f64) {
        self.ks.insert_reference(value);
    }

    /// Removes one occurrence from the reference sample; `false` if absent.
    pub fn remove_reference(&mut self, value: f64) -> bool {
        self.ks.remove_reference(value)
    }

    /// Appends `value` to the window, evicting and returning the oldest value
    /// if the window was full.
    pub fn push(&mut self, value: f64) -> Option<f64> {
        let evicted = if self.window.len() >= self.capacity {
            self.window.pop_front()
        } else {
            None
        };
        if let Some(old) = evicted {
            // Always present: every window value was inserted as current.
            self.ks.remove_current(old);
        }
        self.ks.insert_current(value);
        self.window.push_back(value);
        if self.window.len() == self.capacity {
            self.ks.rebase();
        }
        evicted
    }

    /// Two-sided `D` between reference and window; 0.0 if either is empty.
    pub fn statistic(&self) -> f64 {
        self.ks.statistic()
    }

    /// `max(F_ref - F_window)` (scipy `'greater'`).
    pub fn statistic_greater(&self) -> f64 {
        self.ks.statistic_greater()
    }

    /// `max(F_window - F_ref)` (scipy `'less'`).
    pub fn statistic_less(&self) -> f64 {
        self.ks.statistic_less()
    }

    /// The window contents, oldest first.
    pub fn window(&self) -> &VecDeque<f64> {
        &self.window
    }

    /// Window capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The underlying incremental statistic.
    pub fn inner(&self) -> &IncrementalKs {
        &self.ks
    }
}

#[cfg(test)]
#[path = "incremental_tests.rs"]
mod tests;
