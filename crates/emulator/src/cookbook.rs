//! The Cookbook app's REST API v1 (`/index.php/apps/cookbook/api/v1/...`), following its
//! `RecipeImplementation`, `CategoryImplementation`, `KeywordImplementation`,
//! `ConfigImplementation`, `RecipeService`, `RecipeDb` and the JSON filters:
//!
//! - recipes belong to one user and live in that user's recipe folder; a recipe's id is its
//!   folder's file id, sent as a string in recipes and as a number (`recipe_id`) in listings;
//! - `POST recipes` and `PUT recipes/{id}` answer the bare id; the update picks the recipe by
//!   the `id` in the body (none: it creates a new one), and a name another recipe has is a
//!   409 `{msg}`; no name is a 422 `{msg}`;
//! - `GET recipes/{id}` of an unknown id is a 404 whose body is the bare id; `DELETE` of an
//!   unknown id still answers 200;
//! - documents are normalised as the app's filters do (durations to `PT#H#M#S`, keywords to a
//!   comma string, the category to one string, the yield to an integer, ...);
//! - `search/{q}`, `category/{c}` and `tags/{k}` decode their parameter a second time;
//!   `category/_` lists recipes without a category, which the category list counts as `*`;
//! - `tags/{a,b}` (like the app's SQL) only finds recipes that have a category;
//! - a body without a JSON or form `Content-Type` makes the app's parameter parser throw (500);
//! - `import` refuses `localhost` and IP hosts, fetches the page (or a page a test registered
//!   with [`crate::EmulatorHandle::register_web_page`]) and reads its schema.org JSON-LD.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::auth::{AuthOutcome, authenticate};
use crate::params::Params;
use crate::state::AppState;

/// Cookbook data of every user, plus web pages tests registered for `import`.
#[derive(Debug, Default)]
pub struct CookbookState {
    users: HashMap<String, UserBook>,
    /// URL → HTML served to `import` instead of fetching it.
    pub(crate) pages: HashMap<String, String>,
}

#[derive(Debug)]
struct UserBook {
    /// Recipe id → (folder it lives in, stored `recipe.json`).
    recipes: BTreeMap<u64, (String, Map<String, Value>)>,
    folder: String,
    update_interval: i64,
    print_image: bool,
    visible_info_blocks: Value,
}

impl Default for UserBook {
    fn default() -> Self {
        Self {
            recipes: BTreeMap::new(),
            folder: "/Recipes".into(),
            update_interval: 5,
            print_image: true,
            visible_info_blocks: json!({
                "preparation-time": true, "cooking-time": true, "total-time": true,
                "nutrition-information": true, "tools": true,
            }),
        }
    }
}

impl UserBook {
    fn current(&self) -> impl Iterator<Item = (u64, &Map<String, Value>)> {
        self.recipes
            .iter()
            .filter(|(_, (folder, _))| *folder == self.folder)
            .map(|(id, (_, r))| (*id, r))
    }

    fn get(&self, id: u64) -> Option<&Map<String, Value>> {
        self.recipes
            .get(&id)
            .filter(|(folder, _)| *folder == self.folder)
            .map(|(_, r)| r)
    }

    fn name_taken(&self, name: &str, except: Option<u64>) -> bool {
        let folder = folder_name(name);
        self.current()
            .any(|(id, r)| Some(id) != except && folder_name(str_of(r, "name")) == folder)
    }
}

fn str_of<'a>(r: &'a Map<String, Value>, key: &str) -> &'a str {
    r.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// `RecipeNameHelper::getFolderName`: the name with characters files cannot have replaced.
