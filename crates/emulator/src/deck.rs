//! The Deck app (`/index.php/apps/deck/...`): the REST API (`api/v1.0`, `api/v1.1`), the
//! internal card routes the web UI uses to move cards, and the OCS comments API. Follows
//! Deck's `*ApiController`s, `CardService`, `PermissionService` and `ExceptionMiddleware`:
//! an entity that does not exist answers `403 {"status":403,"message":"Permission denied"}`
//! (Deck does not leak which ids exist), a read-only share answers the same 403 on writes,
//! validation failures answer 400 with Deck's message.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::{AuthOutcome, authenticate};
use crate::ocs::{OcsResult, OcsVersion, negotiate, render};
use crate::params::Params;
use crate::state::{AppState, World};

/// Deck's board, stack, card, label, comment and attachment tables.
#[derive(Debug, Default)]
pub struct DeckState {
    next_id: u64,
    boards: BTreeMap<u64, Board>,
    stacks: BTreeMap<u64, Stack>,
    cards: BTreeMap<u64, Card>,
    labels: BTreeMap<u64, Label>,
    comments: BTreeMap<u64, Comment>,
    /// Files shared with cards (share type 12), keyed by share id.
    pub shares: BTreeMap<u64, CardShare>,
}

#[derive(Clone, Debug)]
struct Board {
    id: u64,
    title: String,
    owner: String,
    color: String,
    archived: bool,
    deleted_at: i64,
    last_modified: i64,
    acl: Vec<Acl>,
}

#[derive(Clone, Debug)]
struct Acl {
    id: u64,
    participant: String,
    edit: bool,
    share: bool,
    manage: bool,
}

#[derive(Clone, Debug)]
struct Stack {
    id: u64,
    board_id: u64,
    title: String,
    order: i64,
    deleted_at: i64,
    last_modified: i64,
}

#[derive(Clone, Debug)]
struct Card {
    id: u64,
    stack_id: u64,
    title: String,
    description: String,
    kind: String,
    order: i64,
    archived: bool,
    owner: String,
    duedate: Option<i64>,
    startdate: Option<i64>,
    done: Option<i64>,
    color: Option<String>,
    created_at: i64,
    last_modified: i64,
    deleted_at: i64,
    last_editor: Option<String>,
    labels: Vec<u64>,
    /// (assignment id, user id)
    assigned: Vec<(u64, String)>,
    dependents: Vec<u64>,
}

#[derive(Clone, Debug)]
struct Label {
    id: u64,
    board_id: u64,
    title: String,
    color: String,
    last_modified: i64,
}

#[derive(Clone, Debug)]
struct Comment {
    id: u64,
    card_id: u64,
    actor: String,
    message: String,
    created: i64,
    parent: Option<u64>,
}

/// A file shared with a card: the card's attachment of type `file`.
#[derive(Clone, Debug)]
pub struct CardShare {
    pub id: u64,
    pub card_id: u64,
    pub owner: String,
    pub path: String,
    pub file_id: u64,
    pub created: i64,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Perm {
    Read,
    Edit,
    Manage,
    Share,
}

/// A Deck failure: `StatusException` status and message.
struct Fail(u16, String);

type R = Result<Value, Fail>;

fn denied() -> Fail {
    Fail(403, "Permission denied".into())
}
fn bad(msg: &str) -> Fail {
    Fail(400, msg.into())
}

fn iso(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

/// PHP `new DateTime($value)` for the formats clients send: RFC 3339, a date-time without
/// zone (UTC), or a bare date.
fn parse_date(v: &str) -> Option<i64> {
    let v = v.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Some(t.timestamp());
    }
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(v, f) {
            return Some(t.and_utc().timestamp());
        }
    }
    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
}

