//! Small dense linear algebra for symmetric positive-definite (SPD) systems.
//!
//! Guarantees: matrices are `n × n`, row-major `&[f64]` slices; every function
//! checks dimensions and returns [`LinalgError`] instead of panicking; a
//! Cholesky factor is always lower-triangular (upper part zero) with a strictly
//! positive diagonal. Sizes are intended to be tiny (n ≤ ~16), so all routines
//! are straightforward O(n³)/O(n²) loops without blocking.

use std::fmt;

/// Error returned by the linear-algebra routines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinalgError {
    /// A slice length does not match the declared dimension.
    DimensionMismatch,
    /// The matrix is not (numerically) positive definite, or contains NaN/inf.
    NotPositiveDefinite,
}

impl fmt::Display for LinalgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinalgError::DimensionMismatch => write!(f, "dimension mismatch"),
            LinalgError::NotPositiveDefinite => write!(f, "matrix is not positive definite"),
        }
    }
}

impl std::error::Error for LinalgError {}

fn check_square(a: &[f64], n: usize) -> Result<(), LinalgError> {
    if a.len() == n * n {
        Ok(())
    } else {
        Err(LinalgError::DimensionMismatch)
    }
}

/// Dot product of two equal-length vectors.
pub fn dot(x: &[f64], y: &[f64]) -> Result<f64, LinalgError> {
    if x.len() != y.len() {
        return Err(LinalgError::DimensionMismatch);
    }
    Ok(x.iter().zip(y).map(|(a, b)| a * b).sum())
}

/// Matrix–vector product `A x` for a row-major `n × n` matrix.
pub fn mat_vec(a: &[f64], n: usize, x: &[f64]) -> Result<Vec<f64>, LinalgError> {
    check_square(a, n)?;
    if x.len() != n {
        return Err(LinalgError::DimensionMismatch);
    }
    Ok(a.chunks_exact(n)
        .map(|row| row.iter().zip(x).map(|(p, q)| p * q).sum())
        .collect())
}

/// The `n × n` identity scaled by `s`.
pub fn scaled_identity(n: usize, s: f64) -> Vec<f64> {
    let mut m = vec![0.0; n * n];
    for i in 0..n {
        m[i * n + i] = s;
    }
    m
}

/// Symmetric rank-1 update in place: `A ← A + x xᵀ`.
pub fn add_outer(a: &mut [f64], n: usize, x: &[f64]) -> Result<(), LinalgError> {
    check_square(a, n)?;
    if x.len() != n {
        return Err(LinalgError::DimensionMismatch);
    }
    for i in 0..n {
        for j in 0..n {
            a[i * n + j] += x[i] * x[j];
        }
    }
    Ok(())
}

/// Cholesky factorisation `A = L Lᵀ` of an SPD matrix; returns lower-triangular `L`.
///
/// Only the lower triangle of `a` is read. Fails with
/// [`LinalgError::NotPositiveDefinite`] if a pivot is not strictly positive and finite.
pub fn cholesky(a: &[f64], n: usize) -> Result<Vec<f64>, LinalgError> {
    check_square(a, n)?;
    let mut l = vec![0.0; n * n];
    for j in 0..n {
        let mut diag = a[j * n + j];
        for k in 0..j {
            diag -= l[j * n + k] * l[j * n + k];
        }
        if !(diag > 0.0 && diag.is_finite()) {
            return Err(LinalgError::NotPositiveDefinite);
        }
        let ljj = diag.sqrt();
        l[j * n + j] = ljj;
        for i in (j + 1)..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            l[i * n + j] = s / ljj;
        }
    }
    Ok(l)
}

/// Forward substitution in place: overwrite `b` with `y` solving `L y = b`.
pub fn solve_lower_in_place(l: &[f64], n: usize, b: &mut [f64]) -> Result<(), LinalgError> {
    check_square(l, n)?;
    if b.len() != n {
        return Err(LinalgError::DimensionMismatch);
    }
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * n + k] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
    Ok(())
}