fn folder_name(name: &str) -> String {
    name.chars()
        .map(|c| if "/\\:*?\"<>|".contains(c) { '_' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

fn respond(status: StatusCode, body: Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

fn msg(status: StatusCode, text: &str) -> Response {
    respond(
        status,
        json!({"msg": text, "file": "/var/www/html/custom_apps/cookbook/lib/Service/RecipeService.php", "line": 0}),
    )
}

/// PHP's `urldecode` (`+` is a space).
fn urldecode(s: &str) -> String {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

fn iso_now(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S+0000")
        .to_string()
}

/// `ISO8601DurationHelper::parseDuration`: ISO (days and larger silently dropped) or `H:MM`;
/// anything else becomes `null`.
fn fix_duration(v: Option<&Value>) -> Value {
    let Some(Value::String(s)) = v else {
        return Value::Null;
    };
    let s = s.trim();
    if let Some((h, m)) = s.split_once(':')
        && !h.is_empty()
        && h.chars().all(|c| c.is_ascii_digit())
        && (1..=2).contains(&m.len())
        && m.chars().all(|c| c.is_ascii_digit())
    {
        return json!(format!(
            "PT{}H{}M",
            h.parse::<u64>().unwrap_or(0),
            m.parse::<u64>().unwrap_or(0)
        ));
    }
    let Some(rest) = s.strip_prefix('P').filter(|r| !r.is_empty()) else {
        return Value::Null;
    };
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let units_ok = |part: &str, units: &str| -> Option<Vec<(char, u64)>> {
        let mut out = Vec::new();
        let mut num = String::new();
        let mut last = 0;
        for c in part.chars() {
            if c.is_ascii_digit() {
                num.push(c);
            } else {
                let pos = units.find(c)? + 1;
                if num.is_empty() || pos <= last {
                    return None;
                }
                last = pos;
                out.push((c, num.parse().ok()?));
                num.clear();
            }
        }
        num.is_empty().then_some(out)
    };
    if units_ok(date, "YMWD").is_none() {
        return Value::Null;
    }
    let (mut h, mut m, mut sec) = (0u64, 0u64, 0u64);
    if let Some(t) = time {
        if !t.starts_with(|c: char| c.is_ascii_digit()) {
            return Value::Null;
        }
        let Some(parts) = units_ok(t, "HMS") else {
            return Value::Null;
        };
        for (u, n) in parts {
            match u {
                'H' => h = n,
                'M' => m = n,
                _ => sec = n,
            }
        }
    }
    m += sec / 60;
    sec %= 60;
    h += m / 60;
    m %= 60;
    json!(format!("PT{h}H{m}M{sec}S"))
}

fn clean_text(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn text_list(v: Option<&Value>) -> Result<Vec<Value>, ()> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) if s.is_empty() => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(s
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| json!(l))
            .collect()),
        Some(Value::Array(a)) => {
            let mut out = Vec::new();
            for item in a {
                let text = match item {
                    Value::String(s) => s.clone(),
                    Value::Object(o) => match o.get("text") {
                        Some(Value::String(t)) => t.clone(),
                        _ => return Err(()),
                    },
                    Value::Number(n) => n.to_string(),
                    _ => return Err(()),
                };
                let t = text.trim();
                if !t.is_empty() {
                    out.push(json!(t));
                }
            }
            Ok(out)
        }
        Some(_) => Err(()),
    }
}

/// `RecipeService::checkRecipe` with `JSONFilter`: the normalisation every stored recipe
/// gets. `Err` is an `InvalidRecipeException` message.
fn check_recipe(mut r: Map<String, Value>) -> Result<Map<String, Value>, String> {
    r.insert("@context".into(), json!("http://schema.org"));
    r.insert("@type".into(), json!("Recipe"));
    let name = clean_text(str_of(&r, "name"));
    r.insert("name".into(), json!(name));
    if let Some(id) = r.get("id").cloned()
        && !id.is_null()
    {
        let s = match id {
            Value::String(s) => s,
            other => other.to_string(),
        };
        r.insert("id".into(), json!(s));
    }
    let image = match r.get("image") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        Some(Value::Array(a)) => a
            .iter()
            .find_map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .or_else(|| x.get("url")?.as_str().map(str::to_string))
            })
            .unwrap_or_default(),
        _ => String::new(),
    };
    r.insert("image".into(), json!(image));
    let category = match r.get("recipeCategory") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    };
    r.insert("recipeCategory".into(), json!(clean_text(&category)));
    let recipe_yield = match r.get("recipeYield") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::Number(n)) => json!(n.as_f64().unwrap_or(1.0) as i64),
        Some(Value::Array(a)) if a.len() == 1 => yield_of(&a[0]),
        Some(other) => yield_of(other),
    };
    r.insert("recipeYield".into(), recipe_yield);
    let keywords: Vec<String> = match r.get("keywords") {
        Some(Value::String(s)) => s.split(',').map(clean_text).collect(),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(clean_text).collect(),
        _ => Vec::new(),
    };
    let mut unique: Vec<String> = Vec::new();
    for k in keywords.into_iter().filter(|k| !k.is_empty()) {
        if !unique.contains(&k) {
            unique.push(k);
        }
    }
    r.insert("keywords".into(), json!(unique.join(",")));
    for key in ["dateCreated", "dateModified", "datePublished"] {
        if !r.get(key).is_some_and(Value::is_string) {
            r.insert(key.into(), Value::Null);
        }
    }
    let tools = match r.get("tool") {
        Some(Value::String(s)) => {
            let t = s.trim();
            if t.is_empty() { vec![] } else { vec![json!(t)] }
        }
        other => text_list(other)
            .map_err(|_| "Could not parse recipe tools. Expected array or string.".to_string())?,
    };
    r.insert("tool".into(), Value::Array(tools));
    let ingredients = match r.get("recipeIngredient") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(_)) => text_list(r.get("recipeIngredient"))
            .map_err(|_| "Could not parse recipe ingredients. It is no array.".to_string())?,
        Some(_) => return Err("Could not parse recipe ingredients. It is no array.".into()),
    };
    r.insert("recipeIngredient".into(), Value::Array(ingredients));
    let instructions = text_list(r.get("recipeInstructions")).map_err(|_| {
        "Cannot parse recipe: Unknown object found during flattening of instructions.".to_string()
    })?;
    r.insert("recipeInstructions".into(), Value::Array(instructions));
    let description = match r.get("description") {
        Some(Value::String(s)) => s.trim().to_string(),
        _ => String::new(),
    };
    r.insert("description".into(), json!(description));
    let url = match r.get("url") {
        Some(Value::String(s)) if url::Url::parse(s.trim()).is_ok() => s.trim().to_string(),
        _ => String::new(),
    };
    r.insert("url".into(), json!(url));
    for key in ["prepTime", "cookTime", "totalTime"] {
        let fixed = fix_duration(r.get(key));
        r.insert(key.into(), fixed);
    }
    let nutrition = match r.get("nutrition") {
        Some(Value::Object(o)) => Value::Object(
            o.iter()
                .filter(|(_, v)| !matches!(v, Value::Null | Value::Bool(false)) && *v != "")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => json!([]),
    };
    r.insert("nutrition".into(), nutrition);
    Ok(r)
}

