//! `scipy.stats.kstwo.sf` (SciPy's `_kolmogn`): the two-sided one-sample
//! Kolmogorov distribution used by the asymptotic two-sample p-value.

use super::{clip01, smirnov};

// ---------------------------------------------------------------------------------
// kstwo.sf: scipy.stats._ksstats._kolmogn
// ---------------------------------------------------------------------------------

const E128: i32 = 128;
/// 2^128
const EP128: f64 = f64::from_bits(0x47F0_0000_0000_0000);
/// 2^-128
const EM128: f64 = f64::from_bits(0x37F0_0000_0000_0000);
const SQRT2PI_NP: f64 = 2.506_628_274_631_000_2;
const LOG_2PI: f64 = 1.837_877_066_409_345_3;
const MIN_LOG: f64 = -708.0;
const SQRT3_NP: f64 = 1.732_050_807_568_877_2;
const PI_SQUARED: f64 = 9.869_604_401_089_358;
const PI_FOUR: f64 = 97.409_091_034_002_42;
const PI_SIX: f64 = 961.389_193_575_304_3;
const STIRLING_COEFFS: [f64; 8] = [
    -0.029_550_653_594_771_242,
    0.006_410_256_410_256_41,
    -0.001_917_526_917_526_917_6,
    0.000_841_750_841_750_841_7,
    -0.000_595_238_095_238_095_3,
    0.000_793_650_793_650_793_7,
    -0.002_777_777_777_777_778,
    0.083_333_333_333_333_33,
];

/// `scipy.stats.kstwo.sf(x, n)` with `n` a float (as passed by `ks_2samp`).
pub(super) fn kstwo_sf(x: f64, n: f64) -> f64 {
    // _argcheck: (n >= 1) & (n == round(n)); otherwise badvalue (NaN).
    if x.is_nan() || !(n >= 1.0 && n == n.round_ties_even()) || !n.is_finite() {
        return f64::NAN;
    }
    let lower = 0.5 / n;
    if x <= lower {
        return 1.0;
    }
    if x >= 1.0 {
        return 0.0;
    }
    if n > i64::MAX as f64 {
        return f64::NAN;
    }
    kolmogn_sf(n as i64, x)
}

/// `_log_nfactorial_div_n_pow_n(n)`: log(n! / n^n) via Stirling.
pub(super) fn log_nfactorial_div_n_pow_n(n: i64) -> f64 {
    let nf = n as f64;
    let rn = 1.0 / nf;
    let x = rn / nf;
    let mut poly = 0.0;
    for c in STIRLING_COEFFS {
        poly = poly * x + c;
    }
    nf.ln() / 2.0 - nf + LOG_2PI / 2.0 + rn * poly
}

/// `_kolmogn(n, x, cdf=False)`: survival function of the two-sided one-sample KS statistic.
pub(super) fn kolmogn_sf(n: i64, x: f64) -> f64 {
    if n <= 0 || x.is_nan() {
        return f64::NAN;
    }
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        // Ruben-Gambino: 1/2n <= x <= 1/n
        if t <= 0.5 {
            return 1.0;
        }
        let prob = if n <= 140 {
            let inv = 1.0 / nf;
            let f = 2.0 * t - 1.0;
            let mut p = 1.0;
            for i in 1..=n {
                p *= i as f64 * inv * f;
            }
            p
        } else {
            (log_nfactorial_div_n_pow_n(n) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return clip01(1.0 - prob);
    }
    if t >= nf - 1.0 {
        // Ruben-Gambino
        let prob = 2.0 * (1.0 - x).powf(nf);
        return clip01(prob);
    }
    if x >= 0.5 {
        // Exact: 2 * smirnov
        return clip01(2.0 * smirnov::smirnov_sf(n, x));
    }
    let nxsquared = t * x;
    if n <= 140 {
        if nxsquared <= 0.754693 {
            let cdf = kolmogn_dmtw_cdf(n, x);
            return clip01(1.0 - cdf);
        }
        if nxsquared <= 4.0 {
            let cdf = kolmogn_pomeranz_cdf(n, x);
            return clip01(1.0 - cdf);
        }
        return clip01(2.0 * smirnov::smirnov_sf(n, x));
    }
    // SF branch of _kolmogn for n > 140
    if nxsquared >= 370.0 {
        return 0.0;
    }
    if nxsquared >= 2.2 {
        return clip01(2.0 * smirnov::smirnov_sf(n, x));
    }
    let cdfprob = if nxsquared >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        kolmogn_dmtw_cdf(n, x)
    } else {
        kolmogn_pelzgood_cdf(n, x)
    };
    clip01(1.0 - cdfprob)
}

