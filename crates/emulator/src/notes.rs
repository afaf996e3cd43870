//! The Notes app API (`/index.php/apps/notes/api/{v0.2,v1,v1.4}/...`), following the app's
//! `NotesApiController`, `Helper`, `NotesService`, `NoteUtil`, `MetaService` and
//! `SettingsService`. Notes are files in the user's tree under the notes folder; the note id is
//! the file id and the category is the folder path below the notes folder.

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use md5::{Digest, Md5};
use serde::Serialize;
use serde_json::json;

use crate::auth::{AuthOutcome, authenticate};
use crate::fs::{self, FsError};
use crate::params::Params;
use crate::state::{AppState, NoteMeta, User};

/// `Application::$API_VERSIONS` of Notes 6.x.
pub const API_VERSIONS: [&str; 3] = ["0.2", "1.3", "1.4"];
const NOTE_EXTENSIONS: [&str; 5] = ["txt", "org", "markdown", "md", "note"];
const MAX_TITLE_LENGTH: usize = 100;

/// A note as the API returns it (`Note::getData` + `etag`); excluded fields are `None`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NoteData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub favorite: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readonly: Option<bool>,
    pub internal_path: String,
    pub share_types: Vec<u32>,
    pub is_shared: bool,
    pub error: bool,
    pub error_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    pub etag: String,
}

/// One entry of the notes list: a full note or just `{"id": ..}` for pruned notes.
#[derive(Serialize)]
#[serde(untagged)]
enum ListItem {
    Full(NoteData),
    Pruned { id: u64 },
}

/// Settings as `GET /settings` shows them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PublicSettings {
    notes_path: String,
    file_suffix: String,
    note_mode: String,
}

fn md5_hex(data: &[u8]) -> String {
    let digest = Md5::digest(data);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// PHP `json_encode` of a string with default flags (`\/`, `\uXXXX` for non-ASCII).
fn php_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn php_json_note(out: &mut String, n: &NoteData) {
    let mut first = true;
    let mut key = |out: &mut String, k: &str| {
        if !first {
            out.push(',');
        }
        first = false;
        php_json_str(out, k);
        out.push(':');
    };
    out.push('{');
    if let Some(id) = n.id {
        key(out, "id");
        out.push_str(&id.to_string());
    }
    if let Some(t) = &n.title {
        key(out, "title");
        php_json_str(out, t);
    }
    if let Some(m) = n.modified {
        key(out, "modified");
        out.push_str(&m.to_string());
    }
    if let Some(c) = &n.category {
        key(out, "category");
        php_json_str(out, c);
    }
    if let Some(f) = n.favorite {
        key(out, "favorite");
        out.push_str(if f { "true" } else { "false" });
    }
    if let Some(r) = n.readonly {
        key(out, "readonly");
        out.push_str(if r { "true" } else { "false" });
    }
    key(out, "internalPath");
    php_json_str(out, &n.internal_path);
    key(out, "shareTypes");
    out.push_str("[]");
    key(out, "isShared");
    out.push_str(if n.is_shared { "true" } else { "false" });
    key(out, "error");
    out.push_str(if n.error { "true" } else { "false" });
    key(out, "errorType");
    php_json_str(out, &n.error_type);
    if let Some(c) = &n.content {
        key(out, "content");
        php_json_str(out, c);
    }
    key(out, "etag");
    php_json_str(out, &n.etag);
    out.push('}');
}

/// PHP `trim()` characters.
fn php_trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r', '\0', '\u{b}'])
}

/// `NoteUtil::sanitisePath`.
fn sanitise_path(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .filter(|c| !matches!(c, '*' | '|' | '/' | '\\' | ':' | '"' | '<' | '>' | '?'))
        .collect();
    // preg_replace('/^[\.\s]+/mu', '') – at the start of every line.
    let lines: Vec<&str> = cleaned.split('\n').collect();
    let stripped: Vec<&str> = lines
        .iter()
        .map(|l| l.trim_start_matches(|c: char| c == '.' || c.is_whitespace()))
        .collect();
    php_trim(&stripped.join("\n")).to_string()
}

