//! OCS: the envelope (`{"ocs":{"meta":..,"data":..}}`, v1 vs v2 status mapping, JSON/XML),
//! plus the core OCS endpoints: `cloud/user`, `cloud/capabilities`, `core/apppassword`,
//! `core/getapppassword`. Later apps add their OCS routes to [`dispatch`].

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use quick_xml::escape::escape as xml_escape;
use serde_json::{Value, json};

use crate::auth::{Auth, AuthOutcome, authenticate};
use crate::state::{AppPassword, AppState, VERSION, random_token};

/// OCS API version, from the script name (`/ocs/v1.php` or `/ocs/v2.php`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OcsVersion {
    V1,
    V2,
}

/// Response format of an OCS answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

/// OCS status codes with special meaning (OCSController::RESPOND_*).
pub const RESPOND_UNAUTHORISED: u16 = 997;
pub const RESPOND_NOT_FOUND: u16 = 998;
pub const RESPOND_SERVER_ERROR: u16 = 996;
pub const RESPOND_UNKNOWN_ERROR: u16 = 999;

/// The `format` query parameter, as `OC_API::requestedFormat` reads it.
pub fn format_param(query: Option<&str>) -> Option<Format> {
    let query = query?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "format")
        .and_then(|(_, v)| match v.as_ref() {
            "json" => Some(Format::Json),
            "xml" => Some(Format::Xml),
            _ => None,
        })
}

/// Format for controller responses: `format` parameter first, then the first `Accept` entry
/// naming `application/json` or `application/xml` (like `getResponderByHTTPHeader`), else XML.
pub fn negotiate(query: Option<&str>, headers: &HeaderMap) -> Format {
    if let Some(f) = format_param(query) {
        return f;
    }
    let accept = headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for part in accept.split(',') {
        let part = part.trim().to_ascii_lowercase();
        match part.strip_prefix("application/").unwrap_or(&part) {
            "json" => return Format::Json,
            "xml" => return Format::Xml,
            _ => {}
        }
    }
    Format::Xml
}

/// An OCS answer before rendering: the controller's status (HTTP-ish or OCS code), message
/// and data.
#[derive(Clone, Debug)]
pub struct OcsResult {
    pub status: u16,
    pub message: Option<String>,
    pub data: Value,
}

impl OcsResult {
    pub fn ok(data: Value) -> Self {
        Self {
            status: 200,
            message: None,
            data,
        }
    }

    pub fn error(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: Some(message.into()),
            data: json!([]),
        }
    }
}

/// Nextcloud's router answer to a path no enabled app serves: OCS 998 in the format the
/// `format` parameter asks, XML without one (no controller ran to negotiate).
pub fn router_not_found(query: Option<&str>) -> Response {
    let format = format_param(query).unwrap_or(Format::Xml);
    render_legacy(OcsVersion::V2, format, RESPOND_NOT_FOUND, INVALID_QUERY)
}

/// A call to an app's OCS v2 API that got past what Nextcloud checks before the app's
/// controller runs: the app is enabled (else the router's 404) and the caller is logged in.
pub struct AppCall<'a> {
    pub format: Format,
    pub user: String,
    pub params: crate::params::Params,
    pub world: std::sync::MutexGuard<'a, crate::state::World>,
}

/// Checks a call to `app`'s OCS v2 API; `Err` is the answer Nextcloud gives instead.
pub fn app_call<'a>(
    state: &'a AppState,
    app: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<AppCall<'a>, Box<Response>> {
    if !state.app_installed(app) {
        return Err(Box::new(router_not_found(query)));
    }
    let format = negotiate(query, headers);
    let world = state.world();
    let user = ocs_v2_user(&world, headers, format)?;
    Ok(AppCall {
        format,
        user,
        params: crate::params::Params::parse(query, headers, body),
        world,
    })
}

