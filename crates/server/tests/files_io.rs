//! Reading and writing file content through MCP: text in any charset, text extracted from real
//! documents (PDF, DOCX, ODT, XLSX, ODS) built here, base64 and size caps, streaming a 1 GB
//! download with flat memory, chunked upload v2 with ETag guards and progress notifications.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine;
use common::*;
use nextcloud::files::WriteMode;
use nextcloud_mcp::config::FileSettings;
use rmcp::handler::client::ClientHandler;
use rmcp::model::{CallToolRequestParams, ProgressNotificationParam};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

const MB: u64 = 1024 * 1024;

/// A server with these file limits, over streamable HTTP.
async fn client_with(nc: &TestNextcloud, files: FileSettings) -> Client {
    let server = nc.server(&Default::default()).with_file_settings(files);
    let url = spawn_http(server, &Default::default()).await;
    connect_http(&url, Transport::HttpSession, None).await
}

async fn setup(test: &str) -> (TestNextcloud, String) {
    let nc = TestNextcloud::start().await;
    let base = unique_category(test);
    assert!(nc.direct().files().mkcol(&base).await.expect("mkcol"));
    (nc, base)
}

async fn put(nc: &TestNextcloud, path: &str, bytes: Vec<u8>) {
    nc.direct()
        .files()
        .upload(path, bytes.into(), None, WriteMode::Overwrite)
        .await
        .expect("upload");
}

async fn cleanup(nc: &TestNextcloud, base: &str) {
    let _ = nc.direct().files().delete(base).await;
}

fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    for (name, content) in entries {
        // The mimetype entry of OpenDocument files must be first and stored.
        let method = if *name == "mimetype" {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        };
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        zip.start_file(*name, options).expect("zip entry");
        zip.write_all(content.as_bytes()).expect("zip write");
    }
    zip.finish().expect("zip finish");
    out.into_inner()
}

fn docx() -> Vec<u8> {
    zip_of(&[
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#,
        ),
        (
            "word/document.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr><w:r><w:t>Quarterly report</w:t></w:r></w:p><w:p><w:r><w:t xml:space="preserve">Revenue grew </w:t></w:r><w:r><w:t>12 % &amp; costs fell.</w:t></w:r></w:p><w:p><w:r><w:t>Name</w:t></w:r><w:r><w:tab/><w:t>Zoë</w:t></w:r></w:p></w:body></w:document>"#,
        ),
    ])
}

fn odt() -> Vec<u8> {
    zip_of(&[
        ("mimetype", "application/vnd.oasis.opendocument.text"),
        (
            "META-INF/manifest.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#,
        ),
        (
            "content.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3"><office:automatic-styles/><office:body><office:text><text:h text:outline-level="1">Meeting notes</text:h><text:p>Decided:<text:s text:c="2"/>ship it<text:tab/>Friday</text:p><text:p>Owner: <text:span>Åsa</text:span></text:p></office:text></office:body></office:document-content>"#,
        ),
    ])
}

fn xlsx() -> Vec<u8> {
    zip_of(&[
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Budget" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
        (
            "xl/worksheets/sheet1.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Item</t></is></c><c r="B1" t="inlineStr"><is><t>Cost</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>Laptop</t></is></c><c r="B2"><v>1299.5</v></c></row><row r="3"><c r="A3" t="inlineStr"><is><t>Desk</t></is></c><c r="B3"><v>340</v></c></row></sheetData></worksheet>"#,
        ),
    ])
}

fn ods() -> Vec<u8> {
    zip_of(&[
        ("mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
        (
            "META-INF/manifest.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#,
        ),
        (
            "content.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3"><office:body><office:spreadsheet><table:table table:name="Plants"><table:table-row><table:table-cell office:value-type="string"><text:p>Species</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>Count</text:p></table:table-cell></table:table-row><table:table-row><table:table-cell office:value-type="string"><text:p>Fern</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="7"><text:p>7</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#,
        ),
    ])
}

/// A real PDF with one line of text on each page, made with lopdf.
fn pdf(pages: &[&str]) -> Vec<u8> {
    use lopdf::content::{Content, Operation};
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font_id },
    });
    let mut kids = Vec::new();
    for text in pages {
        let content = Content {
            operations: vec![
                Operation::new("BT", vec![]),
                Operation::new("Tf", vec!["F1".into(), 24.into()]),
                Operation::new("Td", vec![72.into(), 700.into()]),
                Operation::new("Tj", vec![Object::string_literal(*text)]),
                Operation::new("ET", vec![]),
            ],
        };
        let content_id = doc.add_object(Stream::new(
            dictionary! {},
            content.encode().expect("content"),
        ));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content_id,
        });
        kids.push(page_id.into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! {
        "Type" => "Catalog",
        "Pages" => pages_id,
    });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("save pdf");
    out
}

