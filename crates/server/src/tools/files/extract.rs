//! Text out of office documents and PDFs, in-process with Rust crates (no Python, no external
//! service): PDF with `lopdf` (page by page, so a page range costs only those pages), Word and
//! OpenDocument text/presentations by reading their XML parts from the zip with `quick-xml`,
//! spreadsheets (XLSX, XLS, ODS) with `calamine`. Also decodes text files in their charset.

use std::io::{Cursor, Read};

use calamine::Reader;
use quick_xml::events::Event;

/// A document format we can turn into text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocKind {
    Pdf,
    Docx,
    Pptx,
    /// OpenDocument text or presentation (`content.xml`).
    OpenDocument,
    /// XLSX, XLSM, XLS, XLSB or ODS.
    Spreadsheet,
}

impl DocKind {
    /// Which crate or reader does the work, for `parse_processor`.
    pub fn processor(self) -> &'static str {
        match self {
            DocKind::Pdf => "lopdf",
            DocKind::Docx | DocKind::Pptx => "ooxml (zip + quick-xml)",
            DocKind::OpenDocument => "opendocument (zip + quick-xml)",
            DocKind::Spreadsheet => "calamine",
        }
    }
}

/// The document kind of a file, from its MIME type or, failing that, its extension.
pub fn kind_of(content_type: &str, name: &str) -> Option<DocKind> {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let by_mime = match mime.as_str() {
        "application/pdf" => Some(DocKind::Pdf),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
            Some(DocKind::Docx)
        }
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => {
            Some(DocKind::Pptx)
        }
        "application/vnd.oasis.opendocument.text"
        | "application/vnd.oasis.opendocument.presentation" => Some(DocKind::OpenDocument),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        | "application/vnd.ms-excel"
        | "application/vnd.ms-excel.sheet.macroenabled.12"
        | "application/vnd.ms-excel.sheet.binary.macroenabled.12"
        | "application/vnd.oasis.opendocument.spreadsheet" => Some(DocKind::Spreadsheet),
        _ => None,
    };
    by_mime.or_else(|| {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "pdf" => Some(DocKind::Pdf),
            "docx" => Some(DocKind::Docx),
            "pptx" => Some(DocKind::Pptx),
            "odt" | "odp" => Some(DocKind::OpenDocument),
            "xlsx" | "xlsm" | "xls" | "xlsb" | "ods" => Some(DocKind::Spreadsheet),
            _ => None,
        }
    })
}

/// Why a document could not be read; the message is shown to the user.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("the document is damaged or not a {0} file ({1})")]
    Corrupt(&'static str, String),
    #[error("the PDF is password-protected")]
    Encrypted,
    #[error("{arg} is {given}, but the document has {count} page(s)")]
    PageOutOfRange {
        arg: &'static str,
        given: u32,
        count: u32,
    },
}

/// Text pulled out of a document.
#[derive(Debug, Default)]
pub struct Extracted {
    pub text: String,
    /// `text` or `markdown`.
    pub format: &'static str,
    /// Pages in the whole document (PDF only).
    pub page_count: Option<u32>,
    /// The page range actually returned (PDF only).
    pub pages: Option<(u32, u32)>,
}

/// Largest decompressed content stream per PDF page: a small file cannot inflate without bound.
const PDF_PAGE_LIMIT: usize = 64 * 1024 * 1024;
/// Largest XML part read from an office zip, for the same reason.
const XML_PART_LIMIT: u64 = 64 * 1024 * 1024;

/// Extracts the text of `bytes`. `pages` (1-based, inclusive; either end optional) selects
/// PDF pages and is ignored for other kinds.
pub fn extract(
    kind: DocKind,
    bytes: &[u8],
    pages: (Option<u32>, Option<u32>),
) -> Result<Extracted, ExtractError> {
    match kind {
        DocKind::Pdf => pdf(bytes, pages),
        DocKind::Docx => Ok(plain(ooxml(bytes, "DOCX", &["word/document.xml"], b"w")?)),
        DocKind::Pptx => {
            let parts = slide_parts(bytes)?;
            let names: Vec<&str> = parts.iter().map(String::as_str).collect();
            Ok(plain(ooxml(bytes, "PPTX", &names, b"a")?))
        }
        DocKind::OpenDocument => Ok(plain(opendocument(bytes)?)),
        DocKind::Spreadsheet => spreadsheet(bytes),
    }
}

