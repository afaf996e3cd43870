//! The Sharing app's OCS API (`apps/files_sharing/api/v1/shares`), answering like
//! `ShareAPIController`: user and public-link shares of the owner's files, with Nextcloud's
//! validation messages and the `formatShare` JSON shape. Group, e-mail and federated shares are
//! refused as on an instance without those back ends.

use serde_json::{Value, json};

use crate::auth::Auth;
use crate::fs;
use crate::ocs::{OcsResult, RequestCtx};
use crate::params::Params;
use crate::state::{AppState, random_token};

/// One stored share.
#[derive(Clone, Debug)]
pub struct StoredShare {
    pub id: u64,
    pub share_type: i64,
    pub owner: String,
    /// The recipient user id (user shares).
    pub share_with: Option<String>,
    pub file_id: u64,
    pub permissions: i64,
    pub stime: i64,
    /// `YYYY-MM-DD`.
    pub expiration: Option<String>,
    pub token: Option<String>,
    pub note: String,
    pub label: String,
}

/// All shares of the instance.
#[derive(Debug, Default)]
pub struct ShareStore {
    pub shares: Vec<StoredShare>,
    next_id: u64,
}

type Handler = fn(&AppState, Option<&Auth>, &RequestCtx) -> OcsResult;

/// Routes below `apps/files_sharing/api/v1/`: `Some(Ok(handler))`, `Some(Err(true))` for a known
/// path with another method, `None` when the path is not the Sharing API's.
pub fn route(method: &http::Method, path: &str) -> Option<Result<Handler, bool>> {
    let rest = path.strip_prefix("apps/files_sharing/api/v1/shares")?;
    let rest = rest.trim_matches('/');
    Some(match (rest.is_empty(), method.as_str()) {
        (true, "GET") => Ok(list as Handler),
        (true, "POST") => Ok(create as Handler),
        (true, _) => Err(true),
        (false, _) if rest.contains('/') => return None,
        (false, "GET") => Ok(get as Handler),
        (false, "PUT") => Ok(update as Handler),
        (false, "DELETE") => Ok(delete as Handler),
        (false, _) => Err(true),
    })
}

fn share_id(ctx: &RequestCtx) -> Option<u64> {
    ctx.path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .and_then(|s| s.parse().ok())
}

fn params(ctx: &RequestCtx) -> Params {
    Params::parse(ctx.query.as_deref(), &ctx.headers, &ctx.body)
}

fn not_found_share() -> OcsResult {
    OcsResult::error(404, "Wrong share ID, share does not exist")
}

fn wrong_path() -> OcsResult {
    OcsResult::error(404, "Wrong path, file/folder does not exist")
}

/// `formatShare` for the viewer: the owner sees their path, a recipient the mount point.
fn format(state: &AppState, ctx: &RequestCtx, share: &StoredShare, viewer: &str) -> Option<Value> {
    let world = state.world();
    let owner = world.users.get(&share.owner)?;
    let path = owner.files.path_of_id(share.file_id)?.to_string();
    let node = owner.files.get(&path)?;
    let name = fs::name_of(&path).to_string();
    let parent_id = fs::parent_of(&path)
        .and_then(|p| owner.files.get(p))
        .map(|n| n.id)
        .unwrap_or(0);
    let is_dir = node.is_dir;
    let view_path = if viewer == share.owner {
        format!("/{path}")
    } else {
        format!("/{name}")
    };
    let recipient = share
        .share_with
        .as_ref()
        .and_then(|u| world.users.get(u))
        .map(|u| u.display_name.clone());
    let mut v = json!({
        "id": share.id.to_string(),
        "share_type": share.share_type,
        "uid_owner": share.owner,
        "displayname_owner": owner.display_name,
        "permissions": share.permissions,
        "can_edit": viewer == share.owner,
        "can_delete": viewer == share.owner,
        "stime": share.stime,
        "parent": null,
        "expiration": share.expiration.as_ref().map(|d| format!("{d} 00:00:00")),
        "token": share.token,
        "uid_file_owner": share.owner,
        "note": share.note,
        "label": share.label,
        "displayname_file_owner": owner.display_name,
        "path": view_path,
        "item_type": if is_dir { "folder" } else { "file" },
        "item_permissions": if is_dir { 31 } else { 27 },
        "is-mount-root": false,
        "mount-type": "",
        "mimetype": fs::mime_for(&name, is_dir),
        "has_preview": !is_dir && fs::mime_for(&name, false).starts_with("image/"),
        "storage_id": format!("home::{}", share.owner),
        "storage": 1,
        "item_source": share.file_id,
        "file_source": share.file_id,
        "file_parent": parent_id,
        "file_target": format!("/{name}"),
        "item_size": owner.files.size(&path),
        "item_mtime": node.mtime,
        "share_with": share.share_with,
        "share_with_displayname": recipient,
        "share_with_displayname_unique": share.share_with,
        "status": [],
        "mail_send": 0,
        "hide_download": 0,
        "attributes": null,
    });
    if share.share_type == 3 {
        let server = crate::login_flow::server_url(state, &ctx.headers);
        if let Some(obj) = v.as_object_mut() {
            obj.insert("share_with".into(), Value::Null);
            obj.insert("share_with_displayname".into(), json!("(Shared link)"));
            obj.insert("password".into(), Value::Null);
            obj.insert("send_password_by_talk".into(), json!(false));
            obj.insert(
                "url".into(),
                json!(format!(
                    "{server}/index.php/s/{}",
                    share.token.clone().unwrap_or_default()
                )),
            );
        }
    }
    Some(v)
}