fn content(v: &Value) -> &str {
    v["content"]
        .as_str()
        .unwrap_or_else(|| panic!("no content: {v}"))
}

#[tokio::test]
async fn documents_come_back_as_their_text() {
    let (nc, base) = setup("docs").await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    put(&nc, &format!("{base}/report.docx"), docx()).await;
    put(&nc, &format!("{base}/notes.odt"), odt()).await;
    put(&nc, &format!("{base}/budget.xlsx"), xlsx()).await;
    put(&nc, &format!("{base}/plants.ods"), ods()).await;
    put(
        &nc,
        &format!("{base}/book.pdf"),
        pdf(&["Alpha chapter", "Beta chapter", "Gamma chapter"]),
    )
    .await;

    let r = call_ok(
        &client,
        "nc_webdav_read_file",
        json!({"path": format!("{base}/report.docx")}),
    )
    .await;
    assert_eq!(r["parsed"], true);
    assert_eq!(r["parse_status"], "success");
    assert_eq!(r["encoding"], "utf-8");
    assert!(r["etag"].as_str().is_some());
    assert_eq!(
        content(&r),
        "Quarterly report\nRevenue grew 12 % & costs fell.\nName\tZoë\n"
    );

    let r = call_ok(
        &client,
        "nc_webdav_read_file",
        json!({"path": format!("{base}/notes.odt")}),
    )
    .await;
    assert_eq!(r["parsed"], true);
    assert_eq!(
        content(&r),
        "Meeting notes\nDecided:  ship it\tFriday\nOwner: Åsa\n"
    );

    let r = call_ok(
        &client,
        "nc_webdav_read_file",
        json!({"path": format!("{base}/budget.xlsx")}),
    )
    .await;
    assert_eq!(r["content_format"], "markdown");
    assert_eq!(r["parse_processor"], "calamine");
    let text = content(&r);
    assert!(text.starts_with("## Budget\n"), "{text}");
    assert!(text.contains("| Item | Cost |"), "{text}");
    assert!(text.contains("| Laptop | 1299.5 |"), "{text}");
    assert!(text.contains("| Desk | 340 |"), "{text}");

    let r = call_ok(
        &client,
        "nc_webdav_read_file",
        json!({"path": format!("{base}/plants.ods")}),
    )
    .await;
    let text = content(&r);
    assert!(text.starts_with("## Plants\n"), "{text}");
    assert!(text.contains("| Fern | 7 |"), "{text}");

    // PDF: every page, then a page range, then a range past the end.
    let pdf_path = format!("{base}/book.pdf");
    let r = call_ok(&client, "nc_webdav_read_file", json!({"path": pdf_path})).await;
    assert_eq!(r["page_count"], 3);
    assert_eq!(
        (r["page_start"].clone(), r["page_end"].clone()),
        (json!(1), json!(3))
    );
    let text = content(&r);
    for word in ["Alpha chapter", "Beta chapter", "Gamma chapter"] {
        assert!(text.contains(word), "{word} missing from {text}");
    }
    let r = call_ok(
        &client,
        "nc_webdav_read_file",
        json!({"path": pdf_path, "page_start": 2, "page_end": 2}),
    )
    .await;
    let text = content(&r);
    assert!(text.contains("Beta chapter"), "{text}");
    assert!(!text.contains("Alpha") && !text.contains("Gamma"), "{text}");
    assert_eq!(
        (r["page_start"].clone(), r["page_end"].clone()),
        (json!(2), json!(2))
    );
    let e = call_err(
        &client,
        "nc_webdav_read_file",
        json!({"path": pdf_path, "page_start": 9}),
    )
    .await;
    assert!(e.contains("page_start") && e.contains("3 page"), "{e}");
    let e = call_err(
        &client,
        "nc_webdav_read_file",
        json!({"path": pdf_path, "page_start": 3, "page_end": 2}),
    )
    .await;
    assert!(e.contains("page_end"), "{e}");

    // raw: no extraction, the bytes as base64.
    let r = call_ok(
        &client,
        "nc_webdav_read_file",
        json!({"path": pdf_path, "parse_document": "raw"}),
    )
    .await;
    assert_eq!(r["parsed"], false);
    assert_eq!(r["encoding"], "base64");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(content(&r))
        .unwrap();
    assert!(bytes.starts_with(b"%PDF-1.5"));

    // A damaged document: a clear note, and the bytes still come back.
    put(
        &nc,
        &format!("{base}/broken.docx"),
        b"not really a docx".to_vec(),
    )
    .await;
    let r = call_ok(
        &client,
        "nc_webdav_read_file",
        json!({"path": format!("{base}/broken.docx")}),
    )
    .await;
    assert_eq!(r["parse_status"], "failed");
    assert_eq!(r["encoding"], "base64");
    let note = r["message"].as_str().unwrap();
    assert!(
        note.contains("No text could be extracted") && note.contains("DOCX"),
        "{note}"
    );
    cleanup(&nc, &base).await;
}