fn yield_of(v: &Value) -> Value {
    let text = match v {
        Value::Number(n) => return json!(n.as_f64().unwrap_or(1.0) as i64),
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(" "),
        _ => return json!(1),
    };
    let numbers: Vec<i64> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse().ok())
        .collect();
    json!(numbers.into_iter().max().unwrap_or(1))
}

/// The category the index keeps for a recipe (`None` when it has none).
fn category_of(r: &Map<String, Value>) -> Option<String> {
    let c = str_of(r, "recipeCategory").trim();
    (!c.is_empty()).then(|| c.to_string())
}

fn keywords_of(r: &Map<String, Value>) -> Vec<String> {
    let mut k: Vec<String> = str_of(r, "keywords")
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect();
    k.sort();
    k.dedup();
    k
}

/// An index entry as `RecipeStubFilter` sends it.
fn stub(id: u64, r: &Map<String, Value>, category: Option<Option<String>>) -> Value {
    let keywords = keywords_of(r);
    json!({
        "recipe_id": id,
        "name": str_of(r, "name"),
        "keywords": if keywords.is_empty() { Value::Null } else { json!(keywords.join(",")) },
        "category": category.unwrap_or_else(|| category_of(r)),
        "dateCreated": r.get("dateCreated").cloned().unwrap_or(Value::Null),
        "dateModified": r.get("dateModified").cloned().unwrap_or(Value::Null),
        "imageUrl": format!("/index.php/apps/cookbook/webapp/recipes/{id}/image?size=thumb"),
        "imagePlaceholderUrl": format!("/index.php/apps/cookbook/webapp/recipes/{id}/image?size=thumb16"),
        "id": id.to_string(),
    })
}

