//! One-sided Smirnov survival function `scipy.special.smirnov(n, x)`.
#![allow(clippy::excessive_precision)]

use super::kolmogorov::{frexp, ldexp};

const MINLOG: f64 = -7.451332191019412076235245305675398106812E2;
const SMIRNOV_MAX_COMPUTE_N: i64 = 1_000_000;
const SM_UPPER_MAX_TERMS: i64 = 3;
const SM_UPPERSUM_MIN_N: i64 = 10;
const SM_MAX_EXPONENT: i64 = 960;

/// qd double-double number (`hi + lo`).
#[derive(Clone, Copy, Debug)]
struct Dd {
    hi: f64,
    lo: f64,
}

fn quick_two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let c = s - a;
    (s, b - c)
}

fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let c = s - a;
    let d = b - c;
    let e = s - c;
    (s, (a - e) + d)
}

fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    (p, a.mul_add(b, -p))
}

impl Dd {
    fn new(hi: f64) -> Dd {
        Dd { hi, lo: 0.0 }
    }
    fn neg(self) -> Dd {
        Dd {
            hi: -self.hi,
            lo: -self.lo,
        }
    }
    fn add(self, r: Dd) -> Dd {
        let (s1, mut s2) = two_sum(self.hi, r.hi);
        let (t1, t2) = two_sum(self.lo, r.lo);
        s2 += t1;
        let (s1, mut s2) = quick_two_sum(s1, s2);
        s2 += t2;
        let (s1, s2) = quick_two_sum(s1, s2);
        Dd { hi: s1, lo: s2 }
    }
    fn add_f(self, r: f64) -> Dd {
        let (s1, mut s2) = two_sum(self.hi, r);
        s2 += self.lo;
        let (s1, s2) = quick_two_sum(s1, s2);
        Dd { hi: s1, lo: s2 }
    }
    fn sub(self, r: Dd) -> Dd {
        self.add(r.neg())
    }
    fn sub_f(self, r: f64) -> Dd {
        let (s1, mut s2) = two_sum(self.hi, -r);
        s2 += self.lo;
        let (s1, s2) = quick_two_sum(s1, s2);
        Dd { hi: s1, lo: s2 }
    }
    fn mul(self, r: Dd) -> Dd {
        let (p1, mut p2) = two_prod(self.hi, r.hi);
        p2 += self.hi * r.lo + self.lo * r.hi;
        let (p1, p2) = quick_two_sum(p1, p2);
        Dd { hi: p1, lo: p2 }
    }
    fn mul_f(self, r: f64) -> Dd {
        let (p1, e1) = two_prod(self.hi, r);
        let (p2, e2) = two_prod(self.lo, r);
        let (p1, e1) = quick_two_sum(p1, e2 + p2 + e1);
        Dd { hi: p1, lo: e1 }
    }
    fn div(self, r: Dd) -> Dd {
        let q1 = self.hi / r.hi;
        let rem = self.sub(r.mul_f(q1));
        let q2 = rem.hi / r.hi;
        let rem = rem.sub(r.mul_f(q2));
        let q3 = rem.hi / r.hi;
        let (q1, q2) = quick_two_sum(q1, q2);
        Dd { hi: q1, lo: q2 }.add_f(q3)
    }
    fn div_f(self, r: f64) -> Dd {
        self.div(Dd::new(r))
    }
    fn eq_f(self, r: f64) -> bool {
        self.hi == r && self.lo == 0.0
    }
    fn floor(self) -> Dd {
        let hi = self.hi.floor();
        if hi == self.hi {
            let lo = self.lo.floor();
            let (hi, lo) = quick_two_sum(hi, lo);
            return Dd { hi, lo };
        }
        Dd { hi, lo: 0.0 }
    }
    fn frexp(self) -> (Dd, i32) {
        let (mut man, mut exponent) = frexp(self.hi);
        let mut b1 = ldexp(self.lo, -exponent);
        if man.abs() == 0.5 && man * b1 < 0.0 {
            man *= 2.0;
            b1 *= 2.0;
            exponent -= 1;
        }
        (Dd { hi: man, lo: b1 }, exponent)
    }
    fn ldexp(self, e: i32) -> Dd {
        Dd {
            hi: ldexp(self.hi, e),
            lo: ldexp(self.lo, e),
        }
    }
}

/// `f64 * Dd` (same algorithm as `Dd * f64`).
fn f_mul(l: f64, r: Dd) -> Dd {
    let (p1, e1) = two_prod(l, r.hi);
    let (p2, e2) = two_prod(l, r.lo);
    let (p1, e1) = quick_two_sum(p1, e2 + p2 + e1);
    Dd { hi: p1, lo: e1 }
}

