use base64::Engine;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{FileEntry, extract, file_url};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer, given, in_range, non_empty};
use crate::tools::spec::{Effect::*, ToolSpec};
use nextcloud::files::SearchQuery;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListDirectoryArgs {
    /// "" for your home folder.
    #[serde(default)]
    pub path: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListDirectoryOut {
    /// The folder listed, normalised.
    pub path: String,
    /// Folders first, then files, each by name.
    pub files: Vec<FileEntry>,
    pub total_count: usize,
    pub directories_count: usize,
    pub files_count: usize,
    /// Sum of the sizes of the entries, in bytes.
    pub total_size: u64,
}

/// How to treat documents when reading.
#[derive(Debug, Default, Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq)]
// Inlined: a short enum costs less in every tool schema than a shared definition.
#[schemars(inline)]
#[serde(rename_all = "lowercase")]
pub enum ParseDocument {
    // Text as text, documents (PDF, DOCX, ODT, XLSX, ...) as their extracted text, anything else as base64 (below the size cap).
    #[default]
    Auto,
    // As `auto` (spreadsheets already come back as Markdown tables).
    Markdown,
    // The bytes as they are, no extraction: text as text, anything else as base64.
    Raw,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReadFileArgs {
    /// Relative to your home folder, e.g. `Documents/todo.md`.
    pub path: String,
    /// `auto` extracts documents' text; `raw` gives bytes.
    #[serde(default)]
    pub parse_document: ParseDocument,
    /// First PDF page, from 1.
    #[serde(default)]
    pub page_start: Option<i64>,
    /// Last PDF page, included.
    #[serde(default)]
    pub page_end: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ReadFileOut {
    pub path: String,
    /// The content: text, or base64 when `encoding` is `base64`; absent when too large.
    pub content: Option<String>,
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// `utf-8` for text, `base64` for binary content, absent when no content is returned.
    pub encoding: Option<String>,
    /// Whether a document parser produced the text (false: the bytes are returned as they are).
    pub parsed: bool,
    /// For documents (PDF, DOCX, ODT, XLSX, ...): `success` or `failed`; absent for other files.
    pub parse_status: Option<String>,
    /// What extracted the text (e.g. `lopdf`, `calamine`).
    pub parse_processor: Option<String>,
    /// `text` or `markdown` (spreadsheets come back as Markdown tables).
    pub content_format: Option<String>,
    /// Pages in the whole PDF.
    pub page_count: Option<u32>,
    /// First page returned (PDF).
    pub page_start: Option<u32>,
    /// Last page returned (PDF).
    pub page_end: Option<u32>,
    /// Why content is missing or how it is encoded, when that needs saying.
    pub message: Option<String>,
    /// The file's ETag: pass it as `if_match` to nc_webdav_write_file to update exactly this version.
    pub etag: Option<String>,
    /// Last change, as the server reports it (HTTP date).
    pub last_modified: Option<String>,
    /// Link to the file in Nextcloud's web interface.
    pub url: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchFilesArgs {
    /// "" for everywhere.
    #[serde(default)]
    pub scope: String,
    /// `*` and `?` are wildcards; else any part of the name.
    #[serde(default)]
    pub name_pattern: Option<String>,
    /// E.g. `application/pdf` or `image/*`.
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub only_favorites: bool,
    /// 1-1000.
    #[serde(default)]
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct FindByNameArgs {
    /// `*` and `?` are wildcards; else any part of the name.
    pub pattern: String,
    /// "" for everywhere.
    #[serde(default)]
    pub scope: String,
    /// 1-1000.
    #[serde(default)]
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct FindByTypeArgs {
    /// E.g. `application/pdf` or `image/*`.
    pub mime_type: String,
    /// "" for everywhere.
    #[serde(default)]
    pub scope: String,
    /// 1-1000.
    #[serde(default)]
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListFavoritesArgs {
    /// Folder to look below; "" for everywhere.
    #[serde(default)]
    pub scope: String,
    /// 1-1000.
    #[serde(default)]
    pub limit: Option<i64>,
}

/// Which filters a search used.
#[derive(Debug, Serialize, JsonSchema, Default)]
pub struct FiltersApplied {
    pub name_pattern: Option<String>,
    pub mime_type: Option<String>,
    pub only_favorites: bool,
    pub limit: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchOut {
    pub results: Vec<FileEntry>,
    /// Number of results returned.
    pub total_found: usize,
    /// The folder searched, normalised ("" = everywhere).
    pub scope: String,
    pub filters_applied: FiltersApplied,
}

const DEFAULT_LIMIT: u32 = 100;

fn limit_arg(limit: Option<i64>) -> Result<u32, ToolError> {
    let limit = in_range("limit", limit.unwrap_or(DEFAULT_LIMIT.into()), 1..=1000)?;
    Ok(limit as u32)
}

fn scope_arg(scope: &str) -> Result<String, ToolError> {
    Ok(nextcloud::files::normalize_path("scope", scope)?)
}

/// Checks the optional 1-based, inclusive page range.
fn page_range(
    start: Option<i64>,
    end: Option<i64>,
) -> Result<(Option<u32>, Option<u32>), ToolError> {
    let one = |name: &'static str, v: Option<i64>| -> Result<Option<u32>, ToolError> {
        match v {
            None => Ok(None),
            Some(n) if (1..=i64::from(u32::MAX)).contains(&n) => Ok(Some(n as u32)),
            Some(n) => Err(ToolError::invalid(
                name,
                format!("expected a page number of 1 or more, got {n}"),
            )),
        }
    };
    let (s, e) = (one("page_start", start)?, one("page_end", end)?);
    if let (Some(s), Some(e)) = (s, e)
        && e < s
    {
        return Err(ToolError::invalid(
            "page_end",
            format!("is {e}, before page_start {s}; expected page_start <= page_end"),
        ));
    }
    Ok((s, e))
}

/// Content types whose bytes are text even though they are not `text/*`.
pub(crate) fn is_textual(content_type: &str) -> bool {
    let ct = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    ct.starts_with("text/")
        || ct.ends_with("+json")
        || ct.ends_with("+xml")
        || matches!(
            ct.as_str(),
            "application/json"
                | "application/xml"
                | "application/javascript"
                | "application/x-yaml"
                | "application/yaml"
                | "application/x-sh"
                | "application/x-php"
                | "application/sql"
                | "application/x-tex"
                | "image/svg+xml"
        )
}

impl NextcloudMcp {
    async fn run_search(
        &self,
        ctx: &RequestContext<RoleServer>,
        query: SearchQuery,
    ) -> Result<SearchOut, ToolError> {
        let user = self.user(ctx)?;
        let results: Vec<FileEntry> = user
            .files()
            .search(&query)
            .await?
            .into_iter()
            .map(FileEntry::from)
            .collect();
        Ok(SearchOut {
            total_found: results.len(),
            results,
            scope: query.scope,
            filters_applied: FiltersApplied {
                name_pattern: query.name,
                mime_type: query.mime_type,
                only_favorites: query.only_favorites,
                limit: query.limit.unwrap_or(DEFAULT_LIMIT),
            },
        })
    }
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new(
        "nc_webdav_list_directory",
        &apps::FILES,
        Some("files.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_webdav_read_file",
        &apps::FILES,
        Some("files.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_webdav_search_files",
        &apps::FILES,
        Some("files.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_webdav_find_by_name",
        &apps::FILES,
        Some("files.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_webdav_find_by_type",
        &apps::FILES,
        Some("files.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_webdav_list_favorites",
        &apps::FILES,
        Some("files.read"),
        Read,
    ),
];

#[tool_router(router = files_read_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_webdav_list_directory",
        title = "List a folder",
        description = "What is directly inside a folder: names, types, sizes, last changes, ETags."
    )]
    async fn nc_webdav_list_directory(
        &self,
        Parameters(args): Parameters<ListDirectoryArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ListDirectoryOut>>, ToolError> {
        let path = nextcloud::files::normalize_path("path", &args.path)?;
        let user = self.user(&ctx)?;
        let files: Vec<FileEntry> = user
            .files()
            .list(&path)
            .await?
            .into_iter()
            .map(FileEntry::from)
            .collect();
        let directories_count = files.iter().filter(|f| f.kind == "directory").count();
        answer(ListDirectoryOut {
            path,
            total_count: files.len(),
            directories_count,
            files_count: files.len() - directories_count,
            total_size: files.iter().map(|f| f.size).sum(),
            files,
        })
    }

    #[tool(
        name = "nc_webdav_read_file",
        title = "Read a file",
        description = "Read a file: text; PDF, office documents and spreadsheets as extracted text; small other files as base64. Gives the ETag."
    )]
    async fn nc_webdav_read_file(
        &self,
        Parameters(args): Parameters<ReadFileArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ReadFileOut>>, ToolError> {
        let path = nextcloud::files::normalize_path("path", &args.path)?;
        if path.is_empty() {
            return Err(ToolError::invalid(
                "path",
                "names the home folder; give a file path (use nc_webdav_list_directory for folders)",
            ));
        }
        let pages = page_range(args.page_start, args.page_end)?;
        let user = self.user(&ctx)?;
        let files = user.files();
        let info = files.stat(&path).await?;
        if info.is_dir {
            return Err(ToolError::invalid(
                "path",
                format!("`{path}` is a folder; list it with nc_webdav_list_directory"),
            ));
        }
        let settings = &self.state().files;
        let read_cap = settings.read_max_bytes;
        let base = user.client().base_url().to_string();
        let mut out = ReadFileOut {
            url: file_url(&base, info.id),
            path: path.clone(),
            content: None,
            content_type: info
                .content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
            size: info.size,
            encoding: None,
            parsed: false,
            parse_status: None,
            parse_processor: None,
            content_format: None,
            page_count: None,
            page_start: None,
            page_end: None,
            message: None,
            etag: info.etag.clone(),
            last_modified: info.last_modified.clone(),
        };
        let doc_kind = match args.parse_document {
            ParseDocument::Raw => None,
            ParseDocument::Auto | ParseDocument::Markdown => {
                extract::kind_of(&out.content_type, &info.name)
            }
        };
        // Documents are fetched whole to be parsed (up to their own cap); everything else only
        // if it can be returned inline.
        let download_cap = match doc_kind {
            Some(_) => settings.document_max_bytes.max(read_cap),
            None => read_cap,
        };
        if info.size > download_cap {
            out.message = Some(format!(
                "The file is {} bytes, more than the {download_cap} bytes {} (WEBDAV_{}_MAX_MB); only its details are shown. Download it from Nextcloud directly.",
                info.size,
                if doc_kind.is_some() {
                    "read to extract text from a document"
                } else {
                    "returned inline"
                },
                if doc_kind.is_some() {
                    "DOCUMENT"
                } else {
                    "READ"
                },
            ));
            return answer(out);
        }
        // Streamed and cut off at the cap: a file that grew since the listing costs no memory.
        let stream = files.open(&path).await?;
        out.content_type = stream.content_type.clone();
        if stream.etag.is_some() {
            out.etag = stream.etag.clone();
        }
        let Some(bytes) = stream.read_capped(download_cap).await? else {
            out.message = Some(format!(
                "The file grew beyond {download_cap} bytes while it was read; only its details are shown."
            ));
            return answer(out);
        };
        out.size = bytes.len() as u64;

        let mut notes: Vec<String> = Vec::new();
        if let Some(kind) = doc_kind {
            out.parse_processor = Some(kind.processor().to_string());
            let data = bytes.clone();
            let extracted =
                tokio::task::spawn_blocking(move || extract::extract(kind, &data, pages))
                    .await
                    .map_err(|e| format!("the document parser stopped: {e}"));
            match extracted {
                Ok(Ok(doc)) => {
                    let mut text = doc.text;
                    if extract::truncate_at(&mut text, read_cap as usize) {
                        notes.push(format!(
                            "The extracted text was cut at {read_cap} bytes (WEBDAV_READ_MAX_MB); use page_start/page_end for the rest of a PDF."
                        ));
                    }
                    out.content = Some(text);
                    out.encoding = Some("utf-8".into());
                    out.parsed = true;
                    out.parse_status = Some("success".into());
                    out.content_format = Some(doc.format.into());
                    out.page_count = doc.page_count;
                    out.page_start = doc.pages.map(|p| p.0);
                    out.page_end = doc.pages.map(|p| p.1);
                    out.message = (!notes.is_empty()).then(|| notes.join(" "));
                    return answer(out);
                }
                Ok(Err(extract::ExtractError::PageOutOfRange { arg, given, count })) => {
                    return Err(ToolError::invalid(
                        arg,
                        format!("is {given}, but the document has {count} page(s)"),
                    ));
                }
                Ok(Err(e)) => {
                    out.parse_status = Some("failed".into());
                    notes.push(format!("No text could be extracted: {e}."));
                }
                Err(e) => {
                    out.parse_status = Some("failed".into());
                    notes.push(format!("No text could be extracted: {e}."));
                }
            }
        }
        if out.size > read_cap {
            notes.push(format!(
                "The file is {} bytes, more than the {read_cap} bytes returned inline (WEBDAV_READ_MAX_MB); only its details are shown.",
                out.size
            ));
            out.message = Some(notes.join(" "));
            return answer(out);
        }
        let textual = is_textual(&out.content_type);
        let raw_text = args.parse_document == ParseDocument::Raw
            && !bytes.contains(&0)
            && std::str::from_utf8(&bytes).is_ok();
        if textual || raw_text {
            let decoded = extract::decode_text(&bytes, &out.content_type);
            if decoded.guessed {
                notes.push(format!(
                    "The file is not valid in its declared or assumed charset; it was read as {}.",
                    decoded.charset
                ));
            } else if decoded.charset != "UTF-8" {
                notes.push(format!("Decoded from {}.", decoded.charset));
            }
            out.content = Some(decoded.text);
            out.encoding = Some("utf-8".into());
            out.content_format = Some("text".into());
        } else {
            out.content = Some(base64::engine::general_purpose::STANDARD.encode(&bytes));
            out.encoding = Some("base64".into());
            if doc_kind.is_none() {
                notes.push(format!(
                    "Binary content ({}) is returned as base64; no text extraction is available for this type.",
                    out.content_type
                ));
            }
        }
        out.message = (!notes.is_empty()).then(|| notes.join(" "));
        answer(out)
    }

    #[tool(
        name = "nc_webdav_search_files",
        title = "Search files",
        description = "Search below a folder by name pattern, MIME type and favourites together, newest first."
    )]
    async fn nc_webdav_search_files(
        &self,
        Parameters(args): Parameters<SearchFilesArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<SearchOut>>, ToolError> {
        let name = given(args.name_pattern);
        let mime_type = given(args.mime_type);
        if name.is_none() && mime_type.is_none() && !args.only_favorites {
            return Err(ToolError::invalid(
                "name_pattern",
                "give at least one filter: name_pattern, mime_type or only_favorites=true",
            ));
        }
        let query = SearchQuery {
            scope: scope_arg(&args.scope)?,
            name,
            mime_type,
            only_favorites: args.only_favorites,
            limit: Some(limit_arg(args.limit)?),
        };
        answer(self.run_search(&ctx, query).await?)
    }

    #[tool(
        name = "nc_webdav_find_by_name",
        title = "Find files by name",
        description = "Find files and folders by name: `*` and `?` wildcards or any part of it, case-insensitive."
    )]
    async fn nc_webdav_find_by_name(
        &self,
        Parameters(args): Parameters<FindByNameArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<SearchOut>>, ToolError> {
        non_empty(
            "pattern",
            &args.pattern,
            "expected a name or pattern such as `*.pdf`",
        )?;
        let query = SearchQuery {
            scope: scope_arg(&args.scope)?,
            name: Some(args.pattern),
            limit: Some(limit_arg(args.limit)?),
            ..Default::default()
        };
        answer(self.run_search(&ctx, query).await?)
    }

    #[tool(
        name = "nc_webdav_find_by_type",
        title = "Find files by type",
        description = "Find files of one type, such as `application/pdf`, or a family such as `image/*` for photos."
    )]
    async fn nc_webdav_find_by_type(
        &self,
        Parameters(args): Parameters<FindByTypeArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<SearchOut>>, ToolError> {
        let mime = args.mime_type.trim();
        if mime.is_empty() || (!mime.contains('/') && !mime.contains('%')) {
            return Err(ToolError::invalid(
                "mime_type",
                "expected a MIME type such as `application/pdf` or a family such as `image/*`",
            ));
        }
        let query = SearchQuery {
            scope: scope_arg(&args.scope)?,
            mime_type: Some(mime.to_string()),
            limit: Some(limit_arg(args.limit)?),
            ..Default::default()
        };
        answer(self.run_search(&ctx, query).await?)
    }

    #[tool(
        name = "nc_webdav_list_favorites",
        title = "List favourite files",
        description = "List the files and folders you starred as favourites."
    )]
    async fn nc_webdav_list_favorites(
        &self,
        Parameters(args): Parameters<ListFavoritesArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<SearchOut>>, ToolError> {
        let scope = scope_arg(&args.scope)?;
        let limit = limit_arg(args.limit)?;
        let user = self.user(&ctx)?;
        let mut results: Vec<FileEntry> = user
            .files()
            .favorites(&scope)
            .await?
            .into_iter()
            .filter(|f| f.path != scope)
            .map(FileEntry::from)
            .collect();
        results.truncate(limit as usize);
        answer(SearchOut {
            total_found: results.len(),
            results,
            scope,
            filters_applied: FiltersApplied {
                only_favorites: true,
                limit,
                ..Default::default()
            },
        })
    }
}
