//! `scipy.special.binom` (xsf `binom.h`) and the cephes functions it needs,
//! restricted to the domain used by the KS code: `0 <= k <= n`, both integral.
//! Constants are copied verbatim from xsf so that results are bit-identical.
#![allow(clippy::excessive_precision)]

const MAXGAM: f64 = 171.624376956302725;
const MAXLOG: f64 = 7.097827128933839730962063185871E2;
const SQRT2PI: f64 = 2.506628274631000502415765284811045253007;
const LS2PI: f64 = 0.91893853320467274178;
const MAXLGM: f64 = 2.556348e305;
const MAXSTIR: f64 = 143.01608;
const BETA_ASYMP_FACTOR: f64 = 1e6;
const EULER_GAMMA: f64 = 0.5772156649015329;

const GAMMA_P: [f64; 7] = [
    1.60119522476751861407E-4,
    1.19135147006586384913E-3,
    1.04213797561761569935E-2,
    4.76367800457137231464E-2,
    2.07448227648435975150E-1,
    4.94214826801497100753E-1,
    9.99999999999999996796E-1,
];
const GAMMA_Q: [f64; 8] = [
    -2.31581873324120129819E-5,
    5.39605580493303397842E-4,
    -4.45641913851797240494E-3,
    1.18139785222060435552E-2,
    3.58236398605498653373E-2,
    -2.34591795718243348568E-1,
    7.14304917030273074085E-2,
    1.00000000000000000320E0,
];
const GAMMA_STIR: [f64; 5] = [
    7.87311395793093628397E-4,
    -2.29549961613378126380E-4,
    -2.68132617805781232825E-3,
    3.47222221605458667310E-3,
    8.33333333333482257126E-2,
];
const GAMMA_A: [f64; 5] = [
    8.11614167470508450300E-4,
    -5.95061904284301438324E-4,
    7.93650340457716943945E-4,
    -2.77777777730099687205E-3,
    8.33333333333331927722E-2,
];
const GAMMA_B: [f64; 6] = [
    -1.37825152569120859100E3,
    -3.88016315134637840924E4,
    -3.31612992738871184744E5,
    -1.16237097492762307383E6,
    -1.72173700820839662146E6,
    -8.53555664245765465627E5,
];
const GAMMA_C: [f64; 6] = [
    -3.51815701436523470549E2,
    -1.70642106651881159223E4,
    -2.20528590553854454839E5,
    -1.13933444367982507207E6,
    -2.53252307177582951285E6,
    -2.01889141433532773231E6,
];
const RGAMMA_R: [f64; 16] = [
    3.13173458231230000000E-17,
    -6.70718606477908000000E-16,
    2.20039078172259550000E-15,
    2.47691630348254132600E-13,
    -6.60074100411295197440E-12,
    5.13850186324226978840E-11,
    1.08965386454418662084E-9,
    -3.33964630686836942556E-8,
    2.68975996440595483619E-7,
    2.96001177518801696639E-6,
    -8.04814124978471142852E-5,
    4.16609138709688864714E-4,
    5.06579864028608725080E-3,
    -6.41925436109158228810E-2,
    -4.98558728684003594785E-3,
    1.27546015610523951063E-1,
];

/// cephes `polevl`.
fn polevl(x: f64, coef: &[f64]) -> f64 {
    let mut ans = coef[0];
    for &c in &coef[1..] {
        ans = ans * x + c;
    }
    ans
}

/// cephes `p1evl` (leading coefficient 1 omitted).
fn p1evl(x: f64, coef: &[f64]) -> f64 {
    let mut ans = x + coef[0];
    for &c in &coef[1..] {
        ans = ans * x + c;
    }
    ans
}

/// cephes `chbevl`.
fn chbevl(x: f64, coef: &[f64]) -> f64 {
    let mut b0 = coef[0];
    let mut b1 = 0.0;
    let mut b2 = 0.0;
    for &c in &coef[1..] {
        b2 = b1;
        b1 = b0;
        b0 = x * b1 - b2 + c;
    }
    0.5 * (b0 - b2)
}