/// Back substitution with the transposed factor, in place: overwrite `b` with
/// `x` solving `Lᵀ x = b` (where `L` is lower-triangular).
pub fn solve_lower_transpose_in_place(
    l: &[f64],
    n: usize,
    b: &mut [f64],
) -> Result<(), LinalgError> {
    check_square(l, n)?;
    if b.len() != n {
        return Err(LinalgError::DimensionMismatch);
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in (i + 1)..n {
            s -= l[k * n + i] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
    Ok(())
}

/// Solve `A x = b` given the Cholesky factor `L` of `A` (`A = L Lᵀ`).
pub fn cholesky_solve(l: &[f64], n: usize, b: &[f64]) -> Result<Vec<f64>, LinalgError> {
    let mut x = b.to_vec();
    solve_lower_in_place(l, n, &mut x)?;
    solve_lower_transpose_in_place(l, n, &mut x)?;
    Ok(x)
}

/// The inverse of the SPD matrix whose Cholesky factor is `l` (column by
/// column: `A x = eᵢ`); the result is symmetrised.
pub fn cholesky_inverse(l: &[f64], n: usize) -> Result<Vec<f64>, LinalgError> {
    check_square(l, n)?;
    let mut inv = vec![0.0; n * n];
    for i in 0..n {
        let mut e = vec![0.0; n];
        e[i] = 1.0;
        let col = cholesky_solve(l, n, &e)?;
        for (j, v) in col.into_iter().enumerate() {
            inv[j * n + i] = v;
        }
    }
    for i in 0..n {
        for j in 0..i {
            let m = 0.5 * (inv[i * n + j] + inv[j * n + i]);
            inv[i * n + j] = m;
            inv[j * n + i] = m;
        }
    }
    Ok(inv)
}

/// Solve the SPD system `A x = b` by Cholesky factorisation.
pub fn solve_spd(a: &[f64], n: usize, b: &[f64]) -> Result<Vec<f64>, LinalgError> {
    let l = cholesky(a, n)?;
    cholesky_solve(&l, n, b)
}

/// Cholesky rank-1 update in place: given `L` with `A = L Lᵀ`, overwrite it
/// with the factor of `A + x xᵀ` in O(n²) (numerically stable rotation form).
pub fn cholesky_rank1_update(l: &mut [f64], n: usize, x: &[f64]) -> Result<(), LinalgError> {
    check_square(l, n)?;
    if x.len() != n {
        return Err(LinalgError::DimensionMismatch);
    }
    let mut w = x.to_vec();
    for k in 0..n {
        let lkk = l[k * n + k];
        let r = lkk.hypot(w[k]);
        if !(lkk > 0.0 && r.is_finite()) {
            return Err(LinalgError::NotPositiveDefinite);
        }
        let c = r / lkk;
        let s = w[k] / lkk;
        l[k * n + k] = r;
        for i in (k + 1)..n {
            let lik = (l[i * n + k] + s * w[i]) / c;
            l[i * n + k] = lik;
            w[i] = c * w[i] - s * lik;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Build an SPD matrix `B Bᵀ + n·I·eps` from arbitrary entries.
    fn spd_from(entries: &[f64], n: usize, ridge: f64) -> Vec<f64> {
        let mut a = scaled_identity(n, ridge);
        for i in 0..n {
            for j in 0..n {
                let mut s = 0.0;
                for k in 0..n {
                    s += entries[i * n + k] * entries[j * n + k];
                }
                a[i * n + j] += s;
            }
        }
        a
    }

    fn max_abs_diff(x: &[f64], y: &[f64]) -> f64 {
        x.iter()
            .zip(y)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }

    fn llt(l: &[f64], n: usize) -> Vec<f64> {
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|k| l[i * n + k] * l[j * n + k]).sum();
            }
        }
        a
    }

    fn spd_strategy() -> impl Strategy<Value = (usize, Vec<f64>, Vec<f64>, Vec<f64>)> {
        (1usize..=8).prop_flat_map(|n| {
            (
                Just(n),
                proptest::collection::vec(-2.0f64..2.0, n * n),
                proptest::collection::vec(-3.0f64..3.0, n),
                proptest::collection::vec(-2.0f64..2.0, n),
            )
        })
    }

    proptest! {
        #[test]
        fn cholesky_reconstructs((n, e, _b, _x) in spd_strategy()) {
            let a = spd_from(&e, n, 0.5);
            let l = cholesky(&a, n).unwrap();
            for i in 0..n {
                prop_assert!(l[i * n + i] > 0.0);
                for j in (i + 1)..n {
                    prop_assert_eq!(l[i * n + j], 0.0);
                }
            }
            prop_assert!(max_abs_diff(&llt(&l, n), &a) < 1e-9);
        }

        #[test]
        fn solve_matches_direct_product((n, e, b, _x) in spd_strategy()) {
            let a = spd_from(&e, n, 0.5);
            let x = solve_spd(&a, n, &b).unwrap();
            // Residual check: A x must reproduce b.
            let ax = mat_vec(&a, n, &x).unwrap();
            prop_assert!(max_abs_diff(&ax, &b) < 1e-8);
            // Transposed-factor solve: L (Lᵀ z) == b'.
            let l = cholesky(&a, n).unwrap();
            let mut z = b.clone();
            solve_lower_transpose_in_place(&l, n, &mut z).unwrap();
            let mut back = vec![0.0; n];
            for i in 0..n {
                back[i] = (i..n).map(|k| l[k * n + i] * z[k]).sum();
            }
            prop_assert!(max_abs_diff(&back, &b) < 1e-8);
        }

        #[test]
        fn inverse_times_matrix_is_identity((n, e, _b, _x) in spd_strategy()) {
            let a = spd_from(&e, n, 0.5);
            let inv = cholesky_inverse(&cholesky(&a, n).unwrap(), n).unwrap();
            let mut prod = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    prod[i * n + j] = (0..n).map(|k| a[i * n + k] * inv[k * n + j]).sum();
                }
            }
            prop_assert!(max_abs_diff(&prod, &scaled_identity(n, 1.0)) < 1e-8);
        }

        #[test]
        fn rank1_update_matches_refactorisation((n, e, _b, x) in spd_strategy()) {
            let mut a = spd_from(&e, n, 0.5);
            let mut l = cholesky(&a, n).unwrap();
            cholesky_rank1_update(&mut l, n, &x).unwrap();
            add_outer(&mut a, n, &x).unwrap();
            let l2 = cholesky(&a, n).unwrap();
            prop_assert!(max_abs_diff(&l, &l2) < 1e-8);
        }
    }

    #[test]
    fn rejects_indefinite_and_bad_dims() {
        let a = [1.0, 2.0, 2.0, 1.0];
        assert_eq!(cholesky(&a, 2), Err(LinalgError::NotPositiveDefinite));
        assert_eq!(cholesky(&a, 3), Err(LinalgError::DimensionMismatch));
        assert_eq!(
            cholesky(&[f64::NAN], 1),
            Err(LinalgError::NotPositiveDefinite)
        );
        assert!(solve_spd(&[4.0], 1, &[1.0, 2.0]).is_err());
        assert!(dot(&[1.0], &[1.0, 2.0]).is_err());
    }

    #[test]
    fn known_2x2() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let l = cholesky(&a, 2).unwrap();
        assert!(max_abs_diff(&l, &[2.0, 0.0, 1.0, 2.0f64.sqrt()]) < 1e-15);
        let x = solve_spd(&a, 2, &[6.0, 5.0]).unwrap();
        assert!(max_abs_diff(&x, &[1.0, 1.0]) < 1e-12);
    }
}