fn valid_date(s: &str) -> Option<String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .map(|d| d.format("%Y-%m-%d").to_string())
}

/// Checks permissions as `ShareAPIController` + the share manager do.
fn check_permissions(perms: i64, is_dir: bool, share_type: i64) -> Result<i64, OcsResult> {
    if !(0..=31).contains(&perms) {
        return Err(OcsResult::error(400, "Invalid permissions"));
    }
    if perms & 1 == 0 {
        return Err(OcsResult::error(
            404,
            "Share must at least have READ or CREATE permissions",
        ));
    }
    let mut perms = perms;
    if !is_dir {
        // Files cannot be created in or deleted from a file share.
        perms &= !(4 | 8);
    }
    if share_type == 3 && !is_dir && perms != 1 && perms & 2 == 0 {
        perms = 1;
    }
    Ok(perms)
}

fn create(state: &AppState, auth: Option<&Auth>, ctx: &RequestCtx) -> OcsResult {
    let Some(auth) = auth else {
        return OcsResult::error(997, "");
    };
    let p = params(ctx);
    let Some(raw_path) = p.string("path").filter(|s| !s.is_empty()) else {
        return OcsResult::error(404, "Please specify a file or folder path");
    };
    let Some(path) = fs::normalize(&raw_path) else {
        return wrong_path();
    };
    let share_type = p.int("shareType").unwrap_or(-1);
    let now = state.now();
    if share_type == 12 && state.app_installed("deck") {
        // Deck's share provider: a file shared with a card is that card's attachment.
        let card = p
            .string("shareWith")
            .map(|s| crate::params::php_intval(&s))
            .unwrap_or(0);
        let mut world = state.world();
        return match crate::deck::share_with_card(
            &mut world,
            &auth.user_id,
            &raw_path,
            card.max(0) as u64,
            now,
        ) {
            Ok((_, v)) => OcsResult::ok(v),
            Err((status, message)) => OcsResult::error(status, message),
        };
    }
    let (file_id, is_dir) = {
        let world = state.world();
        let Some(node) = world
            .users
            .get(&auth.user_id)
            .and_then(|u| u.files.get(&path))
        else {
            return wrong_path();
        };
        if path.is_empty() {
            return OcsResult::error(403, "You cannot share your root folder");
        }
        (node.id, node.is_dir)
    };
    let default_perms = if share_type == 3 { 1 } else { 31 };
    let perms = match check_permissions(
        p.int("permissions").unwrap_or(default_perms),
        is_dir,
        share_type,
    ) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let expiration = match p.string("expireDate").filter(|s| !s.is_empty()) {
        None => None,
        Some(d) => match valid_date(&d) {
            Some(d) => Some(d),
            None => return OcsResult::error(404, "Invalid date. Format must be YYYY-MM-DD"),
        },
    };
    let mut share = StoredShare {
        id: 0,
        share_type,
        owner: auth.user_id.clone(),
        share_with: None,
        file_id,
        permissions: perms,
        stime: now,
        expiration,
        token: None,
        note: p.string("note").unwrap_or_default(),
        label: p.string("label").unwrap_or_default(),
    };
    {
        let mut world = state.world();
        match share_type {
            0 => {
                let Some(with) = p.string("shareWith").filter(|s| !s.is_empty()) else {
                    return OcsResult::error(404, "Please specify a valid account to share with");
                };
                if !world.users.contains_key(&with) {
                    return OcsResult::error(404, "Please specify a valid account to share with");
                }
                if with == auth.user_id {
                    return OcsResult::error(403, "Cannot share with yourself");
                }
                if world.shares.shares.iter().any(|s| {
                    s.share_type == 0
                        && s.file_id == file_id
                        && s.share_with.as_ref() == Some(&with)
                }) {
                    return OcsResult::error(
                        403,
                        format!(
                            "Sharing {} failed, because this item is already shared with the account {with}",
                            fs::name_of(&path)
                        ),
                    );
                }
                share.share_with = Some(with);
            }
            1 => return OcsResult::error(404, "Please specify a valid group"),
            3 => {
                if p.string("password").is_some_and(|s| !s.is_empty()) {
                    // Accepted and not stored: the emulator serves no public pages.
                }
                share.token = Some(random_token(15));
            }
            4 | 6 | 7 | 10 => {
                return OcsResult::error(
                    403,
                    format!(
                        "Sharing {} failed because the back end does not allow shares from type {share_type}",
                        fs::name_of(&path)
                    ),
                );
            }
            _ => return OcsResult::error(400, "Unknown share type"),
        }
        world.shares.next_id += 1;
        share.id = world.shares.next_id;
        world.shares.shares.push(share.clone());
    }
    match format(state, ctx, &share, &auth.user_id) {
        Some(v) => OcsResult::ok(v),
        None => wrong_path(),
    }
}