/// cephes `stirf` (33 <= x <= 172).
fn stirf(x: f64) -> f64 {
    if x >= MAXGAM {
        return f64::INFINITY;
    }
    let mut w = 1.0 / x;
    w = 1.0 + w * polevl(w, &GAMMA_STIR);
    let mut y = x.exp();
    if x > MAXSTIR {
        let v = x.powf(0.5 * x - 0.25);
        y = v * (v / y);
    } else {
        y = x.powf(x - 0.5) / y;
    }
    SQRT2PI * y * w
}

/// cephes `Gamma` for finite `x > 0`.
fn gamma(x: f64) -> f64 {
    if !x.is_finite() || x <= 0.0 {
        return f64::NAN;
    }
    if x > 33.0 {
        return stirf(x);
    }
    let mut x = x;
    let mut z = 1.0;
    while x >= 3.0 {
        x -= 1.0;
        z *= x;
    }
    while x < 2.0 {
        if x < 1.0e-9 {
            return z / ((1.0 + EULER_GAMMA * x) * x);
        }
        z /= x;
        x += 1.0;
    }
    if x == 2.0 {
        return z;
    }
    x -= 2.0;
    let p = polevl(x, &GAMMA_P);
    let q = polevl(x, &GAMMA_Q);
    z * p / q
}

/// cephes `rgamma` (1/Gamma) for `x > 0`.
fn rgamma(x: f64) -> f64 {
    if x == 0.0 {
        return x;
    }
    if x.abs() > 4.0 {
        return 1.0 / gamma(x);
    }
    let mut z = 1.0;
    let mut w = x;
    while w > 1.0 {
        w -= 1.0;
        z *= w;
    }
    while w < 0.0 {
        z /= w;
        w += 1.0;
    }
    if w == 0.0 {
        return 0.0;
    }
    if w == 1.0 {
        return 1.0 / z;
    }
    w * (1.0 + chbevl(4.0 * w - 2.0, &RGAMMA_R)) / z
}

/// cephes `lgam_large_x`.
fn lgam_large_x(x: f64) -> f64 {
    let q = (x - 0.5) * x.ln() - x + LS2PI;
    if x > 1.0e8 {
        return q;
    }
    let p = 1.0 / (x * x);
    let p = ((7.9365079365079365079365e-4 * p - 2.7777777777777777777778e-3) * p
        + 0.0833333333333333333333)
        / x;
    q + p
}

/// cephes `lgam_sgn` for `x > 0` (the sign is then always +1).
fn lgam(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    if x <= 0.0 {
        return f64::NAN;
    }
    if x < 13.0 {
        let mut z = 1.0;
        let mut p = 0.0;
        let mut u = x;
        while u >= 3.0 {
            p -= 1.0;
            u = x + p;
            z *= u;
        }
        while u < 2.0 {
            if u == 0.0 {
                return f64::INFINITY;
            }
            z /= u;
            p += 1.0;
            u = x + p;
        }
        if z < 0.0 {
            z = -z;
        }
        if u == 2.0 {
            return z.ln();
        }
        p -= 2.0;
        let x = x + p;
        let p = x * polevl(x, &GAMMA_B) / p1evl(x, &GAMMA_C);
        return z.ln() + p;
    }
    if x > MAXLGM {
        return f64::INFINITY;
    }
    if x >= 1000.0 {
        return lgam_large_x(x);
    }
    let q = (x - 0.5) * x.ln() - x + LS2PI;
    let p = 1.0 / (x * x);
    q + polevl(p, &GAMMA_A) / x
}

/// cephes `lbeta_asymp` for positive arguments.
fn lbeta_asymp(a: f64, b: f64) -> f64 {
    let mut r = lgam(b);
    r -= b * a.ln();
    r += b * (1.0 - b) / (2.0 * a);
    r += b * (1.0 - b) * (1.0 - 2.0 * b) / (12.0 * a * a);
    r += -b * b * (1.0 - b) * (1.0 - b) / (12.0 * a * a * a);
    r
}