#[tokio::test]
async fn text_is_decoded_in_its_charset() {
    let (nc, base) = setup("charset").await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    // Windows-1252 / Latin-1 bytes: not UTF-8, so read as Windows-1252, and said so.
    put(
        &nc,
        &format!("{base}/latin1.txt"),
        b"Gr\xfc\xdfe aus K\xf6ln \x80".to_vec(),
    )
    .await;
    let r = call_ok(
        &client,
        "nc_webdav_read_file",
        json!({"path": format!("{base}/latin1.txt")}),
    )
    .await;
    assert_eq!(content(&r), "Grüße aus Köln €");
    assert_eq!(r["encoding"], "utf-8");
    assert!(
        r["message"].as_str().unwrap().contains("windows-1252"),
        "{r}"
    );

    // UTF-16 with a byte-order mark.
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in "naïve ☃".encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    put(&nc, &format!("{base}/utf16.txt"), utf16).await;
    let r = call_ok(
        &client,
        "nc_webdav_read_file",
        json!({"path": format!("{base}/utf16.txt")}),
    )
    .await;
    assert_eq!(content(&r), "naïve ☃");
    assert!(r["message"].as_str().unwrap().contains("UTF-16LE"), "{r}");

    // Plain UTF-8 with a BOM: the BOM is not part of the text, and nothing needs saying.
    put(
        &nc,
        &format!("{base}/bom.md"),
        b"\xEF\xBB\xBF# Titel \xc3\xa4".to_vec(),
    )
    .await;
    let r = call_ok(
        &client,
        "nc_webdav_read_file",
        json!({"path": format!("{base}/bom.md")}),
    )
    .await;
    assert_eq!(content(&r), "# Titel ä");
    assert_eq!(r["message"], Value::Null);
    cleanup(&nc, &base).await;
}

#[tokio::test]
async fn binaries_are_base64_below_the_cap_and_details_above() {
    let (nc, base) = setup("caps").await;
    let client = client_with(
        &nc,
        FileSettings {
            read_max_bytes: 1000,
            document_max_bytes: 1000,
            ..Default::default()
        },
    )
    .await;
    let small: Vec<u8> = (0..=255u8).cycle().take(600).collect();
    put(&nc, &format!("{base}/small.png"), small.clone()).await;
    let r = call_ok(
        &client,
        "nc_webdav_read_file",
        json!({"path": format!("{base}/small.png")}),
    )
    .await;
    assert_eq!(r["encoding"], "base64");
    assert_eq!(r["content_type"], "image/png");
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(content(&r))
            .unwrap(),
        small
    );

    put(&nc, &format!("{base}/big.png"), vec![7u8; 5000]).await;
    let r = call_ok(
        &client,
        "nc_webdav_read_file",
        json!({"path": format!("{base}/big.png")}),
    )
    .await;
    assert_eq!(r["content"], Value::Null);
    assert_eq!(r["size"], 5000);
    assert!(r["etag"].as_str().is_some());
    let note = r["message"].as_str().unwrap();
    assert!(
        note.contains("5000 bytes") && note.contains("WEBDAV_READ_MAX_MB"),
        "{note}"
    );

    // A document over its own cap: details only, and the note names that cap.
    put(&nc, &format!("{base}/long.pdf"), pdf(&["x"; 40])).await;
    let r = call_ok(
        &client,
        "nc_webdav_read_file",
        json!({"path": format!("{base}/long.pdf")}),
    )
    .await;
    assert_eq!(r["content"], Value::Null);
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("WEBDAV_DOCUMENT_MAX_MB"),
        "{r}"
    );

    // Writes over the write cap are refused, naming the argument; nothing is written.
    let client = client_with(
        &nc,
        FileSettings {
            write_max_bytes: 100,
            ..Default::default()
        },
    )
    .await;
    let e = call_err(
        &client,
        "nc_webdav_write_file",
        json!({"path": format!("{base}/w.txt"), "content": "x".repeat(101)}),
    )
    .await;
    assert!(
        e.contains("content") && e.contains("WEBDAV_WRITE_MAX_MB"),
        "{e}"
    );
    assert!(
        nc.direct()
            .files()
            .stat(&format!("{base}/w.txt"))
            .await
            .is_err()
    );
    cleanup(&nc, &base).await;
}