/// Renders like `V1Response`/`V2Response` (AppFramework OCS controllers).
/// The user an app's OCS v2 API (Deck's, Tables') acts for, or what Nextcloud answers
/// instead: the OCS "not logged in" error without credentials, a JSON 401 for wrong ones.
pub fn ocs_v2_user(
    world: &crate::state::World,
    headers: &HeaderMap,
    format: Format,
) -> Result<String, Box<Response>> {
    match authenticate(world, headers) {
        AuthOutcome::Ok(a) => Ok(a.user_id),
        AuthOutcome::Anonymous => Err(Box::new(render(
            OcsVersion::V2,
            format,
            OcsResult::error(RESPOND_UNAUTHORISED, "Current user is not logged in"),
        ))),
        AuthOutcome::Invalid => Err(Box::new(crate::login_failed_json())),
    }
}

pub fn render(version: OcsVersion, format: Format, res: OcsResult) -> Response {
    let (http_status, meta) = match version {
        OcsVersion::V1 => {
            let http = if res.status == RESPOND_UNAUTHORISED {
                401
            } else {
                200
            };
            let code = if res.status == 200 { 100 } else { res.status };
            let ok = code == 100;
            (
                http,
                vec![
                    ("status", json!(if ok { "ok" } else { "failure" })),
                    ("statuscode", json!(code)),
                    (
                        "message",
                        json!(if ok {
                            "OK".to_string()
                        } else {
                            res.message.clone().unwrap_or_default()
                        }),
                    ),
                    ("totalitems", json!("")),
                    ("itemsperpage", json!("")),
                ],
            )
        }
        OcsVersion::V2 => {
            let s = res.status;
            let http = match s {
                RESPOND_UNAUTHORISED => 401,
                RESPOND_NOT_FOUND => 404,
                RESPOND_SERVER_ERROR | RESPOND_UNKNOWN_ERROR => 500,
                s if !(200..=600).contains(&s) => 400,
                s => s,
            };
            let ok = (200..300).contains(&s);
            (
                http,
                vec![
                    ("status", json!(if ok { "ok" } else { "failure" })),
                    ("statuscode", json!(s)),
                    (
                        "message",
                        json!(if ok {
                            "OK".to_string()
                        } else {
                            res.message.clone().unwrap_or_default()
                        }),
                    ),
                ],
            )
        }
    };
    envelope(http_status, format, &meta, &res.data, false)
}

/// Renders like the legacy `OC_API::respond` (used before routing: bad credentials, unknown
/// routes). v2 maps the OCS code onto the HTTP status; 997 always means HTTP 401.
pub fn render_legacy(version: OcsVersion, format: Format, code: u16, message: &str) -> Response {
    let mut http = if code == RESPOND_UNAUTHORISED {
        401
    } else {
        200
    };
    let mut statuscode = code;
    if version == OcsVersion::V2 {
        let mapped = match code {
            RESPOND_NOT_FOUND => Some(404),
            RESPOND_SERVER_ERROR | RESPOND_UNKNOWN_ERROR => Some(500),
            RESPOND_UNAUTHORISED => None,
            100 => Some(200),
            c if (200..600).contains(&c) => Some(c),
            _ => Some(400),
        };
        if let Some(m) = mapped {
            statuscode = m;
            http = m;
        }
    }
    let ok = code == 100;
    let meta = vec![
        ("status", json!(if ok { "ok" } else { "failure" })),
        ("statuscode", json!(statuscode)),
        ("message", json!(message)),
        ("totalitems", json!("")),
        ("itemsperpage", json!("")),
    ];
    let mut resp = envelope(http, format, &meta, &Value::Null, true);
    if code == RESPOND_UNAUTHORISED {
        resp.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Basic realm=\"Authorisation Required\""),
        );
    }
    resp
}