fn plain(text: String) -> Extracted {
    Extracted {
        text,
        format: "text",
        ..Default::default()
    }
}

fn pdf(bytes: &[u8], pages: (Option<u32>, Option<u32>)) -> Result<Extracted, ExtractError> {
    let doc = lopdf::Document::load_mem(bytes)
        .map_err(|e| ExtractError::Corrupt("PDF", e.to_string()))?;
    if doc.is_encrypted() {
        return Err(ExtractError::Encrypted);
    }
    let numbers: Vec<u32> = doc.get_pages().keys().copied().collect();
    let count = numbers.len() as u32;
    let start = pages.0.unwrap_or(1);
    let end = pages.1.unwrap_or(count).min(count);
    if count > 0 && start > count {
        return Err(ExtractError::PageOutOfRange {
            arg: "page_start",
            given: start,
            count,
        });
    }
    let mut text = String::new();
    for n in numbers
        .iter()
        .copied()
        .filter(|n| (start..=end).contains(n))
    {
        let page = doc
            .extract_text_with_limit(&[n], PDF_PAGE_LIMIT)
            .map_err(|e| ExtractError::Corrupt("PDF", format!("page {n}: {e}")))?;
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!("--- Page {n} ---\n"));
        text.push_str(page.trim_end());
        text.push('\n');
    }
    Ok(Extracted {
        text,
        format: "text",
        page_count: Some(count),
        pages: (count > 0).then_some((start, end)),
    })
}

fn open_zip<'a>(
    bytes: &'a [u8],
    what: &'static str,
) -> Result<zip::ZipArchive<Cursor<&'a [u8]>>, ExtractError> {
    zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| ExtractError::Corrupt(what, e.to_string()))
}

fn zip_part(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    what: &'static str,
) -> Result<String, ExtractError> {
    let file = archive
        .by_name(name)
        .map_err(|e| ExtractError::Corrupt(what, format!("{name}: {e}")))?;
    let mut xml = String::new();
    file.take(XML_PART_LIMIT)
        .read_to_string(&mut xml)
        .map_err(|e| ExtractError::Corrupt(what, format!("{name}: {e}")))?;
    Ok(xml)
}

/// The slide parts of a PPTX in slide order (`slide2.xml` before `slide10.xml`).
fn slide_parts(bytes: &[u8]) -> Result<Vec<String>, ExtractError> {
    let archive = open_zip(bytes, "PPTX")?;
    let mut slides: Vec<(u32, String)> = archive
        .file_names()
        .filter_map(|n| {
            let n = n.ok()?;
            let num = n
                .strip_prefix("ppt/slides/slide")?
                .strip_suffix(".xml")?
                .parse()
                .ok()?;
            Some((num, n.to_string()))
        })
        .collect();
    slides.sort();
    Ok(slides.into_iter().map(|(_, n)| n).collect())
}

fn text_of(event: &Event<'_>) -> String {
    match event {
        Event::Text(t) => t.decode().map(|s| s.into_owned()).unwrap_or_default(),
        Event::CData(t) => String::from_utf8_lossy(t).into_owned(),
        Event::GeneralRef(r) => match r.resolve_char_ref() {
            Ok(Some(c)) => c.to_string(),
            _ => r
                .decode()
                .ok()
                .and_then(|name| quick_xml::escape::resolve_predefined_entity(&name))
                .unwrap_or_default()
                .to_string(),
        },
        _ => String::new(),
    }
}