/// Resident set size of this process, from /proc/self/statm.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("rss field");
    pages * 4096
}

#[tokio::test]
async fn a_gigabyte_download_streams_with_flat_memory() {
    let (nc, base) = setup("stream").await;
    let Some(emulator) = nc.emulator() else {
        eprintln!("skipped: needs the emulator to serve a synthetic 1 GB file");
        cleanup(&nc, &base).await;
        return;
    };
    const GB: u64 = 1024 * MB;
    let path = format!("{base}/huge.log");
    assert!(emulator.add_synthetic_file(EMU_USER, &path, GB));
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let before = rss_bytes();

    // The tool: the listing says 1 GB, so only the details come back.
    let r = call_ok(&client, "nc_webdav_read_file", json!({"path": path})).await;
    assert_eq!(r["size"], GB);
    assert_eq!(r["content"], Value::Null);
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("WEBDAV_READ_MAX_MB")
    );

    // The client: a capped read stops at the cap without reading the rest.
    let files = nc.direct();
    let files = files.files();
    let stream = files.open(&path).await.expect("open");
    assert_eq!(stream.size, Some(GB));
    assert!(stream.read_capped(5 * MB).await.expect("read").is_none());

    // And the whole gigabyte streamed through, checked byte for byte at every chunk start.
    let mut stream = files.open(&path).await.expect("open");
    let pattern = nextcloud_emulator::fs::SYNTHETIC_PATTERN;
    let mut seen = 0u64;
    let mut peak = 0u64;
    while let Some(chunk) = stream.chunk().await.expect("chunk") {
        assert_eq!(chunk[0], pattern[(seen % 64) as usize], "at byte {seen}");
        seen += chunk.len() as u64;
        if seen % (64 * MB) < chunk.len() as u64 {
            peak = peak.max(rss_bytes());
        }
    }
    assert_eq!(seen, GB);
    let after = rss_bytes().max(peak);
    let growth = after.saturating_sub(before);
    eprintln!(
        "streamed {} MB; RSS {} MB -> peak {} MB (growth {} MB)",
        GB / MB,
        before / MB,
        after / MB,
        growth / MB
    );
    assert!(
        growth < 200 * MB,
        "memory grew by {} MB while streaming 1 GB",
        growth / MB
    );
    cleanup(&nc, &base).await;
}

/// Records the progress notifications the server sends.
#[derive(Clone, Default)]
struct ProgressRecorder(Arc<Mutex<Vec<ProgressNotificationParam>>>);

impl ClientHandler for ProgressRecorder {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.0.lock().unwrap().push(params);
    }
}

/// Calls a tool; rmcp's client puts a `progressToken` in every request's `_meta`.
async fn call_with_progress(
    client: &RunningService<RoleClient, ProgressRecorder>,
    tool: &str,
    args: Value,
) -> rmcp::model::CallToolResult {
    let Value::Object(args) = args else {
        panic!("object")
    };
    let params = CallToolRequestParams::new(tool.to_string()).with_arguments(args);
    client.call_tool(params).await.expect("tools/call")
}