/// Square matrix product (row-major, size m).
pub(super) fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * m];
    for i in 0..m {
        let crow = &mut c[i * m..(i + 1) * m];
        for k in 0..m {
            let aik = a[i * m + k];
            if aik == 0.0 {
                continue;
            }
            let brow = &b[k * m..(k + 1) * m];
            for (cv, &bv) in crow.iter_mut().zip(brow) {
                *cv += aik * bv;
            }
        }
    }
    c
}

/// `_kolmogn_DMTW(n, d, cdf=True)`: Durbin matrix algorithm (Marsaglia-Tsang-Wang).
pub(super) fn kolmogn_dmtw_cdf(n: i64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let nd = nf * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut hm = vec![0.0f64; m * m];
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powf(j as f64)).collect();
    let mut w = vec![0.0f64; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let base = (2.0 * h - 1.0).max(0.0);
    let tt = base.powf(m as f64) - 2.0 * h.powf(m as f64);
    v[m - 1] = (1.0 + tt) * fac;
    for i in 1..m {
        // H[i - 1:, i] = w[:m - i + 1]
        for r in (i - 1)..m {
            hm[r * m + i] = w[r - (i - 1)];
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }
    let mut hpwr = vec![0.0f64; m * m];
    for i in 0..m {
        hpwr[i * m + i] = 1.0;
    }
    let mut nn = n;
    let mut expnt: i64 = 0;
    let mut hexpnt: i64 = 0;
    while nn > 0 {
        if nn % 2 == 1 {
            hpwr = matmul(&hpwr, &hm, m);
            expnt += hexpnt;
        }
        hm = matmul(&hm, &hm, m);
        hexpnt *= 2;
        if hm[(k - 1) * m + (k - 1)].abs() > EP128 {
            for x in hm.iter_mut() {
                *x /= EP128;
            }
            hexpnt += E128 as i64;
        }
        nn /= 2;
    }
    let mut p = hpwr[(k - 1) * m + (k - 1)];
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < EM128 {
            p *= EP128;
            expnt -= E128 as i64;
        }
    }
    if expnt != 0 {
        p = ldexp(p, expnt.clamp(-100_000, 100_000) as i32);
    }
    clip01(p)
}