fn envelope(
    http_status: u16,
    format: Format,
    meta: &[(&str, Value)],
    data: &Value,
    legacy: bool,
) -> Response {
    let status = StatusCode::from_u16(http_status).unwrap_or(StatusCode::OK);
    if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        return status.into_response();
    }
    let (ctype, body) = match format {
        Format::Json => {
            let meta_obj: serde_json::Map<String, Value> = meta
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            let body = json!({"ocs": {"meta": meta_obj, "data": data}}).to_string();
            ("application/json; charset=utf-8", body)
        }
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\"?>\n<ocs>\n <meta>\n");
            for (k, v) in meta {
                write_xml(&mut out, k, v, 2);
            }
            out.push_str(" </meta>\n");
            write_xml(&mut out, "data", data, 1);
            out.push_str("</ocs>\n");
            (
                if legacy {
                    "text/xml; charset=UTF-8"
                } else {
                    "application/xml; charset=utf-8"
                },
                out,
            )
        }
    };
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, ctype)
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// PHP XMLWriter output with one-space indentation, as `BaseResponse::toXML` produces:
/// list items become `<element>`, `null` and empty arrays become empty elements, booleans
/// become `1`/empty.
fn write_xml(out: &mut String, key: &str, value: &Value, depth: usize) {
    let pad = " ".repeat(depth);
    match value {
        Value::Null => out.push_str(&format!("{pad}<{key}/>\n")),
        Value::Bool(b) => {
            if *b {
                out.push_str(&format!("{pad}<{key}>1</{key}>\n"));
            } else {
                out.push_str(&format!("{pad}<{key}></{key}>\n"));
            }
        }
        Value::Number(n) => out.push_str(&format!("{pad}<{key}>{n}</{key}>\n")),
        Value::String(s) => out.push_str(&format!("{pad}<{key}>{}</{key}>\n", xml_escape(s))),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str(&format!("{pad}<{key}/>\n"));
                return;
            }
            out.push_str(&format!("{pad}<{key}>\n"));
            for item in items {
                write_xml(out, "element", item, depth + 1);
            }
            out.push_str(&format!("{pad}</{key}>\n"));
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str(&format!("{pad}<{key}/>\n"));
                return;
            }
            out.push_str(&format!("{pad}<{key}>\n"));
            for (k, v) in map {
                let k = if k.chars().all(|c| c.is_ascii_digit()) {
                    "element"
                } else {
                    k.as_str()
                };
                write_xml(out, k, v, depth + 1);
            }
            out.push_str(&format!("{pad}</{key}>\n"));
        }
    }
}

/// Whether the request identifies itself as an API client (`OCS-APIRequest: true`) or uses a
/// bearer token; otherwise OCS controllers fail the CSRF check.
fn is_ocs_api_request(headers: &HeaderMap) -> bool {
    headers
        .get("ocs-apirequest")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "true")
        || headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer "))
}

/// How an OCS route wants to be guarded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// `#[PublicPage]`: anonymous allowed.
    Public,
    /// Needs a logged-in user.
    User,
}

type Handler = fn(&AppState, Option<&Auth>, &RequestCtx) -> OcsResult;

/// What a handler may look at.
pub struct RequestCtx {
    pub headers: HeaderMap,
    pub query: Option<String>,
    /// The route below `/ocs/v?.php/`, for handlers that read ids out of it.
    pub path: String,
    pub body: Bytes,
}

fn route(method: &Method, path: &str) -> Result<(Access, Handler), bool> {
    // Ok(handler) | Err(true) = path known but method not allowed | Err(false) = unknown
    let path = path.trim_end_matches('/');
    if let Some(found) = crate::sharing::route(method, path) {
        return found.map(|h| (Access::User, h));
    }
    let table: &[(&str, Method, Access, Handler)] = &[
        ("cloud/user", Method::GET, Access::User, cloud_user),
        (
            "cloud/capabilities",
            Method::GET,
            Access::Public,
            capabilities,
        ),
        (
            "core/apppassword",
            Method::DELETE,
            Access::User,
            delete_app_password,
        ),
        (
            "core/getapppassword",
            Method::GET,
            Access::User,
            get_app_password,
        ),
        (
            "core/apppassword/rotate",
            Method::POST,
            Access::User,
            rotate_app_password,
        ),
    ];
    let mut known = false;
    for (p, m, a, h) in table {
        if *p == path {
            known = true;
            if m == method {
                return Ok((*a, *h));
            }
        }
    }
    Err(known)
}

