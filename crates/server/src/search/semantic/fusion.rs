//! Fusing a keyword ranking and a vector ranking into one.
//!
//! - RRF (reciprocal rank fusion) uses ranks only: `Σ 1 / (k + rank)` over the lists a result
//!   is in (rank from 1, `k` = 60). Robust when the two scores are on unrelated scales.
//! - DBSF (distribution-based score fusion) uses the scores: each list's scores are mapped to
//!   0..1 between `mean - 3σ` and `mean + 3σ` of that list (clamped), then summed. A list of one
//!   result, or of equal scores, maps them all to 0.5.

use std::collections::HashMap;
use std::hash::Hash;

/// RRF's rank offset: damps the weight of the very first places.
pub const RRF_K: f32 = 60.0;

/// Reciprocal rank fusion of rankings (each best first). Best fused result first; ties keep
/// the order in which results were first seen.
pub fn rrf<K: Clone + Eq + Hash>(rankings: &[Vec<K>]) -> Vec<(K, f32)> {
    let mut fused: Vec<(K, f32)> = Vec::new();
    let mut at: HashMap<K, usize> = HashMap::new();
    for ranking in rankings {
        for (i, key) in ranking.iter().enumerate() {
            let add = 1.0 / (RRF_K + i as f32 + 1.0);
            match at.get(key) {
                Some(&slot) => fused[slot].1 += add,
                None => {
                    at.insert(key.clone(), fused.len());
                    fused.push((key.clone(), add));
                }
            }
        }
    }
    sort_desc(&mut fused);
    fused
}

/// Distribution-based score fusion of scored lists (any order). Best fused result first.
pub fn dbsf<K: Clone + Eq + Hash>(lists: &[Vec<(K, f32)>]) -> Vec<(K, f32)> {
    let mut fused: Vec<(K, f32)> = Vec::new();
    let mut at: HashMap<K, usize> = HashMap::new();
    for list in lists {
        if list.is_empty() {
            continue;
        }
        let n = list.len() as f32;
        let mean = list.iter().map(|(_, s)| s).sum::<f32>() / n;
        let sd = (list.iter().map(|(_, s)| (s - mean).powi(2)).sum::<f32>() / n).sqrt();
        let (low, high) = (mean - 3.0 * sd, mean + 3.0 * sd);
        for (key, score) in list {
            let normalised = if high > low {
                ((score - low) / (high - low)).clamp(0.0, 1.0)
            } else {
                0.5
            };
            match at.get(key) {
                Some(&slot) => fused[slot].1 += normalised,
                None => {
                    at.insert(key.clone(), fused.len());
                    fused.push((key.clone(), normalised));
                }
            }
        }
    }
    sort_desc(&mut fused);
    fused
}

fn sort_desc<K>(v: &mut [(K, f32)]) {
    // Stable, so equal scores keep first-seen order.
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrf_rewards_agreement_and_uses_ranks_only() {
        let keyword = vec!["a", "b", "c"];
        let vector = vec!["c", "b", "d"];
        let fused = rrf(&[keyword, vector]);
        let keys: Vec<&str> = fused.iter().map(|(k, _)| *k).collect();
        // b: 1/62 + 1/62; c: 1/63 + 1/61; a: 1/61; d: 1/63.
        assert_eq!(keys, ["c", "b", "a", "d"]);
        assert!((fused[1].1 - 2.0 / 62.0).abs() < 1e-6);
        assert!((fused[2].1 - 1.0 / 61.0).abs() < 1e-6);
    }

    #[test]
    fn rrf_of_one_list_keeps_its_order() {
        let fused = rrf(&[vec![3, 1, 2], vec![]]);
        assert_eq!(fused.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [3, 1, 2]);
    }

    #[test]
    fn dbsf_normalises_each_list_before_summing() {
        // Keyword scores are large (BM25), vector scores small (cosine): without normalising,
        // the keyword list would decide alone.
        let keyword = vec![("a", 12.0), ("b", 11.0), ("c", 1.0)];
        let vector = vec![("c", 0.9), ("b", 0.5), ("a", 0.1)];
        let fused = dbsf(&[keyword, vector]);
        for (_, s) in &fused {
            assert!((0.0..=2.0).contains(s));
        }
        let score = |k: &str| fused.iter().find(|(x, _)| *x == k).unwrap().1;
        // b is good in both, so it beats a (best keyword, worst vector).
        assert!(score("b") > score("a"));
        // Symmetric scales: a and c each top one list and bottom the other.
        assert!(score("c") > score("a") - 0.2);
    }

    #[test]
    fn dbsf_of_equal_scores_is_a_half_each() {
        let fused = dbsf(&[vec![("x", 3.0)], vec![("x", 3.0), ("y", 3.0)]]);
        assert_eq!(fused[0], ("x", 1.0));
        assert_eq!(fused[1], ("y", 0.5));
    }

    #[test]
    fn dbsf_clamps_outliers() {
        let mut list: Vec<(u32, f32)> = (0..20).map(|i| (i, 1.0)).collect();
        list.push((99, 1000.0));
        let fused = dbsf(&[list]);
        assert_eq!(fused[0].0, 99);
        assert!(fused[0].1 <= 1.0 && fused.last().unwrap().1 >= 0.0);
    }
}