fn sorted(mut stubs: Vec<Value>) -> Value {
    stubs.sort_by_key(|s| s["name"].as_str().unwrap_or_default().to_lowercase());
    Value::Array(stubs)
}

/// `HttpJsonLdParser`: the first schema.org `Recipe` in the page's JSON-LD blocks.
fn recipe_from_html(html: &str) -> Option<Map<String, Value>> {
    let is_recipe = |v: &Value| match v.get("@type") {
        Some(Value::String(t)) => t == "Recipe",
        Some(Value::Array(a)) => a.iter().any(|t| t == "Recipe"),
        _ => false,
    };
    let mut rest = html;
    while let Some(start) = rest.find("application/ld+json") {
        let after = &rest[start..];
        let open = after.find('>')? + 1;
        let close = after[open..].find("</script>")?;
        let raw = after[open..open + close]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        rest = &after[open + close..];
        let Ok(json) = serde_json::from_str::<Value>(&raw) else {
            continue;
        };
        let candidates: Vec<Value> = match &json {
            Value::Array(a) => a.clone(),
            Value::Object(o) => match o.get("@graph") {
                Some(Value::Array(g)) => g.clone(),
                _ => vec![json.clone()],
            },
            _ => continue,
        };
        if let Some(Value::Object(mut r)) = candidates.into_iter().find(|c| is_recipe(c)) {
            r.insert("@type".into(), json!("Recipe"));
            return Some(r);
        }
    }
    None
}

/// `RecipeImplementation::isDownloadUrlValid`.
fn download_url_allowed(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    if !matches!(u.scheme(), "http" | "https") {
        return false;
    }
    match u.host() {
        Some(url::Host::Domain(d)) => d != "localhost",
        _ => false,
    }
}

fn body_type_known(headers: &HeaderMap) -> bool {
    let ctype = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let main = ctype.split(';').next().unwrap_or_default().trim();
    matches!(
        main,
        "application/json" | "multipart/form-data" | "application/x-www-form-urlencoded"
    )
}

/// An exception the app does not catch.
fn internal_error() -> Response {
    respond(
        StatusCode::INTERNAL_SERVER_ERROR,
        json!({"message": "An internal server error occurred."}),
    )
}

