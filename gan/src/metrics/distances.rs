//! Pairwise squared Euclidean distances between two point sets, in blocks of rows, through the
//! engine's matrix product: the nearest-neighbour metrics (precision/recall, memorisation) and
//! the nearest-training-image pictures share them.
//!
//! ```text
//! ‖q − p‖² = ‖q‖² + ‖p‖² − 2 q·p     (one [B, D] × [D, N] product per block of B query rows)
//! ```

use minmax_engine::{no_grad, DType, Error, Result, Tensor};

/// Distances computed per block (block rows × points); 4M f64 = 32 MiB per matrix.
pub const DISTANCE_BLOCK_ELEMS: usize = 1 << 22;

/// `t` as a non-empty [rows, D] f64 tensor (rank > 2 flattened after the first axis, so
/// [N, 1, 28, 28] images become [N, 784]).
pub fn rows_f64(t: &Tensor, op: &str, what: &str) -> Result<Tensor> {
    let shape = t.shape();
    if shape.len() < 2 {
        return Err(Error::msg(format!("{op}: {what} must be [rows, D] (or [rows, C, H, W]), got shape {shape:?}")));
    }
    let (rows, d) = (shape[0], shape[1..].iter().product::<usize>());
    if rows == 0 || d == 0 {
        return Err(Error::msg(format!("{op}: {what} is empty (shape {shape:?})")));
    }
    t.to_dtype(DType::F64)?.contiguous()?.view(&[rows, d])
}

/// Two point sets as [rows, D] f64 tensors ([`rows_f64`]) with the same D; the errors name `op`,
/// each set (`(tensor, what)`) and its shape.
pub fn rows_f64_same_dim(op: &str, a: (&Tensor, &str), b: (&Tensor, &str)) -> Result<(Tensor, Tensor)> {
    let (x, y) = (rows_f64(a.0, op, a.1)?, rows_f64(b.0, op, b.1)?);
    if x.shape()[1] != y.shape()[1] {
        return Err(Error::msg(format!(
            "{op}: {} {:?} and {} {:?} have different dimensions ({} vs {})",
            a.1,
            a.0.shape(),
            b.1,
            b.0.shape(),
            x.shape()[1],
            y.shape()[1]
        )));
    }
    Ok((x, y))
}

/// Squared Euclidean distances between every row of `queries` [M, D] and every row of
/// `points` [N, D], handed to `visit(first_row, block)` a block of rows at a time: `block` holds
/// B·N values, row-major, `block[i * N + j] = ‖q_{first_row + i} − p_j‖²`.
///
/// ```text
/// ‖q − p‖² = ‖q‖² + ‖p‖² − 2 q·p     (one [B, D] × [D, N] product per block)
/// ```
///
/// The product form cancels digits when q ≈ p: results are clamped at 0, and a result below
/// 1e-12·(‖q‖² + ‖p‖²) is taken as exactly 0, so that duplicate points are at distance 0.
pub fn sq_distances_blocked(
    queries: &Tensor,
    points: &Tensor,
    block_elems: usize,
    mut visit: impl FnMut(usize, &[f64]) -> Result<()>,
) -> Result<()> {
    let (q, p) = rows_f64_same_dim("distances", (queries, "queries"), (points, "points"))?;
    let (m, n) = (q.shape()[0], p.shape()[0]);
    no_grad(|| {
        let p_t = p.t()?.contiguous()?; // [D, N]
        let p_sq = p.sqr()?.sum(&[1], false)?.to_vec::<f64>()?; // [N]
        let rows = (block_elems / n).clamp(1, m);
        for start in (0..m).step_by(rows) {
            let b = rows.min(m - start);
            let qb = q.narrow(0, start, b)?; // [B, D]
            let q_sq = qb.sqr()?.sum(&[1], false)?.to_vec::<f64>()?; // [B]
            let mut block = qb.matmul(&p_t)?.to_vec::<f64>()?; // [B, N]: q·p
            for (i, row) in block.chunks_exact_mut(n).enumerate() {
                for (j, v) in row.iter_mut().enumerate() {
                    let scale = q_sq[i] + p_sq[j];
                    let d2 = scale - 2.0 * *v;
                    *v = if d2 <= 1e-12 * scale { 0.0 } else { d2 };
                }
            }
            visit(start, &block)?;
        }
        Ok(())
    })
}

/// For every row of `queries`, the squared distance to its nearest row of `points`.
pub fn nearest_sq_distances(queries: &Tensor, points: &Tensor) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(queries.shape().first().copied().unwrap_or(0));
    let n = points.shape().first().copied().unwrap_or(0);
    sq_distances_blocked(queries, points, DISTANCE_BLOCK_ELEMS, |_, block| {
        out.extend(block.chunks_exact(n).map(|row| row.iter().copied().fold(f64::INFINITY, f64::min)));
        Ok(())
    })?;
    Ok(out)
}

/// For every row of `queries`, the index of its nearest row of `points` (the first of equals).
pub fn nearest_indices(queries: &Tensor, points: &Tensor) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(queries.shape().first().copied().unwrap_or(0));
    let n = points.shape().first().copied().unwrap_or(0);
    sq_distances_blocked(queries, points, DISTANCE_BLOCK_ELEMS, |_, block| {
        out.extend(block.chunks_exact(n).map(|row| {
            row.iter().enumerate().fold((0, f64::INFINITY), |best, (j, &d)| if d < best.1 { (j, d) } else { best }).0
        }));
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use minmax_engine::Generator;

    #[test]
    fn blocked_distances_match_the_direct_formula() -> Result<()> {
        let mut g = Generator::new(8);
        let q = Tensor::randn(&[23, 5], &mut g);
        let p = Tensor::randn(&[11, 5], &mut g);
        let (qv, pv) = (q.to_vec2::<f64>()?, p.to_vec2::<f64>()?);
        let mut seen = 0;
        // 3 rows per block: 23 = 7·3 + 2 exercises the remainder.
        sq_distances_blocked(&q, &p, 3 * 11, |start, block| {
            for (i, row) in block.chunks_exact(11).enumerate() {
                for (j, &d) in row.iter().enumerate() {
                    let want: f64 = qv[start + i].iter().zip(&pv[j]).map(|(a, b)| (a - b) * (a - b)).sum();
                    assert!((d - want).abs() < 1e-5, "({}, {j}): {d} vs {want}", start + i);
                }
                seen += 1;
            }
            Ok(())
        })?;
        assert_eq!(seen, 23);
        // A point's distance to itself is exactly 0.
        assert!(nearest_sq_distances(&p, &p)?.iter().all(|&d| d == 0.0));
        // and each point is its own nearest; the queries' nearest agree with the direct formula
        assert_eq!(nearest_indices(&p, &p)?, (0..11).collect::<Vec<_>>());
        let d2 = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
        for (i, j) in nearest_indices(&q, &p)?.into_iter().enumerate() {
            assert!(pv.iter().all(|pk| d2(&qv[i], &pv[j]) <= d2(&qv[i], pk)), "query {i}");
        }
        Ok(())
    }
}
