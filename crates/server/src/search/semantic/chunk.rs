//! Splitting a document's text into overlapping chunks for embedding.
//!
//! Text is cut into sentences (and paragraphs, which always end one); sentences are packed
//! into chunks of at most [`MAX_CHARS`], and each chunk after the first repeats the last
//! sentences of the one before, up to about [`OVERLAP_CHARS`], so a passage straddling a cut
//! is still whole in one chunk. A sentence longer than a chunk is cut at spaces. Chunks are
//! byte ranges of the text (on character boundaries), so an answer can quote around a hit.

/// Most characters of a chunk: the embedded model (MiniLM) reads at most 256 word pieces,
/// about a thousand characters of English.
pub const MAX_CHARS: usize = 800;
/// About how much of the previous chunk the next one repeats.
pub const OVERLAP_CHARS: usize = 150;

/// Byte range of one chunk within the document's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// The chunks of `text`, in order; none for blank text.
pub fn chunks(text: &str) -> Vec<Span> {
    chunks_with(text, MAX_CHARS, OVERLAP_CHARS)
}

pub fn chunks_with(text: &str, max: usize, overlap: usize) -> Vec<Span> {
    let units = units(text, max);
    let mut out = Vec::new();
    let mut first = 0;
    while first < units.len() {
        let start = units[first].start;
        let mut last = first;
        while last + 1 < units.len() && chars(text, start, units[last + 1].end) <= max {
            last += 1;
        }
        let end = units[last].end;
        out.push(Span { start, end });
        if last + 1 >= units.len() {
            break;
        }
        // The next chunk starts with the last sentences of this one that fit in the overlap,
        // but always moves on by at least one sentence.
        let mut next = last + 1;
        while next > first + 1 && chars(text, units[next - 1].start, end) <= overlap {
            next -= 1;
        }
        first = next;
    }
    out
}

fn chars(text: &str, start: usize, end: usize) -> usize {
    text[start..end].chars().count()
}

/// Sentences (trimmed byte ranges), none longer than `max` characters.
fn units(text: &str, max: usize) -> Vec<Span> {
    let mut raw = Vec::new();
    let mut start = 0;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let next = iter.peek().map(|&(_, n)| n);
        let ends_sentence =
            matches!(c, '.' | '!' | '?' | '。') && next.is_none_or(char::is_whitespace);
        let ends_paragraph = c == '\n' && next == Some('\n');
        let ends_line_item = c == '\n' && next.is_some_and(|n| matches!(n, '-' | '*' | '#'));
        if ends_sentence || ends_paragraph || ends_line_item {
            let end = i + c.len_utf8();
            raw.push(Span { start, end });
            start = end;
        }
    }
    raw.push(Span {
        start,
        end: text.len(),
    });
    let mut out = Vec::new();
    for span in raw {
        let Some(span) = trim(text, span) else {
            continue;
        };
        split_long(text, span, max, &mut out);
    }
    out
}

fn trim(text: &str, span: Span) -> Option<Span> {
    let s = &text[span.start..span.end];
    let lead = s.len() - s.trim_start().len();
    let trimmed = s.trim();
    (!trimmed.is_empty()).then(|| Span {
        start: span.start + lead,
        end: span.start + lead + trimmed.len(),
    })
}

/// Cuts a sentence longer than `max` characters at the last space before the limit (or at
/// the limit, for text without spaces).
fn split_long(text: &str, mut span: Span, max: usize, out: &mut Vec<Span>) {
    while chars(text, span.start, span.end) > max {
        let piece = &text[span.start..span.end];
        let limit = piece
            .char_indices()
            .nth(max)
            .map_or(piece.len(), |(i, _)| i);
        let cut = piece[..limit]
            .rfind(char::is_whitespace)
            .filter(|&c| c > 0)
            .unwrap_or(limit);
        if let Some(head) = trim(
            text,
            Span {
                start: span.start,
                end: span.start + cut,
            },
        ) {
            out.push(head);
        }
        match trim(
            text,
            Span {
                start: span.start + cut,
                end: span.end,
            },
        ) {
            Some(rest) => span = rest,
            None => return,
        }
    }
    out.push(span);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(text: &'a str, spans: &[Span]) -> Vec<&'a str> {
        spans.iter().map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn short_text_is_one_chunk_and_blank_text_none() {
        let text = "  A cat sat on the mat. It purred.  ";
        assert_eq!(
            texts(text, &chunks(text)),
            ["A cat sat on the mat. It purred."]
        );
        assert!(chunks(" \n\n ").is_empty());
        assert!(chunks("").is_empty());
    }

    #[test]
    fn chunks_respect_the_size_and_overlap_by_whole_sentences() {
        let text = "One two three. Four five six. Seven eight nine. Ten eleven twelve.";
        let spans = chunks_with(text, 32, 16);
        let got = texts(text, &spans);
        assert_eq!(
            got,
            [
                "One two three. Four five six.",
                "Four five six. Seven eight nine.",
                "Ten eleven twelve."
            ]
        );
        for s in &got {
            assert!(s.chars().count() <= 32, "{s}");
        }
        // Every sentence is in some chunk, and consecutive chunks share a sentence.
        for sentence in [
            "One two three.",
            "Four five six.",
            "Seven eight nine.",
            "Ten eleven twelve.",
        ] {
            assert!(got.iter().any(|c| c.contains(sentence)), "{sentence}");
        }
        assert!(got[1].starts_with("Four five six."));
    }

    #[test]
    fn paragraphs_end_sentences_and_long_sentences_are_cut_at_spaces() {
        let text = "Heading without stop\n\nalpha beta gamma delta epsilon zeta eta theta";
        let spans = chunks_with(text, 20, 0);
        let got = texts(text, &spans);
        assert_eq!(got[0], "Heading without stop");
        for s in &got {
            assert!(s.chars().count() <= 20, "{s}");
            assert!(!s.starts_with(' ') && !s.ends_with(' '));
        }
        assert_eq!(got.join(" ").split_whitespace().count(), 11);
    }

    #[test]
    fn offsets_are_on_character_boundaries() {
        let text = "Ünïcödé wörds everywhere. ".repeat(40) + "日本語のテキスト。もう一つ。";
        let spans = chunks_with(&text, 50, 20);
        assert!(spans.len() > 10);
        for s in spans {
            assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
            assert!(s.start < s.end);
        }
        let no_spaces = "x".repeat(130);
        let spans = chunks_with(&no_spaces, 50, 0);
        assert_eq!(
            spans.iter().map(|s| s.end - s.start).collect::<Vec<_>>(),
            [50, 50, 30]
        );
    }
}