/// `/index.php/apps/cookbook/api/v1/...`.
pub async fn api(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.app_installed("cookbook") {
        return crate::not_found_page();
    }
    let user = {
        let world = state.world();
        match authenticate(&world, &headers) {
            AuthOutcome::Ok(a) => a.user_id,
            AuthOutcome::Anonymous => return crate::not_logged_in_json(),
            AuthOutcome::Invalid => return crate::login_failed_json(),
        }
    };
    let params = Params::parse(query.as_deref(), &headers, &body);
    let seg: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    // `RestParameterParser` throws for a body it cannot type (no or another Content-Type).
    let reads_body = matches!(
        (&method, seg.as_slice()),
        (&Method::POST, ["recipes" | "import" | "config"])
            | (&Method::PUT, ["recipes" | "category", _])
    );
    if reads_body && !body_type_known(&headers) {
        return internal_error();
    }
    // The import fetches a page: no lock may be held across that.
    if method == Method::POST && seg.as_slice() == ["import"] {
        return import(&state, &user, &params).await;
    }
    let now = iso_now(state.now());
    let new_id = state.next_id();
    let mut world = state.world();
    let book = world.cookbook.users.entry(user).or_default();
    match (&method, seg.as_slice()) {
        (&Method::GET, ["recipes"]) => {
            let stubs = book.current().map(|(id, r)| stub(id, r, None)).collect();
            respond(StatusCode::OK, sorted(stubs))
        }
        (&Method::POST, ["recipes"]) => {
            let mut data: Map<String, Value> = params.all().clone().into_iter().collect();
            data.remove("id");
            save(book, data, None, new_id, &now)
        }
        (&Method::GET, ["recipes", id]) => match id.parse::<u64>().ok().and_then(|i| book.get(i)) {
            Some(r) => {
                let mut r = r.clone();
                r.insert("printImage".into(), json!(book.print_image));
                r.insert(
                    "imageUrl".into(),
                    json!(format!(
                        "/index.php/apps/cookbook/webapp/recipes/{id}/image?size=full"
                    )),
                );
                if !r.get("nutrition").is_some_and(Value::is_object) {
                    r.insert("nutrition".into(), json!({}));
                }
                if let Some(Value::Object(n)) = r.get_mut("nutrition") {
                    n.entry("@type").or_insert(json!("NutritionInformation"));
                }
                respond(StatusCode::OK, Value::Object(r))
            }
            None if id.parse::<u64>().is_err() => internal_error(),
            None => respond(StatusCode::NOT_FOUND, json!(id)),
        },
        (&Method::PUT, ["recipes", _]) => {
            let data: Map<String, Value> = params.all().clone().into_iter().collect();
            let target = data.get("id").and_then(|v| match v {
                Value::String(s) => s.trim().parse::<u64>().ok(),
                Value::Number(n) => n.as_u64(),
                _ => None,
            });
            match target {
                // `getById($id)[0]` of nothing: an error, not a 404.
                Some(t) if book.get(t).is_none() => internal_error(),
                _ => save(book, data, target, new_id, &now),
            }
        }
        (&Method::DELETE, ["recipes", id]) => {
            let Ok(n) = id.parse::<u64>() else {
                return respond(StatusCode::BAD_GATEWAY, json!("Invalid recipe id"));
            };
            if book.get(n).is_some() {
                book.recipes.remove(&n);
            }
            respond(
                StatusCode::OK,
                json!(format!("Recipe {id} deleted successfully")),
            )
        }
        (&Method::GET, ["search", q]) => {
            let q = urldecode(q).to_lowercase();
            let words: Vec<&str> = q.split([' ', ',']).filter(|w| !w.is_empty()).collect();
            let stubs = book
                .current()
                .filter(|(_, r)| {
                    words.is_empty()
                        || words.iter().any(|w| {
                            str_of(r, "name").to_lowercase().contains(w)
                                || category_of(r).is_some_and(|c| c.to_lowercase().contains(w))
                                || keywords_of(r).iter().any(|k| k.to_lowercase().contains(w))
                        })
                })
                .map(|(id, r)| stub(id, r, None))
                .collect();
            respond(StatusCode::OK, sorted(stubs))
        }
        (&Method::GET, ["categories"]) => {
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            let mut none = 0;
            for (_, r) in book.current() {
                match category_of(r) {
                    Some(c) => *counts.entry(c).or_default() += 1,
                    None => none += 1,
                }
            }
            let mut list: Vec<Value> = counts
                .into_iter()
                .map(|(name, n)| json!({"name": name, "recipe_count": n}))
                .collect();
            list.push(json!({"name": "*", "recipe_count": none}));
            respond(StatusCode::OK, Value::Array(list))
        }
        (&Method::GET, ["category", c]) => {
            let c = urldecode(c);
            let stubs = book
                .current()
                .filter(|(_, r)| match c.as_str() {
                    "_" => category_of(r).is_none(),
                    name => category_of(r).as_deref() == Some(name),
                })
                .map(|(id, r)| {
                    let cat = (c != "_").then(|| c.clone());
                    stub(id, r, Some(cat))
                })
                .collect();
            respond(StatusCode::OK, sorted(stubs))
        }
        (&Method::PUT, ["category", c]) => {
            let Some(new) = params.string("name").filter(|n| !n.is_empty()) else {
                return respond(
                    StatusCode::BAD_REQUEST,
                    json!("New category name not found in data"),
                );
            };
            let c = urldecode(c);
            let folder = book.folder.clone();
            for (f, r) in book.recipes.values_mut() {
                if *f == folder && category_of(r).as_deref() == Some(c.as_str()) {
                    r.insert("recipeCategory".into(), json!(new));
                    r.insert("dateModified".into(), json!(now));
                }
            }
            respond(StatusCode::OK, json!(new))
        }
        (&Method::GET, ["keywords"]) => {
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            for (_, r) in book.current() {
                for k in keywords_of(r) {
                    *counts.entry(k).or_default() += 1;
                }
            }
            let mut list: Vec<(String, u64)> = counts.into_iter().collect();
            list.sort_by_key(|(k, _)| k.to_lowercase());
            let list: Vec<Value> = list
                .into_iter()
                .map(|(name, n)| json!({"name": name, "recipe_count": n}))
                .collect();
            respond(StatusCode::OK, Value::Array(list))
        }
        (&Method::GET, ["tags", k]) => {
            let wanted: Vec<String> = urldecode(k).split(',').map(str::to_string).collect();
            let stubs = book
                .current()
                .filter(|(_, r)| {
                    let have = keywords_of(r);
                    // The app's query inner-joins the category table.
                    category_of(r).is_some() && wanted.iter().all(|w| have.contains(w))
                })
                .map(|(id, r)| stub(id, r, None))
                .collect();
            respond(StatusCode::OK, sorted(stubs))
        }
        (&Method::GET, ["config"]) => respond(
            StatusCode::OK,
            json!({
                "folder": book.folder, "update_interval": book.update_interval,
                "print_image": book.print_image, "visibleInfoBlocks": book.visible_info_blocks,
            }),
        ),
        (&Method::POST, ["config"]) => {
            if let Some(f) = params.string("folder") {
                book.folder = if f.starts_with('/') {
                    f
                } else {
                    format!("/{f}")
                };
            }
            if let Some(i) = params.int("update_interval") {
                book.update_interval = i;
            }
            if let Some(p) = params.bool("print_image") {
                book.print_image = p;
            }
            if let Some(v) = params.raw("visibleInfoBlocks") {
                book.visible_info_blocks = v.clone();
            }
            respond(StatusCode::OK, json!("OK"))
        }
        (&Method::POST, ["reindex"]) => {
            respond(StatusCode::OK, json!("Search index rebuilt successfully"))
        }
        _ => crate::not_found_page(),
    }
}