/// Office Open XML text: runs of `<t>` inside paragraphs `<p>` (prefix `w` for Word, `a` for
/// DrawingML slides), with tabs and line breaks kept.
fn ooxml(
    bytes: &[u8],
    what: &'static str,
    parts: &[&str],
    prefix: &[u8],
) -> Result<String, ExtractError> {
    let mut archive = open_zip(bytes, what)?;
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        let xml = zip_part(&mut archive, part, what)?;
        if parts.len() > 1 {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&format!("--- Slide {} ---\n", i + 1));
        }
        let mut reader = quick_xml::Reader::from_str(&xml);
        let mut in_text = false;
        // Tab-stop definitions (`w:tabs`, `a:tabLst`) hold `tab` elements that are not text.
        let mut in_tab_stops = false;
        loop {
            let event = reader
                .read_event()
                .map_err(|e| ExtractError::Corrupt(what, format!("{part}: {e}")))?;
            match &event {
                Event::Start(e) if is(e.name().as_ref(), prefix, b"t") => in_text = true,
                Event::End(e) if is(e.name().as_ref(), prefix, b"t") => in_text = false,
                Event::End(e) if is(e.name().as_ref(), prefix, b"p") => out.push('\n'),
                Event::Start(e)
                    if is(e.name().as_ref(), prefix, b"tabs")
                        || is(e.name().as_ref(), prefix, b"tabLst") =>
                {
                    in_tab_stops = true;
                }
                Event::End(e)
                    if is(e.name().as_ref(), prefix, b"tabs")
                        || is(e.name().as_ref(), prefix, b"tabLst") =>
                {
                    in_tab_stops = false;
                }
                Event::Empty(e) | Event::Start(e) if !in_tab_stops => {
                    let name = e.name();
                    if is(name.as_ref(), prefix, b"tab") {
                        out.push('\t');
                    } else if is(name.as_ref(), prefix, b"br") || is(name.as_ref(), prefix, b"cr") {
                        out.push('\n');
                    }
                }
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) if in_text => {
                    out.push_str(&text_of(&event));
                }
                Event::Eof => break,
                _ => {}
            }
        }
    }
    Ok(tidy(out))
}

fn is(qname: &[u8], prefix: &[u8], local: &[u8]) -> bool {
    qname.len() == prefix.len() + 1 + local.len()
        && qname.starts_with(prefix)
        && qname[prefix.len()] == b':'
        && qname.ends_with(local)
}

/// OpenDocument text and presentations: paragraphs and headings of `content.xml`, with
/// `text:s` (runs of spaces), tabs and line breaks.
fn opendocument(bytes: &[u8]) -> Result<String, ExtractError> {
    const WHAT: &str = "OpenDocument";
    let mut archive = open_zip(bytes, WHAT)?;
    let xml = zip_part(&mut archive, "content.xml", WHAT)?;
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut out = String::new();
    // Text counts only inside the body (not in style definitions).
    let mut in_body = false;
    let mut depth_in_para = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| ExtractError::Corrupt(WHAT, e.to_string()))?;
        match &event {
            Event::Start(e) if e.name().as_ref() == b"office:body" => in_body = true,
            Event::End(e) if e.name().as_ref() == b"office:body" => in_body = false,
            Event::Start(e) if in_body && matches!(e.name().as_ref(), b"text:p" | b"text:h") => {
                depth_in_para += 1;
            }
            Event::End(e) if in_body && matches!(e.name().as_ref(), b"text:p" | b"text:h") => {
                depth_in_para = depth_in_para.saturating_sub(1);
                out.push('\n');
            }
            Event::Empty(e) if in_body => match e.name().as_ref() {
                b"text:s" => {
                    let n = e
                        .try_get_attribute("text:c")
                        .ok()
                        .flatten()
                        .and_then(|a| std::str::from_utf8(&a.value).ok()?.parse::<usize>().ok())
                        .unwrap_or(1);
                    out.push_str(&" ".repeat(n.min(1000)));
                }
                b"text:tab" => out.push('\t'),
                b"text:line-break" => out.push('\n'),
                b"text:p" | b"text:h" => out.push('\n'),
                _ => {}
            },
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_)
                if in_body && depth_in_para > 0 =>
            {
                out.push_str(&text_of(&event));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(tidy(out))
}