fn clamp_i32(v: i64) -> i32 {
    v.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// `modNX`: floor(n*x) and the fractional part, computed exactly.
fn mod_nx(n: i64, x: f64) -> (f64, i64, f64) {
    let nx_d = f_mul(n as f64, Dd::new(x));
    let nxfloor_d = nx_d.floor();
    let alpha_d = nx_d.sub(nxfloor_d);
    let mut alpha = alpha_d.hi;
    let mut nxfloor = nxfloor_d.hi as i64;
    if alpha == 1.0 {
        nxfloor += 1;
        alpha = 0.0;
    }
    (alpha, nxfloor, nx_d.hi)
}

/// `updateBinomial`: C(n, j+1) from C(n, j), kept as (mantissa, exponent).
fn update_binomial(cman: &mut Dd, cexpt: &mut i64, n: i64, j: i64) {
    let rat = Dd::new((n - j) as f64).div_f(j as f64 + 1.0);
    let (man2, expt) = cman.mul(rat).frexp();
    *cexpt += expt as i64;
    *cman = man2;
}

/// `pow_D`: a^m in double-double (trading accuracy for time as xsf does).
fn pow_d(a: Dd, m: i64) -> Dd {
    if m <= 0 {
        if m == 0 {
            return Dd::new(1.0);
        }
        return Dd::new(1.0).div(pow_d(a, -m));
    }
    if a.eq_f(0.0) {
        return Dd::new(0.0);
    }
    let mf = m as f64;
    let ans = a.hi.powf(mf);
    let r = a.lo / a.hi;
    let mut adj = mf * r;
    if adj.abs() > 1e-8 {
        if adj.abs() < 1e-4 {
            adj += (mf * r) * ((m - 1) as f64 / 2.0 * r);
        } else {
            adj = (mf * r.ln_1p()).exp_m1();
        }
    }
    Dd::new(ans).add_f(ans * adj)
}

/// `pow2(a, b, m)` = (a + b)^m as double.
fn pow2(a: f64, b: f64, m: i64) -> f64 {
    pow_d(Dd::new(a).add_f(b), m).hi
}

/// `nextPowerOf2` as written in xsf.
fn next_power_of2(x: f64) -> f64 {
    let q = ldexp(x, 1 - 53);
    let mut l = (q + x).abs();
    if l == 0.0 {
        l = x.abs();
    } else if l < 2_147_483_648.0 {
        let lint = l as i32;
        if lint as f64 == l {
            l = lint as f64;
        }
    }
    l
}

/// `pow2Scaled_D`: a^m = significand * 2^exponent.
fn pow2_scaled_d(a: Dd, m: i64) -> (Dd, i64) {
    if m <= 0 {
        if m == 0 {
            return (Dd::new(1.0), 0);
        }
        let (ans, a_e1) = pow2_scaled_d(a, -m);
        let (ans, a_e2) = Dd::new(1.0).div(ans).frexp();
        return (ans, -a_e1 + a_e2 as i64);
    }
    let (y, y_e) = a.frexp();
    let y_e = y_e as i64;
    if m == 1 {
        return (y, y_e);
    }
    let mut max_expt = SM_MAX_EXPONENT;
    let ln2 = std::f64::consts::LN_2;
    if m as f64 * (y.hi - 1.0) / y.hi < -(SM_MAX_EXPONENT as f64) * ln2 {
        let lg2y = y.hi.ln() / ln2;
        let lg_ans = m as f64 * lg2y;
        if lg_ans <= -(SM_MAX_EXPONENT as f64) {
            max_expt = (next_power_of2(-(SM_MAX_EXPONENT as f64) / lg2y + 1.0) / 2.0) as i64;
            max_expt = max_expt.max(1);
        }
    }
    if m <= max_expt {
        let ans1 = pow_d(y, m);
        let (ans, ans_e) = ans1.frexp();
        return (ans, ans_e as i64 + m * y_e);
    }
    let q = m / max_expt;
    let r = m % max_expt;
    let (y2r, y2r_e) = pow2_scaled_d(y, r);
    let (y2m, y2m_e) = pow2_scaled_d(y, max_expt);
    let (y2mq, mut y2mq_e) = pow2_scaled_d(y2m, q);
    let (ans, ans_e) = y2r.mul(y2mq).frexp();
    y2mq_e += y2m_e * q;
    let mut ans_e = ans_e as i64;
    ans_e += y2mq_e + y2r_e;
    ans_e += m * y_e;
    (ans, ans_e)
}

/// `pow4_D(a, b, c, d, m)` = ((a+b)/(c+d))^m.
fn pow4_d(a: f64, b: f64, c: f64, d: f64, m: i64) -> Dd {
    if m <= 0 {
        if m == 0 {
            return Dd::new(1.0);
        }
        return pow4_d(c, d, a, b, -m);
    }
    let aa = Dd::new(a).add_f(b);
    let cc = Dd::new(c).add_f(d);
    if aa.eq_f(0.0) {
        return if cc.eq_f(0.0) {
            Dd {
                hi: f64::NAN,
                lo: f64::NAN,
            }
        } else {
            Dd::new(0.0)
        };
    }
    if cc.eq_f(0.0) {
        let inf = if aa.hi < 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        return Dd { hi: inf, lo: inf };
    }
    pow_d(aa.div(cc), m)
}

/// `computeAv`: A_v(n, x) = C(n,v) (1-x-v/n)^(n-v) (x+v/n)^(v-1).
fn compute_av(n: i64, x: f64, v: i64, cman: Dd, cexpt: i64) -> Dd {
    let nf = n as f64;
    let t2x = Dd::new((n - v) as f64).div_f(nf).sub_f(x);
    let (t2, t2_e) = pow2_scaled_d(t2x, n - v);
    let t1x = Dd::new(v as f64).div_f(nf).add_f(x);
    let (t1, t1_e) = pow2_scaled_d(t1x, v - 1);
    let ans = t1.mul(t2).mul(cman);
    let ans_e = cexpt + t1_e + t2_e;
    ans.ldexp(clamp_i32(ans_e))
}

/// `scipy.special.smirnov(n, x)`: Pr(D_n^+ >= x).
pub(super) fn smirnov_sf(n: i64, x: f64) -> f64 {
    if x.is_nan() || !(n > 0 && (0.0..=1.0).contains(&x)) {
        return f64::NAN;
    }
    if n == 1 {
        return 1.0 - x;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x == 1.0 {
        return 0.0;
    }
    let (alpha, nxfl, _nx) = mod_nx(n, x);
    let mut n1mxfl = n - nxfl - if alpha == 0.0 { 0 } else { 1 };
    let mut n1mxceil = n - nxfl;
    if alpha == 0.0 {
        n1mxfl -= 1;
        n1mxceil += 1;
    }
    // Special case: x <= 1/n
    if nxfl == 0 || (nxfl == 1 && alpha == 0.0) {
        let t = pow2(1.0, x, n - 1);
        let cdf = x * t;
        return 1.0 - cdf;
    }
    // Special case: x is so big, the sf underflows double64
    if -2.0 * n as f64 * x * x < MINLOG {
        return 0.0;
    }
    // Special case: x >= 1 - 1/n
    if nxfl >= n - 1 {
        return pow2(1.0, -x, n);
    }
    // Special case: n is so big, take too long to compute
    if n > SMIRNOV_MAX_COMPUTE_N {
        let nf = n as f64;
        let logp = -(6.0 * nf * x + 1.0).powf(2.0) / 18.0 / nf;
        return if logp < -std::f64::consts::LN_2 {
            logp.exp()
        } else {
            let cdf = -logp.exp_m1();
            1.0 - cdf
        };
    }
    let n_upper_terms = n - n1mxceil + 1;
    let use_upper = (n_upper_terms <= 1 && x < 0.5)
        || (n >= SM_UPPERSUM_MIN_N
            && n_upper_terms <= SM_UPPER_MAX_TERMS
            && x <= 0.5 / (n as f64).sqrt());
    let mut start = 0i64;
    let mut step = 1i64;
    let mut n_terms = n1mxfl + 1;
    let vmid = n / 2;
    let mut cman = Dd::new(1.0);
    let mut cexpt: i64 = 0;
    let mut aj;
    if use_upper {
        start = n;
        step = -1;
        n_terms = n - n1mxceil + 1;
        aj = pow4_d(1.0, x, 1.0, 0.0, n - 1);
    } else {
        let t2 = pow4_d(1.0, -x, 1.0, 0.0, n);
        aj = t2.div_f(x);
    }
    let mut aj_sum = Dd::new(0.0).add(aj);
    update_binomial(&mut cman, &mut cexpt, n, 0);
    let mut j = 1i64;
    while j < n_terms {
        let v = start + j * step;
        aj = compute_av(n, x, v, cman, cexpt);
        if aj.hi.is_finite() && !aj.eq_f(0.0) {
            aj_sum = aj_sum.add(aj);
        }
        if !aj.eq_f(0.0) {
            if ((4 * (n_terms - j)) as f64 * aj.hi.abs()) < (f64::EPSILON * aj_sum.hi)
                && j != n_terms - 1
            {
                break;
            }
        } else if j > vmid {
            break;
        }
        update_binomial(&mut cman, &mut cexpt, n, j);
        j += 1;
    }
    let prob = f_mul(x, aj_sum).hi;
    let sf = if step < 0 { 1.0 - prob } else { prob };
    sf.clamp(0.0, 1.0)
}