/// `RecipeService::addRecipe` + `DbCacheService::addRecipe`: stores a new recipe (`target`
/// `None`) or replaces one; answers the id.
fn save(
    book: &mut UserBook,
    data: Map<String, Value>,
    target: Option<u64>,
    new_id: u64,
    now: &str,
) -> Response {
    if str_of(&data, "name").trim().is_empty() {
        return msg(
            StatusCode::UNPROCESSABLE_ENTITY,
            "No recipe name was given. A unique name is required to store the recipe.",
        );
    }
    let mut r = match check_recipe(data) {
        Ok(r) => r,
        Err(_) => {
            return internal_error();
        }
    };
    if book.name_taken(str_of(&r, "name"), target) {
        return msg(
            StatusCode::CONFLICT,
            "Another recipe with that name already exists",
        );
    }
    r.insert("dateModified".into(), json!(now));
    let id = match target {
        Some(id) => {
            let created = book
                .get(id)
                .and_then(|old| old.get("dateCreated").cloned())
                .unwrap_or(json!(now));
            r.insert("dateCreated".into(), created);
            id
        }
        None => {
            r.insert("dateCreated".into(), json!(now));
            new_id
        }
    };
    r.insert("id".into(), json!(id.to_string()));
    book.recipes.insert(id, (book.folder.clone(), r));
    respond(StatusCode::OK, json!(id))
}

/// Two sample recipes for a user (demo data).
pub(crate) fn seed(state: &AppState, user: &str) {
    let samples = [
        json!({
            "name": "Tomato soup", "description": "A quick soup for cold days.",
            "recipeCategory": "Soups", "keywords": "vegetarian,quick", "recipeYield": 4,
            "prepTime": "PT10M", "cookTime": "PT25M", "totalTime": "PT35M",
            "recipeIngredient": ["1 kg ripe tomatoes", "1 onion", "2 cloves of garlic", "500 ml stock"],
            "recipeInstructions": ["Chop the onion and garlic and soften them in oil.",
                "Add the tomatoes and stock and simmer for 20 minutes.", "Blend and season."],
            "tool": ["blender"],
        }),
        json!({
            "name": "Pancakes", "description": "Fluffy breakfast pancakes.",
            "recipeCategory": "Breakfast", "keywords": "sweet,quick", "recipeYield": 8,
            "prepTime": "PT5M", "cookTime": "PT15M",
            "recipeIngredient": ["200 g flour", "2 eggs", "300 ml milk", "1 tbsp sugar"],
            "recipeInstructions": ["Whisk everything into a smooth batter.",
                "Fry small ladlefuls in a hot pan, turning once."],
            "url": "https://recipes.example/pancakes",
        }),
    ];
    for sample in samples {
        let Value::Object(data) = sample else {
            continue;
        };
        let now = iso_now(state.now());
        let id = state.next_id();
        let mut world = state.world();
        let book = world.cookbook.users.entry(user.to_string()).or_default();
        let _ = save(book, data, None, id, &now);
    }
}