/// `_pomeranz_compute_j1j2`.
pub(super) fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let ip1div2 = (i + 1) / 2;
        let ip1mod2 = (i + 1) % 2;
        if ip1mod2 == 0 {
            if ip1div2 == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1)
            }
        } else {
            (ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// Python slice bounds `[start:stop]` on a sequence of length `len`.
pub(super) fn py_slice(len: usize, start: i64, stop: i64) -> (usize, usize) {
    let l = len as i64;
    let norm = |x: i64| -> i64 {
        if x < 0 {
            (x + l).max(0)
        } else {
            x.min(l)
        }
    };
    let s = norm(start);
    let e = norm(stop).max(s);
    (s as usize, e as usize)
}

/// `_kolmogn_Pomeranz(n, x, cdf=True)`.
pub(super) fn kolmogn_pomeranz_cdf(n: i64, x: f64) -> f64 {
    let nf = n as f64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)).max(1) as usize;
    let mut gpower = vec![0.0f64; npwrs];
    let mut twogpower = vec![0.0f64; npwrs];
    let mut onem2gpower = vec![0.0f64; npwrs];
    gpower[0] = 1.0;
    twogpower[0] = 1.0;
    onem2gpower[0] = 1.0;
    let mut expnt: i64 = 0;
    let (g_over_n, two_g_over_n, one_minus_two_g_over_n) =
        (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    for m in 1..npwrs {
        let mf = m as f64;
        gpower[m] = gpower[m - 1] * g_over_n / mf;
        twogpower[m] = twogpower[m - 1] * two_g_over_n / mf;
        onem2gpower[m] = onem2gpower[m - 1] * one_minus_two_g_over_n / mf;
    }
    let mut v0 = vec![0.0f64; npwrs];
    let mut v1 = vec![0.0f64; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s): (i64, i64) = (0, 0);
    let (mut j1, mut _j2) = pomeranz_j1j2(0, n, ll, ceilf, roundf);
    let mut conv_buf: Vec<f64> = Vec::new();
    for i in 1..(2 * n + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.iter_mut().for_each(|v| *v = 0.0);
        let (nj1, nj2) = pomeranz_j1j2(i, n, ll, ceilf, roundf);
        j1 = nj1;
        _j2 = nj2;
        let pwrs: &[f64] = if i == 1 || i == 2 * n + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = nj2 - k1 + 1;
        if ln2 > 0 {
            let (as_, ae) = py_slice(npwrs, k1 - v0s, k1 - v0s + ln2);
            let (bs, be) = py_slice(pwrs.len(), 0, ln2);
            let sa = &v0[as_..ae];
            let sb = &pwrs[bs..be];
            if !sa.is_empty() && !sb.is_empty() {
                // np.convolve(sa, sb) in 'full' mode
                let clen = sa.len() + sb.len() - 1;
                conv_buf.clear();
                conv_buf.resize(clen, 0.0);
                for (ia, &va) in sa.iter().enumerate() {
                    for (ib, &vb) in sb.iter().enumerate() {
                        conv_buf[ia + ib] += va * vb;
                    }
                }
                let conv_start = nj1 - k1;
                let conv_len = nj2 - nj1 + 1;
                let (cs, ce) = py_slice(clen, conv_start, conv_start + conv_len);
                let (ds, de) = py_slice(npwrs, 0, conv_len);
                let cnt = (ce - cs).min(de - ds);
                v1[ds..ds + cnt].copy_from_slice(&conv_buf[cs..cs + cnt]);
                let vmax = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                if 0.0 < vmax && vmax < EM128 {
                    v1.iter_mut().for_each(|v| *v *= EP128);
                    expnt -= E128 as i64;
                }
            }
            v1s = v0s + nj1 - k1;
        }
    }
    let idx = n - v1s;
    let idx = if idx < 0 { idx + npwrs as i64 } else { idx };
    let mut ans = v1.get(idx.max(0) as usize).copied().unwrap_or(0.0);
    for m in 1..=n {
        if ans.abs() > EP128 {
            ans *= EM128;
            expnt += E128 as i64;
        }
        ans *= m as f64;
    }
    if expnt != 0 {
        ans = ldexp(ans, expnt.clamp(-100_000, 100_000) as i32);
    }
    clip01(ans)
}

/// `_kolmogn_PelzGood(n, x, cdf=True)` (not clipped, as in scipy).
pub(super) fn kolmogn_pelzgood_cdf(n: i64, x: f64) -> f64 {
    use std::f64::consts::PI;
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let zsquared = z * z;
    let zthree = z.powf(3.0);
    let zfour = z.powf(4.0);
    let zsix = z.powf(6.0);
    let qlog = -PI_SQUARED / 8.0 / zsquared;
    if qlog < MIN_LOG {
        return 0.0;
    }
    let q = qlog.exp();
    let k1a = -zsquared;
    let k1b = PI_SQUARED / 4.0;
    let k2a = 6.0 * zsix + 2.0 * zfour;
    let k2b = (2.0 * zfour - 5.0 * zsquared) * PI_SQUARED / 4.0;
    let k2c = PI_FOUR * (1.0 - 2.0 * zsquared) / 16.0;
    let k3d = PI_SIX * (5.0 - 30.0 * zsquared) / 64.0;
    let k3c = PI_FOUR * (-60.0 * zsquared + 212.0 * zfour) / 16.0;
    let k3b = PI_SQUARED * (135.0 * zfour - 96.0 * zsix) / 4.0;
    let k3a = -30.0 * zsix - 90.0 * z.powf(8.0);
    let mut kk = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for k in (1..=maxk).rev() {
        let m = 2 * k - 1;
        let msquared = (m * m) as f64;
        let mfour = (m * m * m * m) as f64;
        let msix = (m * m * m * m * m * m) as f64;
        let qpower = q.powf((8 * k) as f64);
        let coeffs = [
            1.0,
            k1a + k1b * msquared,
            k2a + k2b * msquared + k2c * mfour,
            k3a + k3b * msquared + k3c * mfour + k3d * msix,
        ];
        for (kv, c) in kk.iter_mut().zip(coeffs) {
            *kv *= qpower;
            *kv += c;
        }
    }
    let divs = [z, 6.0 * zfour, 72.0 * z.powf(7.0), 6480.0 * z.powf(10.0)];
    for (kv, dv) in kk.iter_mut().zip(divs) {
        *kv *= q;
        *kv *= SQRT2PI_NP;
        *kv /= dv;
    }
    let q = (-PI_SQUARED / 2.0 / zsquared).exp();
    let sqrt3z = SQRT3_NP * z;
    let mut k2extra = 0.0;
    let mut k3extra = 0.0;
    for k in (1..=maxk).rev() {
        let ksquared = (k * k) as f64;
        let kspi = PI * k as f64;
        let qp = q.powf(ksquared);
        k2extra += ksquared * qp;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qp;
    }
    k2extra *= PI_SQUARED * SQRT2PI_NP / (-36.0 * zthree);
    kk[2] += k2extra;
    k3extra *= PI_SQUARED * SQRT2PI_NP / (216.0 * zsix);
    kk[3] += k3extra;
    let powers_of_n = [1.0, nf.powf(0.5), nf, nf.powf(1.5)];
    for (kv, p) in kk.iter_mut().zip(powers_of_n) {
        *kv /= p;
    }
    kk[0] + kk[1] + kk[2] + kk[3]
}

// ---------------------------------------------------------------------------------
// Floating-point helpers (C frexp / ldexp)
// ---------------------------------------------------------------------------------

/// C `frexp`: `x = m * 2^e` with `0.5 <= |m| < 1` (m = x for 0, inf, NaN).
pub(super) fn frexp(x: f64) -> (f64, i32) {
    let bits = x.to_bits();
    let ee = ((bits >> 52) & 0x7ff) as i32;
    if ee == 0 {
        if x != 0.0 {
            let (m, e) = frexp(x * 18_446_744_073_709_551_616.0); // 2^64
            return (m, e - 64);
        }
        return (x, 0);
    }
    if ee == 0x7ff {
        return (x, 0);
    }
    let e = ee - 0x3fe;
    let mbits = (bits & 0x800f_ffff_ffff_ffff) | 0x3fe0_0000_0000_0000;
    (f64::from_bits(mbits), e)
}

/// C `ldexp` / `scalbn` (musl algorithm: correctly rounded, no double rounding).
pub(super) fn ldexp(x: f64, n: i32) -> f64 {
    let mut y = x;
    let mut n = n;
    let p1023 = f64::from_bits(0x7fe0_0000_0000_0000); // 2^1023
    let pm969 = f64::from_bits(0x0360_0000_0000_0000); // 2^-1022 * 2^53 = 2^-969
    if n > 1023 {
        y *= p1023;
        n -= 1023;
        if n > 1023 {
            y *= p1023;
            n -= 1023;
            if n > 1023 {
                n = 1023;
            }
        }
    } else if n < -1022 {
        y *= pm969;
        n += 1022 - 53;
        if n < -1022 {
            y *= pm969;
            n += 1022 - 53;
            if n < -1022 {
                n = -1022;
            }
        }
    }
    y * f64::from_bits(((0x3ff + n) as u64) << 52)
}