/// cephes `beta(a, b)` for `a, b > 0`.
fn beta(a: f64, b: f64) -> f64 {
    let (a, b) = if a.abs() < b.abs() { (b, a) } else { (a, b) };
    if a.abs() > BETA_ASYMP_FACTOR * b.abs() && a > BETA_ASYMP_FACTOR {
        return lbeta_asymp(a, b).exp();
    }
    let y = a + b;
    if y.abs() > MAXGAM || a.abs() > MAXGAM || b.abs() > MAXGAM {
        let mut y = lgam(y);
        y = lgam(b) - y;
        y += lgam(a); // (IEEE addition is commutative: same bits as lgam(a) + y)
        if y > MAXLOG {
            return f64::INFINITY;
        }
        return y.exp();
    }
    let y = rgamma(y);
    let a = gamma(a);
    let b = gamma(b);
    if y.is_infinite() {
        return f64::INFINITY;
    }
    if ((a * y).abs() - 1.0).abs() > ((b * y).abs() - 1.0).abs() {
        let mut r = b * y;
        r *= a;
        r
    } else {
        let mut r = a * y;
        r *= b;
        r
    }
}

/// cephes `lbeta(a, b)` for `a, b > 0`.
fn lbeta(a: f64, b: f64) -> f64 {
    let (a, b) = if a.abs() < b.abs() { (b, a) } else { (a, b) };
    if a.abs() > BETA_ASYMP_FACTOR * b.abs() && a > BETA_ASYMP_FACTOR {
        return lbeta_asymp(a, b);
    }
    let y = a + b;
    if y.abs() > MAXGAM || a.abs() > MAXGAM || b.abs() > MAXGAM {
        let mut y = lgam(y);
        y = lgam(b) - y;
        y += lgam(a); // (IEEE addition is commutative: same bits as lgam(a) + y)
        return y;
    }
    let y = rgamma(y);
    let a = gamma(a);
    let b = gamma(b);
    if y.is_infinite() {
        return f64::INFINITY;
    }
    let r = if ((a * y).abs() - 1.0).abs() > ((b * y).abs() - 1.0).abs() {
        let mut r = b * y;
        r *= a;
        r
    } else {
        let mut r = a * y;
        r *= b;
        r
    };
    r.abs().ln()
}

/// `scipy.special.binom(n, k)` for integral `0 <= k <= n` (xsf `binom`).
pub(super) fn binom(n: f64, k: f64) -> f64 {
    if n < 0.0 || k < 0.0 || k.is_nan() || n.is_nan() {
        return f64::NAN;
    }
    let mut kx = k.floor();
    if k == kx && (n.abs() > 1e-8 || n == 0.0) {
        let nx = n.floor();
        if nx == n && kx > nx / 2.0 && nx > 0.0 {
            kx = nx - kx;
        }
        if (0.0..20.0).contains(&kx) {
            let mut num = 1.0;
            let mut den = 1.0;
            let kxi = kx as i32;
            for i in 1..=kxi {
                num *= i as f64 + n - kx;
                den *= i as f64;
                if num.abs() > 1e50 {
                    num /= den;
                    den = 1.0;
                }
            }
            return num / den;
        }
    }
    if n >= 1e10 * k && k > 0.0 {
        return (-lbeta(1.0 + n - k, 1.0 + k) - (n + 1.0).ln()).exp();
    }
    // (the k > 1e8 * |n| branch of xsf is unreachable for 0 <= k <= n)
    1.0 / (n + 1.0) / beta(1.0 + n - k, 1.0 + k)
}

#[cfg(test)]
mod tests {
    use super::binom;

    /// Bit patterns of `scipy.special.binom(n, k)` from SciPy 1.17.1.
    #[test]
    fn binom_matches_scipy_bitwise() {
        for &(n, k, bits) in super::super::tests_data::BINOM_BITS {
            let got = binom(n, k);
            assert_eq!(
                got.to_bits(),
                bits,
                "binom({n}, {k}) = {got:e}, want {:e}",
                f64::from_bits(bits)
            );
        }
    }
}