#[tokio::test]
async fn large_writes_go_up_in_chunks_with_progress_and_etag_guards() {
    let (nc, base) = setup("chunked").await;
    let settings = FileSettings {
        chunk_threshold_bytes: MB,
        chunk_size_bytes: MB,
        ..Default::default()
    };
    let server = nc.server(&Default::default()).with_file_settings(settings);
    let url = spawn_http(server, &Default::default()).await;
    let recorder = ProgressRecorder::default();
    let transport = rmcp::transport::StreamableHttpClientTransport::from_uri(url);
    let client = recorder.clone().serve(transport).await.expect("initialize");

    let data: Vec<u8> = (0..(3 * MB + 12_345))
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
    let path = format!("{base}/video.bin");
    let result = call_with_progress(
        &client,
        "nc_webdav_write_file",
        json!({"path": path, "content": encoded, "content_type": "application/octet-stream;base64"})
    )
    .await;
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let out = result.structured_content.expect("structured");
    assert_eq!(out["chunked"], true);
    assert_eq!(out["created"], true);
    assert_eq!(out["status_code"], 201);
    assert_eq!(out["size"], data.len());
    let etag = out["etag"].as_str().expect("etag").to_string();

    // The backend has exactly these bytes, at this ETag, and no upload folder is left behind.
    let (bytes, info) = nc.direct().files().download(&path).await.expect("download");
    assert!(bytes.as_ref() == data.as_slice(), "content differs");
    assert_eq!(info.etag.as_deref(), Some(etag.as_str()));
    if let Some(emu) = nc.emulator() {
        assert_eq!(emu.open_uploads(EMU_USER), 0);
    }

    // Progress: one notification per chunk (4) after the start, rising to the total.
    let notes = recorder.0.lock().unwrap().clone();
    let progress: Vec<f64> = notes.iter().map(|n| n.progress).collect();
    assert!(progress.len() >= 4, "{progress:?}");
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    assert_eq!(*progress.last().unwrap(), data.len() as f64);
    assert!(notes.iter().all(|n| n.total == Some(data.len() as f64)));
    // All of them carry this call's token.
    let token = &notes[0].progress_token;
    assert!(notes.iter().all(|n| &n.progress_token == token));

    // Create-only on an existing file: refused, nothing changed.
    let e = call_with_progress(
        &client,
        "nc_webdav_write_file",
        json!({"path": path, "content": "y".repeat(2 * MB as usize)}),
    )
    .await;
    assert_eq!(e.is_error, Some(true));
    assert!(text_of(&e).contains("already exists"), "{}", text_of(&e));

    // A stale ETag: a conflict, and the file is untouched.
    let e = call_with_progress(
        &client,
        "nc_webdav_write_file",
        json!({"path": path, "content": "z".repeat(2 * MB as usize), "if_match": "0000stale0000"}),
    )
    .await;
    assert_eq!(e.is_error, Some(true));
    assert!(text_of(&e).contains("412"), "{}", text_of(&e));
    let (bytes, _) = nc.direct().files().download(&path).await.expect("download");
    assert!(bytes.as_ref() == data.as_slice());

    // The current ETag: replaced (204), new ETag.
    let replacement = "r".repeat(2 * MB as usize + 1);
    let result = call_with_progress(
        &client,
        "nc_webdav_write_file",
        json!({"path": path, "content": replacement, "if_match": etag}),
    )
    .await;
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let out = result.structured_content.expect("structured");
    assert_eq!(out["status_code"], 204);
    assert_eq!(out["chunked"], true);
    assert_ne!(out["etag"].as_str(), Some(etag.as_str()));
    let (bytes, _) = nc.direct().files().download(&path).await.expect("download");
    assert_eq!(bytes.len(), replacement.len());

    // A missing folder: named clearly, before anything is uploaded.
    let e = call_with_progress(
        &client,
        "nc_webdav_write_file",
        json!({"path": format!("{base}/no/such/x.bin"), "content": "q".repeat(2 * MB as usize)}),
    )
    .await;
    assert_eq!(e.is_error, Some(true));
    assert!(text_of(&e).contains("does not exist"), "{}", text_of(&e));
    if let Some(emu) = nc.emulator() {
        assert_eq!(emu.open_uploads(EMU_USER), 0);
    }

    // Small writes still go in one PUT.
    let out = call_ok(
        &connect(&nc, Transport::HttpSession, &Default::default()).await,
        "nc_webdav_write_file",
        json!({"path": format!("{base}/small.txt"), "content": "tiny"}),
    )
    .await;
    assert_eq!(out["chunked"], false);
    let _ = client.cancel().await;
    cleanup(&nc, &base).await;
}

