//! Semantic search's vectors on disk (`vectors.bin` in the user's index folder, beside the
//! keyword index), so a restart does not embed every document again: embedding is the costly
//! part of semantic search (minutes of CPU for a large corpus with the embedded model).
//!
//! A document's vectors are reused only for the same version of it (its change marker), the
//! same content (a digest of title and text), the same chunks and the same model
//! ([`super::Embedder::id`], recorded in the header with the chunking and the dimension).
//! The file is written whole and atomically (temporary file renamed over the old one),
//! owner-only. Anything unexpected in it (truncated, altered, another format, model or
//! chunking) makes the whole file ignored: its documents are embedded again.
//!
//! Layout, integers little-endian:
//!
//! ```text
//! "NCMCPVEC" u32 format
//! str model  str chunking  u32 dimension  u32 documents
//! per document: str kind  str id  str version  [16] digest  u32 chunks
//!               per chunk: u32 start  u32 end  dimension × f32
//! [16] SHA-256 of everything before
//! ```
//!
//! where `str` is a u32 byte length then UTF-8.

use sha2::{Digest, Sha256};

use super::chunk::{MAX_CHARS, OVERLAP_CHARS, Span};

const MAGIC: &[u8; 8] = b"NCMCPVEC";
const FORMAT: u32 = 1;
const CHECKSUM: usize = 16;

/// How documents are cut and what is embedded per chunk: vectors made otherwise are not
/// reused. Bump the version when `chunk::chunks` or `passage` changes.
pub(super) fn chunking() -> String {
    format!("chunks:{MAX_CHARS}:{OVERLAP_CHARS}:title-then-text:1")
}

/// A document's vectors as read back.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct StoredDoc {
    pub version: String,
    pub digest: [u8; 16],
    pub chunks: Vec<(Span, Vec<f32>)>,
}

/// What identifies a document's content: a digest of its title and text.
pub(super) fn digest(title: &str, text: &str) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update((title.len() as u64).to_le_bytes());
    h.update(title.as_bytes());
    h.update(text.as_bytes());
    let mut out = [0; 16];
    out.copy_from_slice(&h.finalize()[..16]);
    out
}

/// Builds the file in memory.
pub(super) struct Writer {
    buf: Vec<u8>,
    dims: usize,
    count: u32,
    count_at: usize,
}

impl Writer {
    pub fn new(model: &str, dims: usize) -> Self {
        let mut buf = Vec::new();
        buf.extend_from_slice(MAGIC);
        put_u32(&mut buf, FORMAT);
        put_str(&mut buf, model);
        put_str(&mut buf, &chunking());
        put_u32(&mut buf, dims as u32);
        let count_at = buf.len();
        put_u32(&mut buf, 0);
        Self {
            buf,
            dims,
            count: 0,
            count_at,
        }
    }

    /// Adds a document; left out (returns false) when a vector has another dimension.
    pub fn doc<'a>(
        &mut self,
        kind: &str,
        id: &str,
        version: &str,
        digest: &[u8; 16],
        chunks: impl ExactSizeIterator<Item = (Span, &'a [f32])> + Clone,
    ) -> bool {
        if chunks.clone().any(|(_, v)| v.len() != self.dims) {
            return false;
        }
        put_str(&mut self.buf, kind);
        put_str(&mut self.buf, id);
        put_str(&mut self.buf, version);
        self.buf.extend_from_slice(digest);
        put_u32(&mut self.buf, chunks.len() as u32);
        for (span, vector) in chunks {
            put_u32(&mut self.buf, span.start as u32);
            put_u32(&mut self.buf, span.end as u32);
            for x in vector {
                self.buf.extend_from_slice(&x.to_le_bytes());
            }
        }
        self.count += 1;
        true
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.buf[self.count_at..self.count_at + 4].copy_from_slice(&self.count.to_le_bytes());
        let sum = Sha256::digest(&self.buf);
        self.buf.extend_from_slice(&sum[..CHECKSUM]);
        self.buf
    }
}

fn put_u32(buf: &mut Vec<u8>, n: u32) {
    buf.extend_from_slice(&n.to_le_bytes());
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_u32(buf, s.len() as u32);
    buf.extend_from_slice(s.as_bytes());
}

/// A file's dimension and its documents: (kind, id, vectors).
pub(super) type Decoded = (usize, Vec<(String, String, StoredDoc)>);