async fn import(state: &AppState, user: &str, params: &Params) -> Response {
    let Some(url) = params.string("url") else {
        return respond(StatusCode::BAD_REQUEST, json!("Field \"url\" is required"));
    };
    if !download_url_allowed(&url) {
        return respond(
            StatusCode::BAD_REQUEST,
            json!("The provided URL is not allowed."),
        );
    }
    let registered = state.world().cookbook.pages.get(&url).cloned();
    let html = match registered {
        Some(h) => h,
        None => match fetch(&url).await {
            Ok(h) => h,
            Err(e) => return respond(StatusCode::BAD_REQUEST, json!(e)),
        },
    };
    let Some(mut recipe) = recipe_from_html(&html) else {
        return respond(
            StatusCode::BAD_REQUEST,
            json!("No parser found for the given import."),
        );
    };
    recipe.remove("id");
    recipe.insert("url".into(), json!(url));
    let now = iso_now(state.now());
    let new_id = state.next_id();
    let mut world = state.world();
    let book = world.cookbook.users.entry(user.to_string()).or_default();
    if str_of(&recipe, "name").trim().is_empty() {
        return respond(StatusCode::BAD_REQUEST, json!("Field \"name\" is required"));
    }
    let resp = save(book, recipe, None, new_id, &now);
    if resp.status() != StatusCode::OK {
        return resp;
    }
    match book.get(new_id) {
        Some(r) => respond(StatusCode::OK, Value::Object(r.clone())),
        None => resp,
    }
}

async fn fetch(url: &str) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|_| format!("Could not download the recipe from {url}."))?;
    if !resp.status().is_success() {
        return Err(format!(
            "Download from {url} failed as HTTP status code {} is not in expected range.",
            resp.status().as_u16()
        ));
    }
    resp.text().await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_the_app() {
        assert_eq!(fix_duration(Some(&json!("PT90M"))), json!("PT1H30M0S"));
        assert_eq!(fix_duration(Some(&json!("P1DT2H"))), json!("PT2H0M0S"));
        assert_eq!(fix_duration(Some(&json!("1:05"))), json!("PT1H5M"));
        assert_eq!(fix_duration(Some(&json!("an hour"))), Value::Null);
        assert_eq!(fix_duration(None), Value::Null);
    }

    #[test]
    fn json_ld_recipes_are_found() {
        let html = r#"<html><head><script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"WebPage"},{"@type":["Recipe"],"name":"Pancakes","recipeYield":"4 servings"}]}</script></head></html>"#;
        let r = recipe_from_html(html).expect("recipe");
        assert_eq!(r["name"], "Pancakes");
        let r = check_recipe(r).unwrap();
        assert_eq!(r["recipeYield"], 4);
        assert_eq!(r["keywords"], "");
        assert!(recipe_from_html("<html></html>").is_none());
        assert!(!download_url_allowed("http://127.0.0.1:8080/x"));
        assert!(!download_url_allowed("http://localhost/x"));
        assert!(download_url_allowed("https://recipes.example/x"));
    }

    #[test]
    fn sample_recipes_are_stored() {
        let state = AppState::new(vec!["cookbook".into()]);
        seed(&state, "alice");
        let world = state.world();
        let book = &world.cookbook.users["alice"];
        assert_eq!(book.current().count(), 2);
        assert!(book.current().any(|(_, r)| r["prepTime"] == "PT0H10M0S"));
    }
}