pub const INVALID_QUERY: &str = "Invalid query, please check the syntax. API specifications are here: http://www.freedesktop.org/wiki/Specifications/open-collaboration-services.\n";

/// `/ocs/v1.php/*` and `/ocs/v2.php/*`.
pub async fn dispatch(
    State(state): State<AppState>,
    Path((script, rest)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let version = match script.as_str() {
        "v1.php" => OcsVersion::V1,
        "v2.php" => OcsVersion::V2,
        _ => return crate::not_found_page(),
    };
    let outcome = authenticate(&state.world(), &headers);
    let legacy_format = format_param(query.as_deref()).unwrap_or(Format::Xml);
    let auth = match outcome {
        AuthOutcome::Invalid => {
            // base.php's login fails before routing: OC_API::respond, always XML.
            return render_legacy(version, Format::Xml, RESPOND_UNAUTHORISED, "Unauthorised");
        }
        AuthOutcome::Anonymous => None,
        AuthOutcome::Ok(a) => Some(a),
    };
    let (access, handler) = match route(&method, &rest) {
        Ok(r) => r,
        Err(true) => return StatusCode::METHOD_NOT_ALLOWED.into_response(),
        Err(false) => {
            return render_legacy(version, legacy_format, RESPOND_NOT_FOUND, INVALID_QUERY);
        }
    };
    let format = negotiate(query.as_deref(), &headers);
    if access == Access::User && auth.is_none() {
        return render(
            version,
            format,
            OcsResult::error(RESPOND_UNAUTHORISED, "Current user is not logged in"),
        );
    }
    if !is_ocs_api_request(&headers) {
        // SecurityMiddleware: CrossSiteRequestForgeryException -> plain JSON 412.
        return (
            StatusCode::PRECONDITION_FAILED,
            axum::Json(json!({"message": "CSRF check failed"})),
        )
            .into_response();
    }
    let ctx = RequestCtx {
        headers,
        query,
        path: rest,
        body,
    };
    let res = handler(&state, auth.as_ref(), &ctx);
    render(version, format, res)
}

fn cloud_user(state: &AppState, auth: Option<&Auth>, _ctx: &RequestCtx) -> OcsResult {
    let Some(auth) = auth else {
        return OcsResult::error(RESPOND_UNAUTHORISED, "");
    };
    let world = state.world();
    let Some(user) = world.users.get(&auth.user_id) else {
        return OcsResult::error(RESPOND_UNAUTHORISED, "");
    };
    let used = user.files.size("");
    let free: u64 = 10 * 1024 * 1024 * 1024;
    let total = used + free;
    let relative = ((used as f64 / total as f64) * 10000.0).round() / 100.0;
    let now = state.now();
    OcsResult::ok(json!({
        "enabled": true,
        "storageLocation": format!("/var/www/html/data/{}", user.id),
        "id": user.id,
        "firstLoginTimestamp": now - 86400,
        "lastLoginTimestamp": now,
        "lastLogin": now * 1000,
        "backend": "Database",
        "subadmin": [],
        "quota": {"free": free, "used": used, "total": total, "relative": relative, "quota": -3},
        "manager": "",
        "avatarScope": "v2-federated",
        "email": user.email,
        "emailScope": "v2-federated",
        "additional_mail": [],
        "additional_mailScope": [],
        "displayname": user.display_name,
        "display-name": user.display_name,
        "displaynameScope": "v2-federated",
        "phone": "",
        "phoneScope": "v2-local",
        "address": "",
        "addressScope": "v2-local",
        "website": "",
        "websiteScope": "v2-local",
        "twitter": "",
        "twitterScope": "v2-local",
        "bluesky": "",
        "blueskyScope": "v2-local",
        "fediverse": "",
        "fediverseScope": "v2-local",
        "organisation": "",
        "organisationScope": "v2-local",
        "role": "",
        "roleScope": "v2-local",
        "headline": "",
        "headlineScope": "v2-local",
        "biography": "",
        "biographyScope": "v2-local",
        "profile_enabled": "1",
        "profile_enabledScope": "v2-local",
        "pronouns": "",
        "pronounsScope": "v2-federated",
        "groups": user.groups,
        "language": "en",
        "locale": "",
        "notify_email": null,
        "backendCapabilities": {"setDisplayName": true, "setPassword": true},
    }))
}

/// The `version` block of capabilities.
pub fn version_block() -> Value {
    let (major, minor, micro, _) = VERSION;
    json!({
        "major": major,
        "minor": minor,
        "micro": micro,
        "string": format!("{major}.{minor}.{micro}"),
        "edition": "",
        "extendedSupport": false,
    })
}

fn capabilities(state: &AppState, auth: Option<&Auth>, _ctx: &RequestCtx) -> OcsResult {
    let installed = |a: &str| state.app_installed(a);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "core".into(),
        json!({
            "pollinterval": 60,
            "webdav-root": "remote.php/webdav",
            "reference-api": true,
            "reference-regex": "(\\s|\\n|^)(https?:\\/\\/)((?:[-A-Z0-9+_]+\\.)+[-A-Z]+(?:\\/[-A-Z0-9+&@#%?=~_|!:,.;()]*)*)(\\s|\\n|$)",
            "mod-rewrite-working": false,
        }),
    );
    caps.insert(
        "bruteforce".into(),
        json!({"delay": 0, "allow-listed": false}),
    );
    caps.insert(
        "dav".into(),
        json!({"chunking": "1.0", "public_shares_chunking": true, "bulkupload": "1.0", "absence-supported": true, "absence-replacement": true}),
    );
    let mut files = json!({
        "bigfilechunking": true,
        "blacklisted_files": [".htaccess"],
        "forbidden_filenames": [".htaccess"],
        "forbidden_filename_basenames": [],
        "forbidden_filename_characters": ["\\", "/"],
        "forbidden_filename_extensions": [".part", ".filepart"],
        "chunked_upload": {"max_size": 104857600, "max_parallel_count": 5},
        "file_conversions": [],
        "windows_compatible_filenames": false,
    });
    if let Some(obj) = files.as_object_mut() {
        if installed("comments") {
            obj.insert("comments".into(), json!(true));
        }
        if installed("files_trashbin") {
            obj.insert("undelete".into(), json!(true));
            obj.insert("delete_from_trash".into(), json!(true));
        }
        if installed("files_versions") {
            obj.insert("versioning".into(), json!(true));
            obj.insert("version_labeling".into(), json!(true));
            obj.insert("version_deletion".into(), json!(true));
        }
    }
    caps.insert("files".into(), files);
    if installed("files_sharing") {
        caps.insert(
            "files_sharing".into(),
            json!({
                "api_enabled": true,
                "public": {
                    "enabled": true,
                    "password": {"enforced": false, "askForOptionalPassword": false},
                    "multiple_links": true,
                    "expire_date": {"enabled": false},
                    "expire_date_internal": {"enabled": false},
                    "expire_date_remote": {"enabled": false},
                    "send_mail": false,
                    "upload": true,
                    "upload_files_drop": true,
                    "custom_tokens": false,
                },
                "user": {"send_mail": false, "expire_date": {"enabled": true}},
                "resharing": true,
                "group_sharing": true,
                "group": {"enabled": true, "expire_date": {"enabled": true}},
                "default_permissions": 31,
                "federation": {
                    "outgoing": true,
                    "incoming": true,
                    "expire_date": {"enabled": true},
                    "expire_date_supported": {"enabled": true},
                },
                "sharee": {"query_lookup_default": false, "always_show_unique": true},
            }),
        );
    }
    // App capabilities that are not IPublicCapability only show up for logged-in users.
    if let Some(auth) = auth {
        if installed("notes") {
            let notes_path = state
                .world()
                .users
                .get(&auth.user_id)
                .map(|u| u.notes_settings.notes_path.clone());
            caps.insert(
                "notes".into(),
                json!({
                    "api_version": crate::notes::API_VERSIONS,
                    "version": "6.0.2",
                    "notes_path": notes_path,
                }),
            );
        }
        if installed("deck") {
            caps.insert(
                "deck".into(),
                json!({
                    "version": state.app_version("deck").unwrap_or("1.18.0"),
                    "canCreateBoards": true,
                    "apiVersions": ["1.0", "1.1"],
                }),
            );
        }
        if installed("tables") {
            caps.insert(
                "tables".into(),
                json!({
                    "enabled": true,
                    "version": "2.2.2",
                    "apiVersions": ["1.0", "2.0", "2.1"],
                    "features": ["favorite", "archive"],
                    "isCirclesEnabled": false,
                    "column_types": [
                        "text-line", "text-rich", "text-link", "number", "number-stars",
                        "number-progress", "selection", "selection-multi", "selection-check",
                        "datetime", "datetime-date", "datetime-time", "usergroup",
                    ],
                }),
            );
        }
        if installed("cookbook") {
            caps.insert("cookbook".into(), json!({"version": [0, 11, 5, ""]}));
        }
        // Collectives publishes no capability (as on a real server): clients probe its API.
        if installed("systemtags") {
            caps.insert("systemtags".into(), json!({"enabled": true}));
        }
        if installed("spreed") {
            caps.insert("spreed".into(), crate::talk::capability(state));
        }
    }
    OcsResult::ok(json!({"version": version_block(), "capabilities": caps}))
}