fn find(state: &AppState, id: u64, viewer: &str) -> Option<StoredShare> {
    state
        .world()
        .shares
        .shares
        .iter()
        .find(|s| s.id == id && (s.owner == viewer || s.share_with.as_deref() == Some(viewer)))
        .cloned()
}

fn get(state: &AppState, auth: Option<&Auth>, ctx: &RequestCtx) -> OcsResult {
    let Some(auth) = auth else {
        return OcsResult::error(997, "");
    };
    let Some(share) = share_id(ctx).and_then(|id| find(state, id, &auth.user_id)) else {
        return not_found_share();
    };
    match format(state, ctx, &share, &auth.user_id) {
        Some(v) => OcsResult::ok(json!([v])),
        None => not_found_share(),
    }
}

fn list(state: &AppState, auth: Option<&Auth>, ctx: &RequestCtx) -> OcsResult {
    let Some(auth) = auth else {
        return OcsResult::error(997, "");
    };
    let p = params(ctx);
    let shared_with_me = p.bool("shared_with_me").unwrap_or(false);
    let file_filter = match p.string("path").filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => {
            let world = state.world();
            let node = fs::normalize(&raw).and_then(|path| {
                world
                    .users
                    .get(&auth.user_id)
                    .and_then(|u| u.files.get(&path))
                    .map(|n| n.id)
            });
            match node {
                Some(id) => Some(id),
                None => return wrong_path(),
            }
        }
    };
    let shares: Vec<StoredShare> = state
        .world()
        .shares
        .shares
        .iter()
        .filter(|s| {
            if shared_with_me {
                s.share_with.as_deref() == Some(auth.user_id.as_str())
            } else {
                s.owner == auth.user_id
            }
        })
        .filter(|s| file_filter.is_none_or(|id| s.file_id == id))
        .cloned()
        .collect();
    let out: Vec<Value> = shares
        .iter()
        .filter_map(|s| format(state, ctx, s, &auth.user_id))
        .collect();
    OcsResult::ok(Value::Array(out))
}

fn update(state: &AppState, auth: Option<&Auth>, ctx: &RequestCtx) -> OcsResult {
    let Some(auth) = auth else {
        return OcsResult::error(997, "");
    };
    let Some(id) = share_id(ctx) else {
        return not_found_share();
    };
    let Some(mut share) = find(state, id, &auth.user_id) else {
        return not_found_share();
    };
    if share.owner != auth.user_id {
        return OcsResult::error(403, "Wrong share ID, share does not exist");
    }
    let p = params(ctx);
    let changes = [
        "permissions",
        "expireDate",
        "note",
        "label",
        "password",
        "publicUpload",
        "hideDownload",
    ];
    if !changes.iter().any(|k| p.raw(k).is_some()) {
        return OcsResult::error(400, "Wrong or no update parameter given");
    }
    let is_dir = {
        let world = state.world();
        world
            .users
            .get(&share.owner)
            .and_then(|u| {
                u.files
                    .path_of_id(share.file_id)
                    .and_then(|path| u.files.get(path))
            })
            .map(|n| n.is_dir)
    };
    let Some(is_dir) = is_dir else {
        return not_found_share();
    };
    if let Some(perms) = p.int("permissions") {
        match check_permissions(perms, is_dir, share.share_type) {
            Ok(v) => share.permissions = v,
            Err(e) => return e,
        }
    }
    if let Some(d) = p.string("expireDate") {
        if d.is_empty() {
            share.expiration = None;
        } else {
            match valid_date(&d) {
                Some(d) => share.expiration = Some(d),
                None => return OcsResult::error(400, "Invalid date. Format must be YYYY-MM-DD"),
            }
        }
    }
    if let Some(n) = p.string("note") {
        share.note = n;
    }
    if let Some(l) = p.string("label") {
        share.label = l;
    }
    {
        let mut world = state.world();
        if let Some(s) = world.shares.shares.iter_mut().find(|s| s.id == id) {
            *s = share.clone();
        }
    }
    match format(state, ctx, &share, &auth.user_id) {
        Some(v) => OcsResult::ok(v),
        None => not_found_share(),
    }
}

fn delete(state: &AppState, auth: Option<&Auth>, ctx: &RequestCtx) -> OcsResult {
    let Some(auth) = auth else {
        return OcsResult::error(997, "");
    };
    let Some(id) = share_id(ctx) else {
        return not_found_share();
    };
    let mut world = state.world();
    let before = world.shares.shares.len();
    // The owner deletes the share; a recipient deleting it leaves it (unshare from self).
    world.shares.shares.retain(|s| {
        !(s.id == id
            && (s.owner == auth.user_id || s.share_with.as_deref() == Some(auth.user_id.as_str())))
    });
    if world.shares.shares.len() == before {
        return not_found_share();
    }
    OcsResult::ok(json!([]))
}