/// The emulator's chunked-upload endpoint answers as Nextcloud's does.
#[tokio::test]
async fn emulator_chunked_upload_status_codes() {
    let (nc, base) = setup("chunkapi").await;
    if nc.emulator().is_none() {
        // Also valid against a real Nextcloud, but it leaves upload folders on failure paths.
        eprintln!("skipped: checks the emulator's answers");
        cleanup(&nc, &base).await;
        return;
    }
    let http = reqwest::Client::new();
    let root = nc.base_url.clone();
    let dav = |p: &str| format!("{root}/remote.php/dav/{p}");
    let dest = dav(&format!("files/{EMU_USER}/{base}/assembled.bin"));
    let req = |method: &str, url: String| {
        http.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
            .basic_auth(EMU_USER, Some(EMU_PASSWORD))
    };
    let upload = dav(&format!("uploads/{EMU_USER}/test-upload-1"));
    let status = |r: reqwest::Response| r.status().as_u16();

    let r = req("MKCOL", upload.clone())
        .header("Destination", &dest)
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), 201);
    let r = req("MKCOL", upload.clone())
        .header("Destination", &dest)
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), 405, "an existing upload folder");
    let r = req("PUT", format!("{upload}/abc"))
        .header("Destination", &dest)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), 400, "v2 chunk names are numbers");
    let r = req("PUT", format!("{upload}/10001"))
        .header("Destination", &dest)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), 400, "at most 10000 chunks");
    for (n, body) in [(2, "world"), (1, "hello ")] {
        let r = req("PUT", format!("{upload}/{n}"))
            .header("Destination", &dest)
            .header("OC-Total-Length", "11")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(status(r), 201);
    }
    let r = req("GET", format!("{upload}/1")).send().await.unwrap();
    assert_eq!(status(r), 405, "chunks cannot be read");
    let r = req("MOVE", format!("{upload}/.file"))
        .header("Destination", &dest)
        .header("OC-Total-Length", "12")
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), 400, "sizes must add up");
    let r = req("MOVE", format!("{upload}/.file"))
        .header("Destination", &dest)
        .header("OC-Total-Length", "11")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("oc-etag").is_some());
    assert_eq!(status(r), 201);
    let (bytes, _) = nc
        .direct()
        .files()
        .download(&format!("{base}/assembled.bin"))
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), b"hello world", "assembled in chunk order");
    let r = req("PUT", format!("{upload}/1"))
        .header("Destination", &dest)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), 404, "the upload folder is gone after assembly");

    // A second upload racing a change: the If: condition on the destination fails with 412.
    let stale = nc
        .direct()
        .files()
        .stat(&format!("{base}/assembled.bin"))
        .await
        .unwrap()
        .etag
        .unwrap();
    put(
        &nc,
        &format!("{base}/assembled.bin"),
        b"changed meanwhile".to_vec(),
    )
    .await;
    let upload = dav(&format!("uploads/{EMU_USER}/test-upload-2"));
    req("MKCOL", upload.clone())
        .header("Destination", &dest)
        .send()
        .await
        .unwrap();
    req("PUT", format!("{upload}/1"))
        .header("Destination", &dest)
        .body("late")
        .send()
        .await
        .unwrap();
    let r = req("MOVE", format!("{upload}/.file"))
        .header("Destination", &dest)
        .header("If", format!("<{dest}> ([\"{stale}\"])"))
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), 412);
    let r = req("MOVE", format!("{upload}/.file"))
        .header("Destination", &dest)
        .header("Overwrite", "F")
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), 412);
    let (bytes, _) = nc
        .direct()
        .files()
        .download(&format!("{base}/assembled.bin"))
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), b"changed meanwhile");
    let r = req("DELETE", upload.clone()).send().await.unwrap();
    assert_eq!(status(r), 204, "aborting an upload");
    assert_eq!(nc.emulator().unwrap().open_uploads(EMU_USER), 0);
    cleanup(&nc, &base).await;
}