/// `NoteUtil::getSafeTitle`.
pub fn safe_title(content: &str) -> String {
    let content = sanitise_path(content);
    let first = content
        .split([
            '\n', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{2028}', '\u{2029}',
        ])
        .next()
        .unwrap_or("");
    let title: String = php_trim(first)
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .take(MAX_TITLE_LENGTH)
        .collect();
    if title.is_empty() || title == "0" {
        "New note".to_string()
    } else {
        title
    }
}

/// `NoteUtil::stripMarkdown` (used for the v0.2 automatic titles).
fn strip_markdown(s: &str) -> String {
    s.split('\n')
        .map(|line| {
            let t = line.trim_start();
            let mut l = line.to_string();
            if let Some(rest) = t.strip_prefix(['*', '+', '-'])
                && rest.starts_with(char::is_whitespace)
            {
                l = rest.trim_start().to_string();
            }
            let t = l.clone();
            if t.starts_with('#') {
                let rest = t.trim_start_matches('#');
                if rest.starts_with(char::is_whitespace) {
                    l = rest.trim().trim_end_matches('#').trim_end().to_string();
                }
            }
            if !l.is_empty() && (l.chars().all(|c| c == '=') || l.chars().all(|c| c == '-')) {
                l.clear();
            }
            strip_emphasis(&l)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `(\*+|_+)(.*?)\1` → `$2`: removes paired emphasis markers on one line.
fn strip_emphasis(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '*' || c == '_' {
            let mut j = i;
            while j < chars.len() && chars[j] == c {
                j += 1;
            }
            let marker: String = chars[i..j].iter().collect();
            let rest: String = chars[j..].iter().collect();
            if let Some(end) = rest.find(&marker) {
                out.push_str(&rest[..end]);
                let consumed = rest[..end].chars().count() + marker.chars().count();
                i = j + consumed;
                continue;
            }
            out.push_str(&marker);
            i = j;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// `NoteUtil::normalizeCategoryPath`.
fn normalize_category(category: &str) -> String {
    category
        .split('/')
        .map(sanitise_path)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

fn notes_folder(user: &User) -> String {
    fs::normalize(&user.notes_settings.notes_path).unwrap_or_else(|| "Notes".into())
}

fn custom_extension(user: &User) -> String {
    user.notes_settings
        .custom_suffix
        .trim_start_matches('.')
        .to_string()
}

fn is_note_name(name: &str, custom_ext: &str) -> bool {
    match name.rsplit_once('.') {
        Some((_, ext)) => {
            let ext = ext.to_ascii_lowercase();
            NOTE_EXTENSIONS.contains(&ext.as_str()) || ext == custom_ext
        }
        None => false,
    }
}

/// Creates the notes folder if missing (`getOrCreateNotesFolder`).
fn ensure_notes_folder(state: &AppState, user: &mut User) -> String {
    let folder = notes_folder(user);
    let now = state.now();
    let _ = user.files.mkdir_p(&folder, &mut || state.next_id(), now);
    folder
}

/// All note files below the notes folder, depth-first in name order, skipping hidden folders
/// (`gatherNoteFiles`).
fn gather_notes(user: &User, folder: &str) -> Vec<String> {
    let ext = custom_extension(user);
    let mut out = Vec::new();
    let mut stack = vec![folder.to_string()];
    // Depth-first in listing order: recurse by hand to keep the app's order.
    fn walk(user: &User, dir: &str, ext: &str, out: &mut Vec<String>) {
        for (path, node) in user.files.children(dir) {
            let name = fs::name_of(path);
            if node.is_dir {
                if !name.starts_with('.') {
                    walk(user, path, ext, out);
                }
            } else if is_note_name(name, ext) {
                out.push(path.to_string());
            }
        }
    }
    if let Some(dir) = stack.pop() {
        walk(user, &dir, &ext, &mut out);
    }
    out
}

fn note_title(path: &str) -> String {
    let name = fs::name_of(path);
    match name.rfind('.') {
        Some(i) => name[..i].to_string(),
        None => name.to_string(),
    }
}

fn note_category(path: &str, folder: &str) -> String {
    let dir = fs::parent_of(path).unwrap_or("");
    if dir.len() <= folder.len() {
        return String::new();
    }
    let start = if folder.is_empty() {
        0
    } else {
        folder.len() + 1
    };
    dir.get(start..).unwrap_or("").to_string()
}

/// `MetaService::update`: recompute the note's ETag, bump `last_update` if it changed.
fn update_meta(state: &AppState, user: &mut User, path: &str, folder: &str) -> Option<NoteMeta> {
    let node = user.files.get(path)?.clone();
    let content = String::from_utf8_lossy(&node.content);
    let content_etag = md5_hex(content.as_bytes());
    let mut data = String::from("[");
    data.push_str(&node.id.to_string());
    data.push(',');
    php_json_str(&mut data, &note_title(path));
    data.push(',');
    data.push_str(&node.mtime.to_string());
    data.push(',');
    php_json_str(&mut data, &note_category(path, folder));
    data.push(',');
    data.push_str(if user.favorites.contains(&node.id) {
        "true"
    } else {
        "false"
    });
    data.push_str(",false,");
    php_json_str(&mut data, &content_etag);
    data.push(']');
    let etag = md5_hex(data.as_bytes());
    let now = state.now();
    let meta = user.note_meta.entry(node.id).or_insert_with(|| NoteMeta {
        etag: String::new(),
        last_update: now,
    });
    if meta.etag != etag {
        meta.etag = etag;
        meta.last_update = now;
    }
    Some(meta.clone())
}

fn note_data(
    state: &AppState,
    user: &mut User,
    path: &str,
    folder: &str,
    exclude: &[String],
) -> Option<NoteData> {
    let meta = update_meta(state, user, path, folder)?;
    let node = user.files.get(path)?;
    let inc = |f: &str| !exclude.iter().any(|e| e == f);
    let content = String::from_utf8_lossy(&node.content)
        .replace('\u{feff}', "")
        .to_string();
    Some(NoteData {
        id: inc("id").then_some(node.id),
        title: inc("title").then(|| note_title(path)),
        modified: inc("modified").then_some(node.mtime),
        category: inc("category").then(|| note_category(path, folder)),
        favorite: inc("favorite").then(|| user.favorites.contains(&node.id)),
        readonly: inc("readonly").then_some(false),
        internal_path: format!("/{path}"),
        share_types: Vec::new(),
        is_shared: false,
        error: false,
        error_type: String::new(),
        content: inc("content").then_some(content),
        etag: meta.etag,
    })
}

/// Finds a note by id (`getFileById`): must be a note file below the notes folder.
fn find_note(user: &User, folder: &str, id: u64) -> Option<String> {
    let path = user.files.path_of_id(id)?;
    let node = user.files.get(path)?;
    let inside = folder.is_empty() || path.starts_with(&format!("{folder}/"));
    (inside && !node.is_dir && is_note_name(fs::name_of(path), &custom_extension(user)))
        .then(|| path.to_string())
}

/// `NoteUtil::generateFileName`.
fn generate_file_name(
    user: &User,
    dir: &str,
    title: &str,
    suffix: &str,
    id: Option<u64>,
) -> String {
    let mut title = safe_title(title);
    loop {
        let filename = format!("{title}{suffix}");
        let path = if dir.is_empty() {
            filename.clone()
        } else {
            format!("{dir}/{filename}")
        };
        match user.files.get(&path) {
            None => return filename,
            Some(n) if Some(n.id) == id => return filename,
            Some(_) => {}
        }
        let (base, next) = match title.rfind(" (") {
            Some(i)
                if title.ends_with(')')
                    && title[i + 2..title.len() - 1]
                        .chars()
                        .all(|c| c.is_ascii_digit())
                    && title.len() > i + 3 =>
            {
                let n: u64 = title[i + 2..title.len() - 1].parse().unwrap_or(1);
                (title[..i].to_string(), n + 1)
            }
            _ => (title.clone(), 2),
        };
        let id_suffix = format!(" ({next})");
        let keep = MAX_TITLE_LENGTH.saturating_sub(id_suffix.chars().count());
        let base: String = base.chars().take(keep).collect();
        title = safe_title(&format!("{base}{id_suffix}"));
    }
}

/// `NoteUtil::deleteEmptyFolder`: removes empty category folders up to the notes folder.
fn delete_empty_folders(state: &AppState, user: &mut User, mut dir: String, folder: &str) {
    let now = state.now();
    while dir != folder && dir.starts_with(folder) && user.files.children(&dir).is_empty() {
        let _ = user.files.delete(&dir, now);
        match fs::parent_of(&dir) {
            Some(p) => dir = p.to_string(),
            None => break,
        }
    }
}

fn current_suffix(user: &User) -> String {
    let s = &user.notes_settings;
    if s.file_suffix == "custom" {
        s.custom_suffix.clone()
    } else {
        s.file_suffix.clone()
    }
}

/// Note-app JSON answer with `X-Notes-API-Versions` (`Helper::handleErrorResponse`).
fn notes_json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut().insert(
        "X-Notes-API-Versions",
        HeaderValue::from_static("0.2, 1.3, 1.4"),
    );
    resp
}

fn error_response(status: StatusCode) -> Response {
    notes_json(status, &json!({"errorType": "Exception"}))
}

fn quoted(etag: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{etag}\"")).unwrap_or(HeaderValue::from_static("\"\""))
}

fn if_none_match_hits(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == format!("\"{etag}\""))
}

fn http_date(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// `/index.php/apps/notes/api/{apiVersion}/{*rest}`.
pub async fn dispatch(
    State(state): State<AppState>,
    Path((api_version, rest)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.app_installed("notes") {
        return crate::not_found_page();
    }
    let auth = match authenticate(&state.world(), &headers) {
        AuthOutcome::Ok(a) => a,
        AuthOutcome::Anonymous => return crate::not_logged_in_json(),
        AuthOutcome::Invalid => return crate::login_failed_json(),
    };
    let params = Params::parse(query.as_deref(), &headers, &body);
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let v = api_version.as_str();
    let id_of = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let ctx = Ctx {
        state: &state,
        user_id: &auth.user_id,
        params: &params,
        headers: &headers,
    };
    match (&method, segments.as_slice()) {
        (&Method::GET, ["notes"]) if matches!(v, "v0.2" | "v1") => ctx.index(),
        (&Method::GET, ["notes", id]) if matches!(v, "v0.2" | "v1") && id_of(id).is_some() => {
            ctx.get(id_of(id).unwrap_or_default())
        }
        (&Method::POST, ["notes"]) if v == "v1" => ctx.create(false),
        (&Method::POST, ["notes"]) if v == "v0.2" => ctx.create(true),
        (&Method::PUT, ["notes", id]) if matches!(v, "v0.2" | "v1") && id_of(id).is_some() => {
            ctx.update(id_of(id).unwrap_or_default(), v == "v0.2")
        }
        (&Method::DELETE, ["notes", id]) if matches!(v, "v0.2" | "v1") && id_of(id).is_some() => {
            ctx.destroy(id_of(id).unwrap_or_default())
        }
        (&Method::GET, ["settings"]) if matches!(v, "v1" | "v1.4") => ctx.get_settings(),
        (&Method::PUT, ["settings"]) if v == "v1" => ctx.set_settings(),
        (&Method::GET, ["attachment", id]) if v == "v1.4" && id_of(id).is_some() => {
            ctx.get_attachment(id_of(id).unwrap_or_default())
        }
        // `notes_api#fail`: any other GET below /api/.
        (&Method::GET, _) => notes_json(StatusCode::BAD_REQUEST, &json!([])),
        _ => crate::not_found_page(),
    }
}

struct Ctx<'a> {
    state: &'a AppState,
    user_id: &'a str,
    params: &'a Params,
    headers: &'a HeaderMap,
}

impl Ctx<'_> {
    fn exclude(&self) -> Vec<String> {
        self.params
            .string("exclude")
            .unwrap_or_default()
            .split(',')
            .map(str::to_string)
            .collect()
    }

    fn index(&self) -> Response {
        let state = self.state;
        let mut world = state.world();
        let Some(user) = world.users.get_mut(self.user_id) else {
            return error_response(StatusCode::INTERNAL_SERVER_ERROR);
        };
        let folder = ensure_notes_folder(state, user);
        let exclude = self.exclude();
        let category = self.params.string("category");
        let prune_before = self.params.int("pruneBefore").unwrap_or(0);
        let chunk_size = self.params.int("chunkSize").unwrap_or(0).max(0) as usize;
        let cursor = self
            .params
            .string("chunkCursor")
            .filter(|s| !s.is_empty())
            .and_then(|s| parse_cursor(&s));
        let last_update = cursor.map_or_else(|| state.now(), |c| c.0);

        // notesAll: (id, path, last_update), in gather order.
        let mut all = Vec::new();
        for path in gather_notes(user, &folder) {
            if let Some(meta) = update_meta(state, user, &path, &folder) {
                let id = user.files.get(&path).map(|n| n.id).unwrap_or_default();
                if let Some(cat) = &category
                    && &note_category(&path, &folder) != cat
                {
                    continue;
                }
                all.push((id, path, meta.last_update));
            }
        }
        let mut full: Vec<&(u64, String, i64)> = all
            .iter()
            .filter(|(id, _, lu)| {
                let pruned = prune_before != 0 && *lu < prune_before;
                let before_cursor =
                    cursor.is_some_and(|(_, clu, cid)| *lu < clu || (*lu == clu && *id <= cid));
                !pruned && !before_cursor
            })
            .collect();
        full.sort_by(|a, b| a.2.cmp(&b.2).then(a.0.cmp(&b.0)));
        let chunk: Vec<&(u64, String, i64)> = if chunk_size > 0 {
            full.iter().take(chunk_size).copied().collect()
        } else {
            full.clone()
        };
        let pending = full.len() - chunk.len();
        let new_cursor = if pending > 0 {
            chunk
                .last()
                .map(|(id, _, lu)| format!("{last_update}-{lu}-{id}"))
        } else {
            None
        };
        let mut items: Vec<(u64, NoteData)> = Vec::new();
        for (id, path, _) in &chunk {
            if let Some(d) = note_data(state, user, path, &folder, &exclude) {
                items.push((*id, d));
            }
        }
        // ETag = md5(json_encode($notesData)) over the id-keyed array, before array_values.
        let mut ids_done: Vec<u64> = items.iter().map(|(id, _)| *id).collect();
        let mut body_items: Vec<ListItem> = items
            .iter()
            .map(|(_, d)| ListItem::Full(d.clone()))
            .collect();
        let mut php = String::from("{");
        for (i, (id, d)) in items.iter().enumerate() {
            if i > 0 {
                php.push(',');
            }
            php.push_str(&format!("\"{id}\":"));
            php_json_note(&mut php, d);
        }
        if new_cursor.is_none() {
            for (id, _, _) in &all {
                if !ids_done.contains(id) {
                    ids_done.push(*id);
                    if php.len() > 1 {
                        php.push(',');
                    }
                    php.push_str(&format!("\"{id}\":{{\"id\":{id}}}"));
                    body_items.push(ListItem::Pruned { id: *id });
                }
            }
        }
        php.push('}');
        if php == "{}" {
            php = "[]".into();
        }
        let etag = md5_hex(php.as_bytes());
        drop(world);

        let mut resp = if if_none_match_hits(self.headers, &etag) {
            let mut r = StatusCode::NOT_MODIFIED.into_response();
            r.headers_mut().insert(
                "X-Notes-API-Versions",
                HeaderValue::from_static("0.2, 1.3, 1.4"),
            );
            r
        } else {
            notes_json(StatusCode::OK, &body_items)
        };
        let h = resp.headers_mut();
        h.insert(http::header::ETAG, quoted(&etag));
        if let Ok(v) = HeaderValue::from_str(&http_date(last_update)) {
            h.insert(http::header::LAST_MODIFIED, v);
        }
        if let Some(c) = new_cursor {
            if let Ok(v) = HeaderValue::from_str(&c) {
                h.insert("X-Notes-Chunk-Cursor", v);
            }
            h.insert("X-Notes-Chunk-Pending", HeaderValue::from(pending));
        }
        resp
    }

    fn get(&self, id: u64) -> Response {
        let state = self.state;
        let mut world = state.world();
        let Some(user) = world.users.get_mut(self.user_id) else {
            return error_response(StatusCode::INTERNAL_SERVER_ERROR);
        };
        let folder = ensure_notes_folder(state, user);
        let Some(path) = find_note(user, &folder, id) else {
            return error_response(StatusCode::NOT_FOUND);
        };
        let Some(data) = note_data(state, user, &path, &folder, &self.exclude()) else {
            return error_response(StatusCode::NOT_FOUND);
        };
        drop(world);
        let mut resp = if if_none_match_hits(self.headers, &data.etag) {
            let mut r = StatusCode::NOT_MODIFIED.into_response();
            r.headers_mut().insert(
                "X-Notes-API-Versions",
                HeaderValue::from_static("0.2, 1.3, 1.4"),
            );
            r
        } else {
            notes_json(StatusCode::OK, &data)
        };
        resp.headers_mut()
            .insert(http::header::ETAG, quoted(&data.etag));
        resp
    }

    fn create(&self, auto_title: bool) -> Response {
        let state = self.state;
        let category = self.params.string("category").unwrap_or_default();
        let content = self.params.string("content").unwrap_or_default();
        let title = if auto_title {
            safe_title(&strip_markdown(&content))
        } else {
            self.params.string("title").unwrap_or_default()
        };
        let modified = self.params.int("modified").unwrap_or(0);
        let favorite = self.params.bool("favorite").unwrap_or(false);
        let mut world = state.world();
        let Some(user) = world.users.get_mut(self.user_id) else {
            return error_response(StatusCode::INTERNAL_SERVER_ERROR);
        };
        let folder = ensure_notes_folder(state, user);
        let cat = normalize_category(&category);
        let dir = if cat.is_empty() {
            folder.clone()
        } else if folder.is_empty() {
            cat
        } else {
            format!("{folder}/{cat}")
        };
        let now = state.now();
        if user
            .files
            .mkdir_p(&dir, &mut || state.next_id(), now)
            .is_err()
        {
            return error_response(StatusCode::INTERNAL_SERVER_ERROR);
        }
        let filename = generate_file_name(user, &dir, &title, &current_suffix(user), None);
        let path = if dir.is_empty() {
            filename
        } else {
            format!("{dir}/{filename}")
        };
        let id = state.next_id();
        if user
            .files
            .put(&path, Bytes::from(content.into_bytes()), id, now, now)
            .is_err()
        {
            return error_response(StatusCode::INTERNAL_SERVER_ERROR);
        }
        if modified != 0 {
            let _ = user.files.touch(&path, modified, now);
        }
        if favorite {
            user.favorites.insert(id);
        }
        match note_data(state, user, &path, &folder, &[]) {
            Some(d) => notes_json(StatusCode::OK, &d),
            None => error_response(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    fn update(&self, id: u64, auto_title: bool) -> Response {
        let state = self.state;
        let p = self.params;
        let content = p.string("content");
        let modified = p.int("modified");
        let category = p.string("category");
        let favorite = p.bool("favorite");
        let mut world = state.world();
        let Some(user) = world.users.get_mut(self.user_id) else {
            return error_response(StatusCode::INTERNAL_SERVER_ERROR);
        };
        let folder = ensure_notes_folder(state, user);
        let Some(mut path) = find_note(user, &folder, id) else {
            return error_response(StatusCode::NOT_FOUND);
        };
        // Helper::getNoteWithETagCheck
        if let Some(if_match) = self
            .headers
            .get(http::header::IF_MATCH)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
        {
            let Some(meta) = update_meta(state, user, &path, &folder) else {
                return error_response(StatusCode::NOT_FOUND);
            };
            let wanted = format!("\"{}\"", meta.etag);
            let matches = if_match
                .split(',')
                .map(str::trim_start)
                .any(|t| t == wanted);
            if !matches {
                return match note_data(state, user, &path, &folder, &[]) {
                    Some(d) => notes_json(StatusCode::PRECONDITION_FAILED, &d),
                    None => error_response(StatusCode::NOT_FOUND),
                };
            }
        }
        let title = if auto_title {
            let source = match &content {
                Some(c) => c.clone(),
                None => user
                    .files
                    .get(&path)
                    .map(|n| String::from_utf8_lossy(&n.content).into_owned())
                    .unwrap_or_default(),
            };
            Some(safe_title(&strip_markdown(&source)))
        } else {
            p.string("title")
        };
        let now = state.now();
        let current_content = user
            .files
            .get(&path)
            .map(|n| String::from_utf8_lossy(&n.content).into_owned())
            .unwrap_or_default();
        if let Some(c) = &content
            && *c != current_content
        {
            let _ = user
                .files
                .put(&path, Bytes::from(c.clone().into_bytes()), id, now, now);
        }
        if let Some(m) = modified
            && Some(m) != user.files.get(&path).map(|n| n.mtime)
        {
            let _ = user.files.touch(&path, m, now);
        }
        let cur_title = note_title(&path);
        let cur_cat = note_category(&path, &folder);
        let target = match (&title, &category) {
            (Some(t), _) if *t != cur_title => {
                Some((t.clone(), category.clone().unwrap_or(cur_cat.clone())))
            }
            (_, Some(c)) if *c != cur_cat => Some((cur_title.clone(), c.clone())),
            _ => None,
        };
        if let Some((t, c)) = target {
            // Note::setTitleCategory
            let cat = normalize_category(&c);
            let dir = if cat.is_empty() {
                folder.clone()
            } else {
                format!("{folder}/{cat}")
            };
            let _ = user.files.mkdir_p(&dir, &mut || state.next_id(), now);
            let suffix = fs::name_of(&path)
                .rfind('.')
                .map(|i| fs::name_of(&path)[i..].to_string())
                .unwrap_or_default();
            let filename = generate_file_name(user, &dir, &t, &suffix, Some(id));
            let new_path = format!("{dir}/{filename}");
            let old_parent = fs::parent_of(&path).unwrap_or("").to_string();
            if new_path != path {
                match user.files.rename(&path, &new_path, now) {
                    Ok(()) => path = new_path,
                    Err(FsError::AlreadyExists) => {
                        return error_response(StatusCode::INTERNAL_SERVER_ERROR);
                    }
                    Err(_) => return error_response(StatusCode::INTERNAL_SERVER_ERROR),
                }
            }
            delete_empty_folders(state, user, old_parent, &folder);
        }
        if let Some(f) = favorite {
            if f {
                user.favorites.insert(id);
            } else {
                user.favorites.remove(&id);
            }
        }
        match note_data(state, user, &path, &folder, &[]) {
            Some(d) => notes_json(StatusCode::OK, &d),
            None => error_response(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    fn destroy(&self, id: u64) -> Response {
        let state = self.state;
        let mut world = state.world();
        let Some(user) = world.users.get_mut(self.user_id) else {
            return error_response(StatusCode::INTERNAL_SERVER_ERROR);
        };
        let folder = ensure_notes_folder(state, user);
        let Some(path) = find_note(user, &folder, id) else {
            return error_response(StatusCode::NOT_FOUND);
        };
        let parent = fs::parent_of(&path).unwrap_or("").to_string();
        let _ = user.files.delete(&path, state.now());
        user.note_meta.remove(&id);
        user.favorites.remove(&id);
        delete_empty_folders(state, user, parent, &folder);
        notes_json(StatusCode::OK, &json!([]))
    }

    fn public_settings(&self, user: &User) -> PublicSettings {
        let s = &user.notes_settings;
        PublicSettings {
            notes_path: s.notes_path.clone(),
            file_suffix: current_suffix(user),
            note_mode: s.note_mode.clone(),
        }
    }

    fn get_settings(&self) -> Response {
        let mut world = self.state.world();
        let Some(user) = world.users.get_mut(self.user_id) else {
            return error_response(StatusCode::INTERNAL_SERVER_ERROR);
        };
        notes_json(StatusCode::OK, &self.public_settings(user))
    }

    fn set_settings(&self) -> Response {
        let mut world = self.state.world();
        let text_installed = self.state.app_installed("text");
        let Some(user) = world.users.get_mut(self.user_id) else {
            return error_response(StatusCode::INTERNAL_SERVER_ERROR);
        };
        let p = self.params;
        let s = &mut user.notes_settings;
        if let Some(suffix) = p.string("fileSuffix") {
            if suffix == ".md" || suffix == ".txt" {
                s.file_suffix = suffix;
            } else {
                // setPublic: unknown suffixes become a custom suffix, sanitised.
                let cleaned: String = suffix
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
                    .collect();
                let cleaned = cleaned.trim_start_matches('.');
                s.custom_suffix = if cleaned.is_empty() {
                    ".md".into()
                } else {
                    format!(".{cleaned}")
                };
                s.file_suffix = "custom".into();
            }
        }
        if let Some(path) = p.string("notesPath") {
            let mut parts: Vec<&str> = Vec::new();
            for part in path.split(['/', '\\']) {
                match part {
                    ".." => {
                        parts.pop();
                    }
                    "" | "." => {}
                    x => parts.push(x),
                }
            }
            let joined = parts.join("/");
            s.notes_path = if joined.is_empty() {
                "Notes".into()
            } else {
                joined
            };
        }
        if let Some(mode) = p.string("noteMode") {
            let allowed: &[&str] = if text_installed {
                &["rich", "edit", "preview"]
            } else {
                &["edit", "preview"]
            };
            s.note_mode = if allowed.contains(&mode.as_str()) {
                mode
            } else {
                allowed[0].to_string()
            };
        }
        notes_json(StatusCode::OK, &self.public_settings(user))
    }

    fn get_attachment(&self, id: u64) -> Response {
        let state = self.state;
        let rel = self.params.string("path").unwrap_or_default();
        let mut world = state.world();
        let Some(user) = world.users.get_mut(self.user_id) else {
            return error_response(StatusCode::NOT_FOUND);
        };
        let folder = ensure_notes_folder(state, user);
        let Some(path) = find_note(user, &folder, id) else {
            return error_response(StatusCode::NOT_FOUND);
        };
        let category = note_category(&path, &folder);
        let mut parts: Vec<String> = category
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        for seg in rel.replace('\\', "/").split('/') {
            if seg == ".." {
                parts.pop();
            } else if !seg.is_empty() {
                parts.push(seg.to_string());
            }
        }
        let target = if folder.is_empty() {
            parts.join("/")
        } else {
            format!("{folder}/{}", parts.join("/"))
        };
        let Some(node) = user.files.get(&target).filter(|n| !n.is_dir) else {
            return error_response(StatusCode::NOT_FOUND);
        };
        let name = fs::name_of(&target).to_string();
        Response::builder()
            .status(StatusCode::OK)
            .header(
                http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            )
            .header(http::header::CONTENT_TYPE, fs::mime_for(&name, false))
            .header(http::header::VARY, "Authorization, Cookie")
            .header(http::header::CACHE_CONTROL, "private, max-age=3600")
            .body(Body::from(node.content.clone()))
            .unwrap_or_else(|_| error_response(StatusCode::NOT_FOUND))
    }
}

/// `ChunkCursor::fromString`: `<timeStart>-<noteLastUpdate>-<noteId>`.
fn parse_cursor(s: &str) -> Option<(i64, i64, u64)> {
    let mut it = s.split('-');
    let a = it.next()?;
    let b = it.next()?;
    let c = it.next()?;
    if it.next().is_some() {
        return None;
    }
    let all_digits = |x: &str| !x.is_empty() && x.chars().all(|c| c.is_ascii_digit());
    if !(all_digits(a) && all_digits(b) && all_digits(c)) {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?, c.parse().ok()?))
}

/// Creates a note directly in a user's tree (sample data, tests). Returns the note id.
pub fn seed_note(
    state: &AppState,
    user: &mut User,
    category: &str,
    title: &str,
    content: &str,
    favorite: bool,
    mtime: i64,
) -> Option<u64> {
    let folder = ensure_notes_folder(state, user);
    let cat = normalize_category(category);
    let dir = if cat.is_empty() {
        folder.clone()
    } else {
        format!("{folder}/{cat}")
    };
    let now = state.now();
    user.files
        .mkdir_p(&dir, &mut || state.next_id(), now)
        .ok()?;
    let filename = generate_file_name(user, &dir, title, &current_suffix(user), None);
    let path = format!("{dir}/{filename}");
    let id = state.next_id();
    user.files
        .put(&path, Bytes::from(content.to_string()), id, mtime, now)
        .ok()?;
    if favorite {
        user.favorites.insert(id);
    }
    update_meta(state, user, &path, &folder);
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles() {
        assert_eq!(safe_title(""), "New note");
        assert_eq!(safe_title("  ..hidden: a/b?\nsecond"), "hidden ab");
        assert_eq!(
            safe_title(&strip_markdown("# Hello *world*\nbody")),
            "Hello world"
        );
        assert_eq!(normalize_category("/a//b:/"), "a/b");
        assert_eq!(parse_cursor("1-2-3"), Some((1, 2, 3)));
        assert_eq!(parse_cursor("1-2"), None);
    }

    #[test]
    fn php_json() {
        let mut s = String::new();
        php_json_str(&mut s, "a/é😀\n");
        assert_eq!(s, "\"a\\/\\u00e9\\ud83d\\ude00\\n\"");
    }
}