/// Every sheet as a Markdown heading and table.
fn spreadsheet(bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| ExtractError::Corrupt("spreadsheet", e.to_string()))?;
    let mut out = String::new();
    for name in book.sheet_names() {
        let range = book
            .worksheet_range(&name)
            .map_err(|e| ExtractError::Corrupt("spreadsheet", format!("sheet {name}: {e}")))?;
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("## {name}\n\n"));
        let mut rows = range.rows().peekable();
        if rows.peek().is_none() {
            out.push_str("(empty)\n");
            continue;
        }
        for (i, row) in rows.enumerate() {
            out.push('|');
            for cell in row {
                let text = cell.to_string().replace('|', "\\|").replace('\n', " ");
                out.push(' ');
                out.push_str(&text);
                out.push_str(" |");
            }
            out.push('\n');
            if i == 0 {
                out.push('|');
                for _ in row {
                    out.push_str(" --- |");
                }
                out.push('\n');
            }
        }
    }
    Ok(Extracted {
        text: out,
        format: "markdown",
        ..Default::default()
    })
}

/// Trims trailing spaces per line and collapses runs of blank lines.
fn tidy(text: String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_matches('\n').to_string() + "\n"
}

/// Text decoded from bytes, and which charset it was decoded from.
pub struct Decoded {
    pub text: String,
    /// The encoding used (`UTF-8`, `windows-1252`, `UTF-16LE`, ...).
    pub charset: &'static str,
    /// True when the declared/assumed charset did not fit and a fallback was used.
    pub guessed: bool,
}

/// Decodes text: a byte-order mark wins, then the `charset` of the content type, then UTF-8;
/// bytes that are not valid UTF-8 without a declared charset are read as Windows-1252 (which
/// maps every byte, and is what "Latin-1" files from Windows usually are).
pub fn decode_text(bytes: &[u8], content_type: &str) -> Decoded {
    let declared = content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| encoding_rs::Encoding::for_label(v.trim().trim_matches('"').as_bytes()))
            .flatten()
    });
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return Decoded {
            text: text.into_owned(),
            charset: enc.name(),
            guessed: false,
        };
    }
    let enc = declared.unwrap_or(encoding_rs::UTF_8);
    if let Some(text) = enc.decode_without_bom_handling_and_without_replacement(bytes) {
        return Decoded {
            text: text.into_owned(),
            charset: enc.name(),
            guessed: false,
        };
    }
    let fallback = if declared.is_some() {
        enc
    } else {
        encoding_rs::WINDOWS_1252
    };
    let (text, _) = fallback.decode_without_bom_handling(bytes);
    Decoded {
        text: text.into_owned(),
        charset: fallback.name(),
        guessed: true,
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary; true if it was cut.
pub fn truncate_at(text: &mut String, max: usize) -> bool {
    if text.len() <= max {
        return false;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_mime_and_extension() {
        assert_eq!(kind_of("application/pdf", "x"), Some(DocKind::Pdf));
        assert_eq!(
            kind_of("application/octet-stream", "Report.DOCX"),
            Some(DocKind::Docx)
        );
        assert_eq!(
            kind_of("application/vnd.oasis.opendocument.spreadsheet", "a"),
            Some(DocKind::Spreadsheet)
        );
        assert_eq!(kind_of("text/plain", "a.txt"), None);
    }

    #[test]
    fn charsets() {
        let latin1 = b"caf\xe9";
        let d = decode_text(latin1, "text/plain; charset=ISO-8859-1");
        assert_eq!(d.text, "café");
        assert!(!d.guessed);
        let d = decode_text(latin1, "text/plain");
        assert_eq!(d.text, "café");
        assert!(d.guessed);
        let utf16 = [0xFF, 0xFE, b'h', 0, b'i', 0];
        assert_eq!(decode_text(&utf16, "text/plain").text, "hi");
        let d = decode_text("naïve".as_bytes(), "text/plain");
        assert_eq!((d.text.as_str(), d.charset), ("naïve", "UTF-8"));
        let mut s = "aé".to_string();
        assert!(truncate_at(&mut s, 2));
        assert_eq!(s, "a");
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let e = extract(DocKind::Docx, b"not a zip", (None, None)).unwrap_err();
        assert!(e.to_string().contains("DOCX"), "{e}");
        let e = extract(DocKind::Pdf, b"%PDF-1.4 nonsense", (None, None)).unwrap_err();
        assert!(e.to_string().contains("PDF"), "{e}");
    }
}