fn etag(id: u64, modified: i64) -> String {
    use md5::{Digest, Md5};
    let digest = Md5::digest(format!("{id}-{modified}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn user_json(world: &World, uid: &str) -> Value {
    let name = world
        .users
        .get(uid)
        .map_or(uid.to_string(), |u| u.display_name.clone());
    json!({"primaryKey": uid, "uid": uid, "displayname": name, "type": 0})
}

impl DeckState {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

struct Ctx<'a> {
    world: &'a mut World,
    user: String,
    now: i64,
    params: Params,
}

impl Ctx<'_> {
    fn deck(&mut self) -> &mut DeckState {
        &mut self.world.deck
    }

    fn perms(&self, board_id: u64) -> Option<[bool; 4]> {
        let b = self.world.deck.boards.get(&board_id)?;
        if b.owner == self.user {
            return Some([true; 4]);
        }
        let a = b.acl.iter().find(|a| a.participant == self.user)?;
        Some([true, a.edit, a.manage, a.share])
    }

    /// `PermissionService::checkPermission` on a board.
    fn check(&self, board_id: u64, p: Perm) -> Result<(), Fail> {
        let b = self.world.deck.boards.get(&board_id).ok_or_else(denied)?;
        if b.deleted_at > 0 && p != Perm::Read {
            return Err(denied());
        }
        let perms = self.perms(board_id).ok_or_else(denied)?;
        let i = match p {
            Perm::Read => 0,
            Perm::Edit => 1,
            Perm::Manage => 2,
            Perm::Share => 3,
        };
        if perms[i] { Ok(()) } else { Err(denied()) }
    }

    fn board_of_stack(&self, stack_id: u64) -> Result<u64, Fail> {
        self.world
            .deck
            .stacks
            .get(&stack_id)
            .map(|s| s.board_id)
            .ok_or_else(denied)
    }

    fn board_of_card(&self, card_id: u64) -> Result<u64, Fail> {
        let c = self.world.deck.cards.get(&card_id).ok_or_else(denied)?;
        self.board_of_stack(c.stack_id)
    }

    fn check_card(&self, card_id: u64, p: Perm) -> Result<u64, Fail> {
        let b = self.board_of_card(card_id)?;
        self.check(b, p)?;
        Ok(b)
    }

    fn str_param(&self, name: &str) -> Option<String> {
        self.params.string(name)
    }

    fn label_json(&self, l: &Label, card_id: Option<u64>) -> Value {
        json!({
            "title": l.title, "color": l.color, "boardId": l.board_id, "cardId": card_id,
            "lastModified": l.last_modified, "id": l.id, "ETag": etag(l.id, l.last_modified),
        })
    }

    fn board_json(&self, b: &Board) -> Value {
        let labels: Vec<Value> = self
            .world
            .deck
            .labels
            .values()
            .filter(|l| l.board_id == b.id)
            .map(|l| self.label_json(l, None))
            .collect();
        let acl: Vec<Value> = b
            .acl
            .iter()
            .map(|a| {
                json!({
                    "participant": user_json(self.world, &a.participant), "type": 0,
                    "boardId": b.id, "permissionEdit": a.edit, "permissionShare": a.share,
                    "permissionManage": a.manage, "owner": false, "id": a.id,
                })
            })
            .collect();
        let mut users = vec![user_json(self.world, &b.owner)];
        users.extend(b.acl.iter().map(|a| user_json(self.world, &a.participant)));
        let p = self.perms(b.id).unwrap_or_default();
        json!({
            "title": b.title, "owner": user_json(self.world, &b.owner), "color": b.color,
            "archived": b.archived, "labels": labels, "acl": acl,
            "permissions": {"PERMISSION_READ": p[0], "PERMISSION_EDIT": p[1],
                            "PERMISSION_MANAGE": p[2], "PERMISSION_SHARE": p[3]},
            "users": users, "stacks": [], "activeSessions": [], "deletedAt": b.deleted_at,
            "lastModified": b.last_modified, "settings": {"notify-due": "assigned", "calendar": true},
            "id": b.id, "ETag": etag(b.id, b.last_modified),
        })
    }

    fn card_json(&self, c: &Card) -> Value {
        let d = &self.world.deck;
        let labels: Vec<Value> = c
            .labels
            .iter()
            .filter_map(|id| d.labels.get(id))
            .map(|l| self.label_json(l, Some(c.id)))
            .collect();
        let assigned: Vec<Value> = c
            .assigned
            .iter()
            .map(|(id, uid)| {
                json!({"id": id, "participant": user_json(self.world, uid), "cardId": c.id, "type": 0})
            })
            .collect();
        let dependents: Vec<Value> = c
            .dependents
            .iter()
            .filter_map(|id| d.cards.get(id))
            .map(|dc| json!({"id": dc.id, "title": dc.title, "stackId": dc.stack_id, "done": dc.done.map(iso)}))
            .collect();
        let comments = d.comments.values().filter(|m| m.card_id == c.id).count();
        let attachments = d.shares.values().filter(|s| s.card_id == c.id).count();
        let overdue = match c.duedate {
            Some(t) if c.done.is_none() && t < self.now => 3,
            Some(t) if c.done.is_none() && t < self.now + 86_400 => 2,
            Some(_) if c.done.is_none() => 1,
            _ => 0,
        };
        json!({
            "title": c.title, "description": c.description, "stackId": c.stack_id, "type": c.kind,
            "lastModified": c.last_modified, "lastEditor": c.last_editor, "createdAt": c.created_at,
            "labels": labels, "assignedUsers": assigned, "dependentCards": dependents,
            "attachments": null, "attachmentCount": attachments,
            "owner": user_json(self.world, &c.owner), "order": c.order, "archived": c.archived,
            "done": c.done.map(iso), "duedate": c.duedate.map(iso), "startdate": c.startdate.map(iso),
            "color": c.color, "notified": false, "deletedAt": c.deleted_at,
            "commentsUnread": 0, "commentsCount": comments, "relatedStack": null, "relatedBoard": null,
            "id": c.id, "ETag": etag(c.id, c.last_modified), "overdue": overdue,
        })
    }

    fn stack_json(&self, s: &Stack, archived: bool) -> Value {
        let mut cards: Vec<&Card> = self
            .world
            .deck
            .cards
            .values()
            .filter(|c| c.stack_id == s.id && c.deleted_at == 0 && c.archived == archived)
            .collect();
        cards.sort_by_key(|c| (c.order, c.id));
        let mut v = json!({
            "title": s.title, "boardId": s.board_id, "deletedAt": s.deleted_at,
            "lastModified": s.last_modified, "order": s.order, "id": s.id,
            "ETag": etag(s.id, s.last_modified),
        });
        if !cards.is_empty() {
            v["cards"] = Value::Array(cards.into_iter().map(|c| self.card_json(c)).collect());
        }
        v
    }

    fn touch_board(&mut self, board_id: u64) {
        let now = self.now;
        if let Some(b) = self.deck().boards.get_mut(&board_id) {
            b.last_modified = now;
        }
    }

    // ---- boards ----

    fn boards(&self) -> R {
        let list: Vec<Value> = self
            .world
            .deck
            .boards
            .values()
            .filter(|b| b.deleted_at == 0 && self.perms(b.id).is_some())
            .map(|b| self.board_json(b))
            .collect();
        Ok(Value::Array(list))
    }

    fn board(&self, id: u64) -> R {
        self.check(id, Perm::Read)?;
        Ok(self.board_json(&self.world.deck.boards[&id]))
    }

    fn create_board(&mut self) -> R {
        let title = self.str_param("title").unwrap_or_default();
        let color = self.str_param("color").unwrap_or_default();
        if title.is_empty() {
            return Err(bad("title must be provided"));
        }
        if color.is_empty() {
            return Err(bad("color must be provided"));
        }
        if title.chars().count() > 100 {
            return Err(bad("The title cannot exceed 100 characters"));
        }
        let id = self.deck().id();
        let board = Board {
            id,
            title,
            owner: self.user.clone(),
            color,
            archived: false,
            deleted_at: 0,
            last_modified: self.now,
            acl: Vec::new(),
        };
        self.deck().boards.insert(id, board);
        // BoardService::create adds the default labels.
        for (t, c) in [
            ("Finished", "31CC7C"),
            ("To review", "317CCC"),
            ("Action needed", "FF7A66"),
            ("Later", "F1DB50"),
        ] {
            let lid = self.deck().id();
            let now = self.now;
            self.deck().labels.insert(
                lid,
                Label {
                    id: lid,
                    board_id: id,
                    title: t.into(),
                    color: c.into(),
                    last_modified: now,
                },
            );
        }
        self.board(id)
    }

    fn delete_board(&mut self, id: u64) -> R {
        self.check(id, Perm::Manage)?;
        let now = self.now;
        if let Some(b) = self.deck().boards.get_mut(&id) {
            b.deleted_at = now;
        }
        self.board(id)
    }

    fn add_acl(&mut self, board_id: u64) -> R {
        self.check(board_id, Perm::Share)?;
        let participant = self.str_param("participant").unwrap_or_default();
        if self.params.int("type").unwrap_or(0) != 0 {
            return Err(bad("Only user shares are supported by this server"));
        }
        if !self.world.users.contains_key(&participant) {
            return Err(bad("The participant does not exist"));
        }
        let manage_self = self.perms(board_id).is_some_and(|p| p[2]);
        let acl = Acl {
            id: self.deck().id(),
            participant,
            edit: self.params.bool("permissionEdit").unwrap_or(false),
            share: self.params.bool("permissionShare").unwrap_or(false),
            manage: manage_self && self.params.bool("permissionManage").unwrap_or(false),
        };
        let out = json!({
            "participant": user_json(self.world, &acl.participant), "type": 0, "boardId": board_id,
            "permissionEdit": acl.edit, "permissionShare": acl.share,
            "permissionManage": acl.manage, "owner": false, "id": acl.id,
        });
        if let Some(b) = self.deck().boards.get_mut(&board_id) {
            b.acl.retain(|a| a.participant != acl.participant);
            b.acl.push(acl);
        }
        self.touch_board(board_id);
        Ok(out)
    }

    // ---- stacks ----

    fn stacks(&self, board_id: u64, archived: bool) -> R {
        self.check(board_id, Perm::Read)?;
        let mut list: Vec<&Stack> = self
            .world
            .deck
            .stacks
            .values()
            .filter(|s| s.board_id == board_id && s.deleted_at == 0)
            .collect();
        list.sort_by_key(|s| (s.order, s.id));
        Ok(Value::Array(
            list.into_iter()
                .map(|s| self.stack_json(s, archived))
                .collect(),
        ))
    }

    fn stack(&self, board_id: u64, stack_id: u64) -> R {
        let b = self.board_of_stack(stack_id)?;
        self.check(b, Perm::Read)?;
        let s = &self.world.deck.stacks[&stack_id];
        if b != board_id || s.deleted_at > 0 {
            return Err(Fail(404, "Stack not found".into()));
        }
        Ok(self.stack_json(s, false))
    }

    fn create_stack(&mut self, board_id: u64) -> R {
        self.check(board_id, Perm::Manage)?;
        let title = self.str_param("title").unwrap_or_default();
        if title.is_empty() {
            return Err(bad("title must be provided"));
        }
        if title.chars().count() > 100 {
            return Err(bad("The title cannot exceed 100 characters"));
        }
        let order = self.params.int("order").unwrap_or(999);
        let id = self.deck().id();
        let now = self.now;
        let s = Stack {
            id,
            board_id,
            title,
            order,
            deleted_at: 0,
            last_modified: now,
        };
        self.deck().stacks.insert(id, s.clone());
        self.touch_board(board_id);
        Ok(self.stack_json(&s, false))
    }

    fn update_stack(&mut self, board_id: u64, stack_id: u64) -> R {
        let b = self.board_of_stack(stack_id)?;
        self.check(b, Perm::Manage)?;
        let title = self.str_param("title").unwrap_or_default();
        if title.is_empty() {
            return Err(bad("title must be provided"));
        }
        let order = self.params.int("order");
        let Some(order) = order else {
            return Err(bad("order must be a number"));
        };
        let now = self.now;
        let target_board = if board_id == b { b } else { board_id };
        self.check(target_board, Perm::Manage)?;
        let s = self.deck().stacks.get_mut(&stack_id).ok_or_else(denied)?;
        s.title = title;
        s.order = order;
        s.board_id = target_board;
        s.last_modified = now;
        let s = s.clone();
        self.touch_board(b);
        Ok(self.stack_json(&s, false))
    }

    fn delete_stack(&mut self, stack_id: u64) -> R {
        let b = self.board_of_stack(stack_id)?;
        self.check(b, Perm::Manage)?;
        let now = self.now;
        let s = self.deck().stacks.get_mut(&stack_id).ok_or_else(denied)?;
        s.deleted_at = now;
        s.last_modified = now;
        let s = s.clone();
        self.touch_board(b);
        Ok(self.stack_json(&s, false))
    }

    // ---- cards ----

    fn card(&self, card_id: u64) -> R {
        self.check_card(card_id, Perm::Read)?;
        Ok(self.card_json(&self.world.deck.cards[&card_id]))
    }

    fn validate_title(title: &str) -> Result<(), Fail> {
        if title.is_empty() {
            return Err(bad("title must be provided"));
        }
        if title.chars().count() > 255 {
            return Err(bad("The title cannot exceed 255 characters"));
        }
        Ok(())
    }

    fn date_param(&self, name: &str) -> Result<Option<i64>, Fail> {
        match self.str_param(name) {
            None => Ok(None),
            Some(s) if s.is_empty() => Ok(None),
            Some(s) => parse_date(&s)
                .map(Some)
                .ok_or_else(|| bad(&format!("Invalid date format for {name}"))),
        }
    }

    fn create_card(&mut self, stack_id: u64) -> R {
        let b = self.board_of_stack(stack_id)?;
        self.check(b, Perm::Edit)?;
        let title = self.str_param("title").unwrap_or_default();
        Self::validate_title(&title)?;
        let id = self.deck().id();
        let card = Card {
            id,
            stack_id,
            title,
            description: self.str_param("description").unwrap_or_default(),
            kind: self.str_param("type").unwrap_or_else(|| "plain".into()),
            order: self.params.int("order").unwrap_or(999),
            archived: false,
            owner: self.user.clone(),
            duedate: self.date_param("duedate")?,
            startdate: self.date_param("startdate")?,
            done: None,
            color: self.str_param("color").filter(|c| !c.is_empty()),
            created_at: self.now,
            last_modified: self.now,
            deleted_at: 0,
            last_editor: None,
            labels: Vec::new(),
            assigned: Vec::new(),
            dependents: Vec::new(),
        };
        self.deck().cards.insert(id, card);
        self.touch_board(b);
        self.card(id)
    }

    /// `CardService::update`: every field replaced; `stackId` from the route (API) or body.
    fn update_card(&mut self, card_id: u64, stack_id: u64) -> R {
        let b = self.check_card(card_id, Perm::Edit)?;
        let target_board = self.board_of_stack(stack_id)?;
        self.check(target_board, Perm::Edit)?;
        let title = self.str_param("title").unwrap_or_default();
        Self::validate_title(&title)?;
        if self.str_param("type").is_none_or(|t| t.is_empty()) {
            return Err(bad("type must be provided"));
        }
        if self.str_param("owner").is_none_or(|t| t.is_empty()) {
            return Err(bad("owner must be provided"));
        }
        let duedate = self.date_param("duedate")?;
        let startdate = self.date_param("startdate")?;
        let done = match self.params.raw("done") {
            None => None,
            Some(_) => Some(self.date_param("done")?),
        };
        let p = &self.params;
        let (kind, owner, desc, order, archived, color) = (
            p.string("type").unwrap_or_default(),
            p.string("owner").unwrap_or_default(),
            p.string("description").unwrap_or_default(),
            p.int("order").unwrap_or(0),
            p.bool("archived"),
            p.string("color").filter(|c| !c.is_empty()),
        );
        let (now, user) = (self.now, self.user.clone());
        let card = self.deck().cards.get_mut(&card_id).ok_or_else(denied)?;
        if card.archived && archived != Some(false) {
            return Err(bad("Operation not allowed. This card is archived."));
        }
        card.title = title;
        card.kind = kind;
        card.owner = owner;
        card.description = desc;
        card.order = order;
        card.duedate = duedate;
        card.startdate = startdate;
        card.color = color;
        if let Some(a) = archived {
            card.archived = a;
        }
        if let Some(d) = done {
            card.done = d;
        }
        card.stack_id = stack_id;
        card.last_modified = now;
        card.last_editor = Some(user);
        if target_board != b {
            self.remap_labels(card_id, target_board);
        }
        self.touch_board(b);
        self.card(card_id)
    }

    /// Moving to another board: labels are replaced by the same-titled label there, created
    /// when the user may manage that board, otherwise dropped.
    fn remap_labels(&mut self, card_id: u64, board: u64) {
        let old: Vec<Label> = self.world.deck.cards[&card_id]
            .labels
            .iter()
            .filter_map(|id| self.world.deck.labels.get(id).cloned())
            .collect();
        let manage = self.perms(board).is_some_and(|p| p[2]);
        let mut new_ids = Vec::new();
        for l in old {
            let found = self
                .world
                .deck
                .labels
                .values()
                .find(|x| x.board_id == board && x.title == l.title)
                .map(|x| x.id);
            match found {
                Some(id) => new_ids.push(id),
                None if manage => {
                    let id = self.deck().id();
                    let now = self.now;
                    self.deck().labels.insert(
                        id,
                        Label {
                            id,
                            board_id: board,
                            title: l.title,
                            color: l.color,
                            last_modified: now,
                        },
                    );
                    new_ids.push(id);
                }
                None => {}
            }
        }
        if let Some(c) = self.deck().cards.get_mut(&card_id) {
            c.labels = new_ids;
        }
    }

    /// The internal `card#update` route: the target stack comes from the body.
    fn internal_update(&mut self, card_id: u64) -> R {
        let stack_id = self.params.int("stackId").unwrap_or(0).max(0) as u64;
        // The controller passes the session user as owner and no `done`.
        let c = self.world.deck.cards.get(&card_id).ok_or_else(denied)?;
        let (owner, done) = (c.owner.clone(), c.done);
        let mut params = self.params.all().clone();
        params.insert("owner".into(), json!(owner));
        params.remove("done");
        params.insert("archived".into(), json!(c.archived));
        self.params = Params::from_map(params);
        let out = self.update_card(card_id, stack_id)?;
        let _ = done;
        if let Some(c) = self.deck().cards.get_mut(&card_id) {
            c.done = None;
        }
        let _ = out;
        self.card(card_id)
    }

    fn delete_card(&mut self, card_id: u64) -> R {
        let b = self.check_card(card_id, Perm::Edit)?;
        let now = self.now;
        let c = self.deck().cards.get_mut(&card_id).ok_or_else(denied)?;
        c.deleted_at = now;
        c.last_modified = now;
        self.touch_board(b);
        self.card(card_id)
    }

    fn set_archived(&mut self, card_id: u64, archived: bool) -> R {
        let b = self.check_card(card_id, Perm::Edit)?;
        let now = self.now;
        let c = self.deck().cards.get_mut(&card_id).ok_or_else(denied)?;
        c.archived = archived;
        c.last_modified = now;
        self.touch_board(b);
        self.card(card_id)
    }

    fn set_done(&mut self, card_id: u64, done: bool) -> R {
        let b = self.check_card(card_id, Perm::Edit)?;
        let now = self.now;
        let c = self.deck().cards.get_mut(&card_id).ok_or_else(denied)?;
        c.done = done.then_some(now);
        c.last_modified = now;
        self.touch_board(b);
        self.card(card_id)
    }

    /// `CardService::reorder`: moves the card into `stackId` at `order`, renumbers that
    /// stack, and returns its cards.
    fn reorder(&mut self, card_id: u64) -> R {
        let b = self.check_card(card_id, Perm::Edit)?;
        let stack_id = self.params.int("stackId").unwrap_or(0).max(0) as u64;
        let order = self.params.int("order").unwrap_or(0);
        let target = self.board_of_stack(stack_id)?;
        self.check(target, Perm::Edit)?;
        if self.world.deck.cards[&card_id].archived {
            return Err(bad("Operation not allowed. This card is archived."));
        }
        let mut ids: Vec<(i64, u64)> = self
            .world
            .deck
            .cards
            .values()
            .filter(|c| {
                c.stack_id == stack_id && c.id != card_id && c.deleted_at == 0 && !c.archived
            })
            .map(|c| (c.order, c.id))
            .collect();
        ids.sort();
        let pos = usize::try_from(order.max(0)).unwrap_or(0).min(ids.len());
        ids.insert(pos, (order, card_id));
        let now = self.now;
        let mut out = Vec::new();
        for (i, (_, id)) in ids.iter().enumerate() {
            if let Some(c) = self.deck().cards.get_mut(id) {
                c.order = i as i64;
                c.stack_id = stack_id;
                if c.id == card_id {
                    c.last_modified = now;
                }
            }
            out.push(self.card_json(&self.world.deck.cards[id]));
        }
        self.touch_board(b);
        Ok(Value::Array(out))
    }

    fn assign_label(&mut self, card_id: u64, add: bool) -> R {
        let b = self.check_card(card_id, Perm::Edit)?;
        let label_id = self.params.int("labelId").unwrap_or(0).max(0) as u64;
        let label = self
            .world
            .deck
            .labels
            .get(&label_id)
            .ok_or_else(denied)?
            .clone();
        if label.board_id != b {
            return Err(bad("Operation not allowed. Label does not exist."));
        }
        let now = self.now;
        let c = self.deck().cards.get_mut(&card_id).ok_or_else(denied)?;
        if c.archived {
            return Err(bad("Operation not allowed. This card is archived."));
        }
        c.labels.retain(|l| *l != label_id);
        if add {
            c.labels.push(label_id);
        }
        c.last_modified = now;
        Ok(Value::Null)
    }

    fn assign_user(&mut self, card_id: u64, add: bool) -> R {
        let b = self.check_card(card_id, Perm::Edit)?;
        let uid = self.str_param("userId").unwrap_or_default();
        let assigned = self.world.deck.cards[&card_id]
            .assigned
            .iter()
            .any(|(_, u)| *u == uid);
        if add {
            if assigned {
                return Err(bad("The user is already assigned to the card"));
            }
            let board = &self.world.deck.boards[&b];
            if board.owner != uid && !board.acl.iter().any(|a| a.participant == uid) {
                return Err(bad("The user is not part of the board"));
            }
            let id = self.deck().id();
            let c = self.deck().cards.get_mut(&card_id).ok_or_else(denied)?;
            c.assigned.push((id, uid.clone()));
            Ok(
                json!({"id": id, "participant": user_json(self.world, &uid), "cardId": card_id, "type": 0}),
            )
        } else {
            if !assigned {
                return Err(Fail(404, format!("No assignment for {uid} found.")));
            }
            let c = self.deck().cards.get_mut(&card_id).ok_or_else(denied)?;
            let (id, _) = c
                .assigned
                .iter()
                .find(|(_, u)| *u == uid)
                .cloned()
                .unwrap_or_default();
            c.assigned.retain(|(_, u)| *u != uid);
            Ok(
                json!({"id": id, "participant": user_json(self.world, &uid), "cardId": card_id, "type": 0}),
            )
        }
    }

    fn dependency(&mut self, card_id: u64, dependent: u64, add: bool) -> R {
        self.check_card(card_id, Perm::Edit)?;
        self.check_card(dependent, Perm::Read)?;
        if card_id == dependent {
            return Err(bad("A card cannot depend on itself"));
        }
        let c = self.deck().cards.get_mut(&card_id).ok_or_else(denied)?;
        c.dependents.retain(|d| *d != dependent);
        if add {
            c.dependents.push(dependent);
        }
        self.card(card_id)
    }

    // ---- labels ----

    fn label(&self, board_id: u64, label_id: u64) -> R {
        let l = self
            .world
            .deck
            .labels
            .get(&label_id)
            .ok_or_else(denied)?
            .clone();
        self.check(l.board_id, Perm::Read)?;
        if l.board_id != board_id {
            return Err(denied());
        }
        Ok(self.label_json(&l, None))
    }

    fn save_label(&mut self, board_id: u64, label_id: Option<u64>) -> R {
        self.check(board_id, Perm::Manage)?;
        let title = self.str_param("title").unwrap_or_default();
        let color = self.str_param("color").unwrap_or_default();
        if title.is_empty() {
            return Err(bad("title must be provided"));
        }
        if color.is_empty() {
            return Err(bad("color must be provided"));
        }
        if self
            .world
            .deck
            .labels
            .values()
            .any(|l| l.board_id == board_id && l.title == title && Some(l.id) != label_id)
        {
            return Err(bad("title must be unique"));
        }
        let now = self.now;
        let id = match label_id {
            Some(id) => {
                let l = self.deck().labels.get_mut(&id).ok_or_else(denied)?;
                if l.board_id != board_id {
                    return Err(denied());
                }
                l.title = title;
                l.color = color;
                l.last_modified = now;
                id
            }
            None => {
                let id = self.deck().id();
                self.deck().labels.insert(
                    id,
                    Label {
                        id,
                        board_id,
                        title,
                        color,
                        last_modified: now,
                    },
                );
                id
            }
        };
        self.touch_board(board_id);
        self.label(board_id, id)
    }

    fn delete_label(&mut self, board_id: u64, label_id: u64) -> R {
        let out = self.label(board_id, label_id)?;
        self.check(board_id, Perm::Manage)?;
        self.deck().labels.remove(&label_id);
        for c in self.deck().cards.values_mut() {
            c.labels.retain(|l| *l != label_id);
        }
        self.touch_board(board_id);
        Ok(out)
    }

    // ---- attachments ----

    fn attachment_json(&self, s: &CardShare) -> Value {
        let name = crate::fs::name_of(&s.path).to_string();
        json!({
            "cardId": s.card_id, "type": "file", "data": name, "lastModified": s.created,
            "createdAt": s.created, "createdBy": s.owner, "deletedAt": 0,
            "extendedData": {
                "path": format!("/{}", s.path), "fileid": s.file_id,
                "mimetype": crate::fs::mime_for(&name, false),
                "info": {"dirname": ".", "basename": name},
                "attachmentCreator": {"displayName": s.owner, "id": s.owner, "email": null},
            },
            "id": s.id,
        })
    }

    fn attachments(&self, card_id: u64) -> R {
        self.check_card(card_id, Perm::Read)?;
        Ok(Value::Array(
            self.world
                .deck
                .shares
                .values()
                .filter(|s| s.card_id == card_id)
                .map(|s| self.attachment_json(s))
                .collect(),
        ))
    }

    fn delete_attachment(&mut self, card_id: u64, id: u64) -> R {
        self.check_card(card_id, Perm::Edit)?;
        let kind = self.str_param("type").unwrap_or_else(|| "deck_file".into());
        let share = self.world.deck.shares.get(&id).cloned();
        match share {
            Some(s) if kind == "file" && s.card_id == card_id => {
                let out = self.attachment_json(&s);
                self.deck().shares.remove(&id);
                Ok(out)
            }
            _ => Err(Fail(404, "Attachment not found".into())),
        }
    }

    // ---- comments ----

    fn comment_json(&self, c: &Comment, with_parent: bool) -> Value {
        let name = self
            .world
            .users
            .get(&c.actor)
            .map_or(c.actor.clone(), |u| u.display_name.clone());
        let mut v = json!({
            "id": c.id, "objectId": c.card_id, "message": c.message, "actorId": c.actor,
            "actorType": "users", "actorDisplayName": name,
            "creationDateTime": iso(c.created), "mentions": [],
        });
        if with_parent && let Some(p) = c.parent.and_then(|p| self.world.deck.comments.get(&p)) {
            v["replyTo"] = self.comment_json(p, false);
        }
        v
    }

    fn comments(&self, card_id: u64) -> R {
        self.check_card(card_id, Perm::Read)?;
        let limit = self.params.int("limit").unwrap_or(20).max(0) as usize;
        let offset = self.params.int("offset").unwrap_or(0).max(0) as usize;
        let mut list: Vec<&Comment> = self
            .world
            .deck
            .comments
            .values()
            .filter(|c| c.card_id == card_id)
            .collect();
        list.sort_by_key(|c| std::cmp::Reverse((c.created, c.id)));
        Ok(Value::Array(
            list.into_iter()
                .skip(offset)
                .take(limit)
                .map(|c| self.comment_json(c, true))
                .collect(),
        ))
    }

    fn check_message(&self) -> Result<String, Fail> {
        let message = self.str_param("message").unwrap_or_default();
        if message.chars().count() > 1000 {
            return Err(bad("The comment has a maximum length of 1000 characters"));
        }
        if message.trim().is_empty() {
            return Err(bad("The comment must not be empty"));
        }
        Ok(message)
    }

    fn create_comment(&mut self, card_id: u64) -> R {
        self.check_card(card_id, Perm::Read)?;
        let message = self.check_message()?;
        let parent = self
            .params
            .int("parentId")
            .filter(|p| *p > 0)
            .map(|p| p as u64);
        if let Some(p) = parent
            && self
                .world
                .deck
                .comments
                .get(&p)
                .is_none_or(|c| c.card_id != card_id)
        {
            return Err(Fail(404, "No comment found.".into()));
        }
        let id = self.deck().id();
        let c = Comment {
            id,
            card_id,
            actor: self.user.clone(),
            message,
            created: self.now,
            parent,
        };
        self.deck().comments.insert(id, c.clone());
        Ok(self.comment_json(&c, true))
    }

    fn update_comment(&mut self, card_id: u64, id: u64) -> R {
        self.check_card(card_id, Perm::Read)?;
        let message = self.check_message()?;
        let user = self.user.clone();
        let c = self
            .deck()
            .comments
            .get_mut(&id)
            .filter(|c| c.card_id == card_id)
            .ok_or_else(|| Fail(404, "No comment found.".into()))?;
        if c.actor != user {
            return Err(Fail(403, "Only authors can edit their comment.".into()));
        }
        c.message = message;
        let c = c.clone();
        Ok(self.comment_json(&c, true))
    }

    fn delete_comment(&mut self, card_id: u64, id: u64) -> R {
        self.check_card(card_id, Perm::Read)?;
        let user = self.user.clone();
        let c = self
            .world
            .deck
            .comments
            .get(&id)
            .filter(|c| c.card_id == card_id)
            .ok_or_else(|| Fail(404, "No comment found.".into()))?;
        if c.actor != user {
            return Err(Fail(403, "Only authors can delete their comment.".into()));
        }
        self.deck().comments.remove(&id);
        Ok(json!([]))
    }
}

/// Shares a file of `user` with a card (files_sharing share type 12). Errors are the OCS
/// status and message the sharing API answers.
pub fn share_with_card(
    world: &mut World,
    user: &str,
    path: &str,
    card_id: u64,
    now: i64,
) -> Result<(u64, Value), (u16, String)> {
    let rel = crate::fs::normalize(path)
        .ok_or((404, "Wrong path, file/folder does not exist".to_string()))?;
    let file_id = world
        .users
        .get(user)
        .and_then(|u| u.files.get(&rel))
        .map(|n| n.id)
        .ok_or((404, "Wrong path, file/folder does not exist".to_string()))?;
    let ctx = Ctx {
        user: user.to_string(),
        now,
        params: Params::default(),
        world,
    };
    if ctx.check_card(card_id, Perm::Edit).is_err() {
        return Err((
            404,
            "Sharing failed: The card does not exist or you have no permission to edit it".into(),
        ));
    }
    let id = world.deck.id();
    world.deck.shares.insert(
        id,
        CardShare {
            id,
            card_id,
            owner: user.to_string(),
            path: rel.clone(),
            file_id,
            created: now,
        },
    );
    Ok((
        id,
        json!({
            "id": id.to_string(), "share_type": 12, "uid_owner": user, "permissions": 1,
            "path": format!("/{rel}"), "file_source": file_id, "share_with": card_id.to_string(),
            "item_type": "file", "stime": now,
        }),
    ))
}

fn respond(result: R) -> Response {
    match result {
        Ok(v) => (StatusCode::OK, axum::Json(v)).into_response(),
        Err(Fail(status, message)) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            (
                code,
                axum::Json(json!({"status": status, "message": message})),
            )
                .into_response()
        }
    }
}