/// Reads a file written for `model` with today's chunking; `Err` says why it cannot be used.
pub(super) fn decode(bytes: &[u8], model: &str) -> Result<Decoded, String> {
    let Some(body_len) = bytes.len().checked_sub(CHECKSUM) else {
        return Err("truncated".into());
    };
    let (body, sum) = bytes.split_at(body_len);
    if Sha256::digest(body)[..CHECKSUM] != *sum {
        return Err("damaged (checksum)".into());
    }
    let mut r = Reader { bytes: body };
    if r.take(MAGIC.len())? != MAGIC {
        return Err("not a vectors file".into());
    }
    let format = r.u32()?;
    if format != FORMAT {
        return Err(format!("format {format}, this server reads {FORMAT}"));
    }
    if r.str()? != model {
        return Err("made by another embedding model".into());
    }
    if r.str()? != chunking() {
        return Err("made with another chunking".into());
    }
    let dims = r.u32()? as usize;
    if dims == 0 {
        return Err("zero dimension".into());
    }
    let count = r.u32()? as usize;
    let mut docs = Vec::with_capacity(count.min(r.bytes.len() / 16));
    for _ in 0..count {
        let kind = r.str()?.to_string();
        let id = r.str()?.to_string();
        let version = r.str()?.to_string();
        let mut digest = [0; 16];
        digest.copy_from_slice(r.take(16)?);
        let chunks = r.u32()? as usize;
        let per_chunk = 8 + 4 * dims;
        if chunks.saturating_mul(per_chunk) > r.bytes.len() {
            return Err("truncated".into());
        }
        let mut read = Vec::with_capacity(chunks);
        for _ in 0..chunks {
            let start = r.u32()? as usize;
            let end = r.u32()? as usize;
            if end < start {
                return Err("a chunk ends before it starts".into());
            }
            let vector = r
                .take(4 * dims)?
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            read.push((Span { start, end }, vector));
        }
        docs.push((
            kind,
            id,
            StoredDoc {
                version,
                digest,
                chunks: read,
            },
        ));
    }
    if !r.bytes.is_empty() {
        return Err("trailing bytes".into());
    }
    Ok((dims, docs))
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.bytes.len() {
            return Err("truncated".into());
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn str(&mut self) -> Result<&'a str, String> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).map_err(|_| "not UTF-8".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut w = Writer::new("endpoint:m", 2);
        let v1 = [0.6f32, 0.8];
        let v2 = [1.0f32, 0.0];
        assert!(
            w.doc(
                "notes",
                "1",
                "etag-1",
                &digest("T", "text"),
                [
                    (Span { start: 0, end: 4 }, &v1[..]),
                    (Span { start: 2, end: 4 }, &v2[..])
                ]
                .into_iter(),
            )
        );
        // Another dimension: left out.
        assert!(!w.doc(
            "notes",
            "2",
            "e",
            &[0; 16],
            [(Span { start: 0, end: 1 }, &[1.0f32][..])].into_iter(),
        ));
        w.finish()
    }

    #[test]
    fn round_trips_and_rejects_what_does_not_match() {
        let bytes = sample();
        let (dims, docs) = decode(&bytes, "endpoint:m").unwrap();
        assert_eq!(dims, 2);
        assert_eq!(docs.len(), 1);
        let (kind, id, doc) = &docs[0];
        assert_eq!((kind.as_str(), id.as_str()), ("notes", "1"));
        assert_eq!(doc.version, "etag-1");
        assert_eq!(doc.digest, digest("T", "text"));
        assert_eq!(doc.chunks[1], (Span { start: 2, end: 4 }, vec![1.0, 0.0]));
        // Another model: not reused.
        assert!(decode(&bytes, "endpoint:other").is_err());
        // Every truncation and every flipped byte is caught, never a panic.
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n], "endpoint:m").is_err(), "cut at {n}");
            let mut bad = bytes.clone();
            bad[n] ^= 0x40;
            assert!(decode(&bad, "endpoint:m").is_err(), "byte {n}");
        }
        assert!(decode(b"", "endpoint:m").is_err());
    }

    #[test]
    fn a_lying_header_is_refused_without_allocating_it() {
        // A well-formed checksum over a header claiming huge counts.
        let mut body = Vec::new();
        body.extend_from_slice(MAGIC);
        put_u32(&mut body, FORMAT);
        put_str(&mut body, "m");
        put_str(&mut body, &chunking());
        put_u32(&mut body, 384);
        put_u32(&mut body, u32::MAX);
        put_str(&mut body, "notes");
        put_str(&mut body, "1");
        put_str(&mut body, "v");
        body.extend_from_slice(&[0; 16]);
        put_u32(&mut body, u32::MAX);
        let sum = Sha256::digest(&body);
        body.extend_from_slice(&sum[..CHECKSUM]);
        assert_eq!(decode(&body, "m").unwrap_err(), "truncated");
    }
}
