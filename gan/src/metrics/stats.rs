//! Summaries of repeated runs: every lab reports mean ± spread over seeds with these.

/// Mean and standard error (sample standard deviation / √n) of a few runs; the error is 0 for one.
pub fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (m, 0.0);
    }
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// Mean and sample standard deviation of a few runs; the deviation is 0 for one.
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let (m, se) = mean_se(v);
    (m, se * (v.len() as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_standard_error_of_a_few_runs() {
        // mean 2, sample variance ((1 + 0 + 1) / 2) = 1, s.e. = 1/√3
        let (m, se) = mean_se(&[1.0, 2.0, 3.0]);
        assert!((m - 2.0).abs() < 1e-15 && (se - 1.0 / 3f64.sqrt()).abs() < 1e-15);
        assert_eq!(mean_se(&[4.0]), (4.0, 0.0));
        assert!(mean_se(&[]).0.is_nan());
        let (m, sd) = mean_std(&[1.0, 2.0, 3.0]);
        assert!((m - 2.0).abs() < 1e-15 && (sd - 1.0).abs() < 1e-15);
        assert_eq!(mean_std(&[4.0]), (4.0, 0.0));
    }
}