fn num(s: &str) -> Option<u64> {
    (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `/index.php/apps/deck/{*rest}`: the REST API and the internal card routes.
pub async fn dispatch(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.app_installed("deck") {
        return crate::not_found_page();
    }
    let now = state.now();
    let mut world = state.world();
    let user = match authenticate(&world, &headers) {
        AuthOutcome::Ok(a) => a.user_id,
        AuthOutcome::Anonymous => return crate::not_logged_in_json(),
        AuthOutcome::Invalid => return crate::login_failed_json(),
    };
    let params = Params::parse(query.as_deref(), &headers, &body);
    let mut ctx = Ctx {
        world: &mut world,
        user,
        now,
        params,
    };
    let seg: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let n = |i: usize| seg.get(i).and_then(|s| num(s)).unwrap_or(0);
    let m = &method;
    let result = match seg.as_slice() {
        ["api", "v1.0" | "v1.1", tail @ ..] => {
            let n = |i: usize| tail.get(i).and_then(|s| num(s)).unwrap_or(0);
            let ids_ok = tail
                .iter()
                .enumerate()
                .all(|(i, s)| i % 2 == 0 || num(s).is_some() || *s == "archived");
            if !ids_ok {
                return crate::not_found_page();
            }
            match (m, tail) {
                (&Method::GET, ["boards"]) => ctx.boards(),
                (&Method::POST, ["boards"]) => ctx.create_board(),
                (&Method::GET, ["boards", _]) => ctx.board(n(1)),
                (&Method::DELETE, ["boards", _]) => ctx.delete_board(n(1)),
                (&Method::POST, ["boards", _, "acl"]) => ctx.add_acl(n(1)),
                (&Method::GET, ["boards", _, "stacks"]) => ctx.stacks(n(1), false),
                (&Method::GET, ["boards", _, "stacks", "archived"]) => ctx.stacks(n(1), true),
                (&Method::POST, ["boards", _, "stacks"]) => ctx.create_stack(n(1)),
                (&Method::GET, ["boards", _, "stacks", _]) => ctx.stack(n(1), n(3)),
                (&Method::PUT, ["boards", _, "stacks", _]) => ctx.update_stack(n(1), n(3)),
                (&Method::DELETE, ["boards", _, "stacks", _]) => ctx.delete_stack(n(3)),
                (&Method::POST, ["boards", _, "stacks", _, "cards"]) => ctx.create_card(n(3)),
                (&Method::GET, ["boards", _, "stacks", _, "cards", _]) => ctx.card(n(5)),
                (&Method::PUT, ["boards", _, "stacks", _, "cards", _]) => {
                    ctx.update_card(n(5), n(3))
                }
                (&Method::DELETE, ["boards", _, "stacks", _, "cards", _]) => ctx.delete_card(n(5)),
                (&Method::PUT, ["boards", _, "stacks", _, "cards", _, action]) => match *action {
                    "archive" => ctx.set_archived(n(5), true),
                    "unarchive" => ctx.set_archived(n(5), false),
                    "assignLabel" => ctx.assign_label(n(5), true),
                    "removeLabel" => ctx.assign_label(n(5), false),
                    "assignUser" => ctx.assign_user(n(5), true),
                    "unassignUser" => ctx.assign_user(n(5), false),
                    "reorder" => ctx.reorder(n(5)),
                    _ => return crate::not_found_page(),
                },
                (&Method::POST, ["boards", _, "stacks", _, "cards", _, "dependentCards", _]) => {
                    ctx.dependency(n(5), n(7), true)
                }
                (&Method::DELETE, ["boards", _, "stacks", _, "cards", _, "dependentCards", _]) => {
                    ctx.dependency(n(5), n(7), false)
                }
                (&Method::GET, ["boards", _, "stacks", _, "cards", _, "attachments"]) => {
                    ctx.attachments(n(5))
                }
                (&Method::DELETE, ["boards", _, "stacks", _, "cards", _, "attachments", _]) => {
                    ctx.delete_attachment(n(5), n(7))
                }
                (&Method::GET, ["boards", _, "labels", _]) => ctx.label(n(1), n(3)),
                (&Method::POST, ["boards", _, "labels"]) => ctx.save_label(n(1), None),
                (&Method::PUT, ["boards", _, "labels", _]) => ctx.save_label(n(1), Some(n(3))),
                (&Method::DELETE, ["boards", _, "labels", _]) => ctx.delete_label(n(1), n(3)),
                _ => return crate::not_found_page(),
            }
        }
        ["cards", id] if num(id).is_some() && m == Method::PUT => ctx.internal_update(n(1)),
        ["cards", id, "reorder"] if num(id).is_some() && m == Method::PUT => ctx.reorder(n(1)),
        ["cards", id, "done"] if num(id).is_some() && m == Method::PUT => ctx.set_done(n(1), true),
        ["cards", id, "undone"] if num(id).is_some() && m == Method::PUT => {
            ctx.set_done(n(1), false)
        }
        _ => return crate::not_found_page(),
    };
    respond(result)
}

/// `/ocs/v2.php/apps/deck/api/v1.0/cards/{cardId}/comments[/{commentId}]` (OCS).
pub async fn comments(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.app_installed("deck") {
        return crate::not_found_page();
    }
    let format = negotiate(query.as_deref(), &headers);
    let now = state.now();
    let mut world = state.world();
    let user = match crate::ocs::ocs_v2_user(&world, &headers, format) {
        Ok(user) => user,
        Err(answer) => return *answer,
    };
    let params = Params::parse(query.as_deref(), &headers, &body);
    let mut ctx = Ctx {
        world: &mut world,
        user,
        now,
        params,
    };
    let seg: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let result = match (&method, seg.as_slice()) {
        (&Method::GET, ["cards", c, "comments"]) if num(c).is_some() => {
            ctx.comments(num(c).unwrap_or(0))
        }
        (&Method::POST, ["cards", c, "comments"]) if num(c).is_some() => {
            ctx.create_comment(num(c).unwrap_or(0))
        }
        (&Method::PUT, ["cards", c, "comments", id]) if num(c).is_some() && num(id).is_some() => {
            ctx.update_comment(num(c).unwrap_or(0), num(id).unwrap_or(0))
        }
        (&Method::DELETE, ["cards", c, "comments", id])
            if num(c).is_some() && num(id).is_some() =>
        {
            ctx.delete_comment(num(c).unwrap_or(0), num(id).unwrap_or(0))
        }
        _ => {
            return render(
                OcsVersion::V2,
                format,
                OcsResult::error(crate::ocs::RESPOND_NOT_FOUND, "Invalid query"),
            );
        }
    };
    let res = match result {
        Ok(v) => OcsResult::ok(v),
        // Deck's middleware turns the exception into an OCSException with its status.
        Err(Fail(status, message)) => OcsResult::error(status, message),
    };
    render(OcsVersion::V2, format, res)
}
