//! BM25 over chunks: the keyword half of hybrid search, kept beside the vectors so both
//! rank the same chunks. Words are lower-cased letter and digit runs.

use std::collections::HashMap;

const K1: f32 = 1.2;
const B: f32 = 0.75;

/// Lower-cased words of `text`.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Term counts of one chunk.
#[derive(Clone, Debug, Default)]
pub struct Terms {
    counts: HashMap<String, u32>,
    len: u32,
}

impl Terms {
    pub fn of(text: &str) -> Self {
        let mut counts = HashMap::new();
        let mut len = 0;
        for w in words(text) {
            *counts.entry(w).or_insert(0) += 1;
            len += 1;
        }
        Self { counts, len }
    }
}

/// Document frequencies over every chunk held, updated as chunks come and go.
#[derive(Debug, Default)]
pub struct Stats {
    df: HashMap<String, u32>,
    chunks: u32,
    total_len: u64,
}

impl Stats {
    pub fn add(&mut self, t: &Terms) {
        self.chunks += 1;
        self.total_len += u64::from(t.len);
        for w in t.counts.keys() {
            *self.df.entry(w.clone()).or_insert(0) += 1;
        }
    }

    pub fn remove(&mut self, t: &Terms) {
        self.chunks = self.chunks.saturating_sub(1);
        self.total_len = self.total_len.saturating_sub(u64::from(t.len));
        for w in t.counts.keys() {
            if let Some(n) = self.df.get_mut(w) {
                *n -= 1;
                if *n == 0 {
                    self.df.remove(w);
                }
            }
        }
    }

    /// BM25 score of a chunk for the query words (0 when it has none of them).
    pub fn score(&self, query: &[String], t: &Terms) -> f32 {
        if self.chunks == 0 || t.len == 0 {
            return 0.0;
        }
        let n = self.chunks as f32;
        let avg = self.total_len as f32 / n;
        let mut score = 0.0;
        for w in query {
            let Some(&tf) = t.counts.get(w) else { continue };
            let df = self.df.get(w).copied().unwrap_or(0) as f32;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            let tf = tf as f32;
            score += idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * t.len as f32 / avg));
        }
        score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rarer_and_more_frequent_words_score_higher() {
        let docs = [
            "the cat and the dog",
            "the dog barks at the dog",
            "the weather is nice",
        ];
        let terms: Vec<Terms> = docs.iter().map(|d| Terms::of(d)).collect();
        let mut stats = Stats::default();
        terms.iter().for_each(|t| stats.add(t));
        let q: Vec<String> = words("Dog!").collect();
        let s: Vec<f32> = terms.iter().map(|t| stats.score(&q, t)).collect();
        assert!(s[1] > s[0] && s[0] > 0.0 && s[2] == 0.0, "{s:?}");
        // "cat" is in one chunk, "the" in all: cat weighs more.
        let cat = stats.score(&["cat".into()], &terms[0]);
        let the = stats.score(&["the".into()], &terms[0]);
        assert!(cat > the);
        stats.remove(&terms[0]);
        assert_eq!(stats.score(&["cat".into()], &terms[1]), 0.0);
        assert!(!stats.df.contains_key("cat"));
    }
}
