//! The area under the ROC curve: the probability that a randomly chosen positive scores above a
//! randomly chosen negative, ties counting one half — the Mann–Whitney `U` divided by `n₊ n₋`,
//! computed from mid-ranks.

/// AUC of `scores` for the labels `positive` (higher score = more likely positive); `None`
/// without both classes or with a non-finite score.
pub fn auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    if scores.len() != positive.len() || scores.iter().any(|s| !s.is_finite()) {
        return None;
    }
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the positives' mid-ranks (1-based).
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += mid * order[i..=j].iter().filter(|&&k| positive[k]).count() as f64;
        i = j + 1;
    }
    let u = rank_sum - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos as f64 * n_neg as f64))
}

#[cfg(test)]
mod tests {
    use super::auc;

    #[test]
    fn hand_computed() {
        // Positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of 4 pairs ordered right.
        assert_eq!(auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]), Some(0.75));
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]), Some(1.0));
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]), Some(0.0));
    }

    #[test]
    fn ties_count_one_half() {
        // The positive at 0.5 ties both negatives (½ + ½), the one at 0.9 beats both: 3 of 4.
        assert_eq!(auc(&[0.5, 0.5, 0.5, 0.9], &[true, false, false, true]), Some(0.75));
        assert_eq!(auc(&[1.0; 5], &[true, false, true, false, false]), Some(0.5));
    }

    #[test]
    fn needs_both_classes_and_finite_scores() {
        assert_eq!(auc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(auc(&[f64::NAN, 0.2], &[true, false]), None);
    }
}
