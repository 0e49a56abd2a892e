//! Brute-force linear algebra the bandit's tests check against, written
//! independently of `linalg` (no Cholesky factor, no rank-1 updates).

/// Naive Gauss–Jordan inverse with partial pivoting (independent of `linalg`).
pub fn inverse(a: &[f64], n: usize) -> Vec<f64> {
    let mut m: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let mut row = a[i * n..(i + 1) * n].to_vec();
            row.extend((0..n).map(|j| if i == j { 1.0 } else { 0.0 }));
            row
        })
        .collect();
    for c in 0..n {
        let p = (c..n)
            .max_by(|x, y| m[*x][c].abs().total_cmp(&m[*y][c].abs()))
            .unwrap_or(c);
        m.swap(c, p);
        let pivot = m[c][c];
        for v in m[c].iter_mut() {
            *v /= pivot;
        }
        for r in 0..n {
            if r != c {
                let f = m[r][c];
                let row_c = m[c].clone();
                for (v, w) in m[r].iter_mut().zip(&row_c) {
                    *v -= f * w;
                }
            }
        }
    }
    m.into_iter().flat_map(|row| row[n..].to_vec()).collect()
}

/// `A x` of a row-major `n × n` matrix.
pub fn times(a: &[f64], n: usize, x: &[f64]) -> Vec<f64> {
    (0..n)
        .map(|i| (0..n).map(|j| a[i * n + j] * x[j]).sum())
        .collect()
}