fn delete_app_password(state: &AppState, auth: Option<&Auth>, _ctx: &RequestCtx) -> OcsResult {
    let Some(token) = auth.and_then(|a| a.app_password.clone()) else {
        return OcsResult::error(403, "no app password in use");
    };
    if state.world().app_passwords.remove(&token).is_none() {
        return OcsResult::error(403, "could not remove apptoken");
    }
    OcsResult::ok(json!([]))
}

fn get_app_password(state: &AppState, auth: Option<&Auth>, _ctx: &RequestCtx) -> OcsResult {
    let Some(auth) = auth else {
        return OcsResult::error(RESPOND_UNAUTHORISED, "");
    };
    if auth.app_password.is_some() {
        return OcsResult::error(
            403,
            "You cannot request an new apppassword with an apppassword",
        );
    }
    let token = random_token(72);
    state.world().app_passwords.insert(
        token.clone(),
        AppPassword {
            user_id: auth.user_id.clone(),
            login_name: auth.login_name.clone(),
        },
    );
    OcsResult::ok(json!({"apppassword": token}))
}

fn rotate_app_password(state: &AppState, auth: Option<&Auth>, _ctx: &RequestCtx) -> OcsResult {
    let Some(old) = auth.and_then(|a| a.app_password.clone()) else {
        return OcsResult::error(403, "no app password in use");
    };
    let mut world = state.world();
    let Some(entry) = world.app_passwords.remove(&old) else {
        return OcsResult::error(403, "could not rotate apptoken");
    };
    let token = random_token(72);
    world.app_passwords.insert(token.clone(), entry);
    OcsResult::ok(json!({"apppassword": token}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_shape() {
        let mut out = String::new();
        write_xml(
            &mut out,
            "data",
            &json!({"a": [1, 2], "b": null, "c": true, "d": "x<y"}),
            1,
        );
        assert_eq!(
            out,
            " <data>\n  <a>\n   <element>1</element>\n   <element>2</element>\n  </a>\n  <b/>\n  <c>1</c>\n  <d>x&lt;y</d>\n </data>\n"
        );
    }

    #[test]
    fn accept_negotiation() {
        let mut h = HeaderMap::new();
        assert_eq!(negotiate(None, &h), Format::Xml);
        h.insert("accept", "text/html, application/json".parse().unwrap());
        assert_eq!(negotiate(None, &h), Format::Json);
        assert_eq!(negotiate(Some("format=xml"), &h), Format::Xml);
    }
}
