//! Task tools (VTODO). They only use calendars whose component set includes VTODO.

use chrono::Utc;
use nextcloud::NextcloudUser;
use nextcloud::calendar::{Calendar, Precondition, Tz, When};
use nextcloud::ical::{Document, Span, prop};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::events::{DeleteOut, load};
use super::model::*;
use crate::apps;
use crate::config::TimeZone;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{ToolError, now};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TodoOut {
    pub uid: String,
    pub summary: String,
    pub description: String,
    /// NEEDS-ACTION, IN-PROCESS, COMPLETED or CANCELLED.
    pub status: String,
    /// 0 (undefined), 1 (highest) to 9 (lowest).
    pub priority: i64,
    pub percent_complete: i64,
    /// Due date or date-time (in its own zone), or "".
    pub due: String,
    pub dtstart: String,
    /// When it was completed (UTC), or "".
    pub completed: String,
    pub categories: Vec<String>,
    pub reminders: Vec<Reminder>,
    pub calendar_name: String,
    pub href: String,
    pub etag: String,
}

fn todo_out(
    doc: &Document,
    span: Span,
    cal: &Calendar,
    href: &str,
    etag: &str,
    default: Tz,
) -> TodoOut {
    let c = read_component(doc, span);
    let ical = nextcloud::calendar::ICalendar::parse(doc.to_text()).ok();
    let when = |name: &str| {
        doc.get(span, name)
            .and_then(When::from_line)
            .map(|w| render(&w, w.instant(ical.as_ref(), default)))
            .unwrap_or_default()
    };
    TodoOut {
        uid: c.uid,
        summary: c.summary,
        description: c.description,
        status: if c.status.is_empty() {
            "NEEDS-ACTION".into()
        } else {
            c.status
        },
        priority: c.priority.unwrap_or(0),
        percent_complete: c.percent_complete.unwrap_or(0),
        due: when("DUE"),
        dtstart: when("DTSTART"),
        completed: when("COMPLETED"),
        categories: c.categories,
        reminders: c.reminders,
        calendar_name: cal.name.clone(),
        href: href.to_string(),
        etag: etag.to_string(),
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListTodosArgs {
    pub calendar_name: String,
    /// Only tasks with this status (NEEDS-ACTION, IN-PROCESS, COMPLETED, CANCELLED).
    #[serde(default)]
    pub status: Option<String>,
    /// Only tasks at least this important: priority 1..=N (1 is highest).
    #[serde(default)]
    pub min_priority: Option<i64>,
    /// Only tasks with one of these comma-separated categories.
    #[serde(default)]
    pub categories: Option<String>,
    /// Case-insensitive substring of the summary.
    #[serde(default)]
    pub summary_contains: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListTodosOut {
    pub success: bool,
    pub timestamp: String,
    pub todos: Vec<TodoOut>,
    pub calendar_name: String,
    pub total_count: usize,
    /// Calendars that could not be read (search only).
    pub errors: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchTodosArgs {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub min_priority: Option<i64>,
    #[serde(default)]
    pub categories: Option<String>,
    #[serde(default)]
    pub summary_contains: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateTodoArgs {
    /// A calendar that holds tasks.
    pub calendar_name: String,
    pub summary: String,
    #[serde(default)]
    pub description: String,
    /// NEEDS-ACTION, IN-PROCESS, COMPLETED or CANCELLED.
    #[serde(default = "needs_action")]
    pub status: String,
    /// 0 (undefined), 1 (highest) to 9 (lowest).
    #[serde(default)]
    pub priority: i64,
    /// Due: `YYYY-MM-DD` or a date-time (zone rules as for events).
    #[serde(default)]
    pub due: String,
    #[serde(default)]
    pub dtstart: String,
    /// Comma-separated categories.
    #[serde(default)]
    pub categories: String,
    /// Reminders before the due time: minutes, or {"minutes_before": n, "action": "EMAIL"}.
    #[serde(default)]
    pub reminders: Option<Vec<serde_json::Value>>,
}

fn needs_action() -> String {
    "NEEDS-ACTION".into()
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateTodoArgs {
    pub calendar_name: String,
    pub todo_uid: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub priority: Option<i64>,
    /// 0-100.
    #[serde(default)]
    pub percent_complete: Option<i64>,
    /// New due date/date-time; "" removes it.
    #[serde(default)]
    pub due: Option<String>,
    #[serde(default)]
    pub dtstart: Option<String>,
    /// Completion time; "" removes it.
    #[serde(default)]
    pub completed: Option<String>,
    #[serde(default)]
    pub categories: Option<String>,
    #[serde(default)]
    pub reminders: Option<Vec<serde_json::Value>>,
    /// ETag from the last read; if the task changed since, nothing is written.
    #[serde(default)]
    pub etag: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TodoChanged {
    pub success: bool,
    pub timestamp: String,
    pub uid: String,
    pub calendar_name: String,
    pub status: String,
    pub percent_complete: i64,
    pub completed: String,
    pub href: String,
    pub etag: String,
    pub todo: TodoOut,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CompleteTodoArgs {
    pub calendar_name: String,
    pub todo_uid: String,
    /// Completion time; default now.
    #[serde(default)]
    pub completed: Option<String>,
    #[serde(default)]
    pub etag: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct TodoRef {
    pub calendar_name: String,
    pub todo_uid: String,
}

const TODO_STATUSES: &[&str] = &["NEEDS-ACTION", "IN-PROCESS", "COMPLETED", "CANCELLED"];

struct Filter {
    status: Option<String>,
    min_priority: Option<i64>,
    categories: Vec<String>,
    summary: Option<String>,
}

impl Filter {
    fn new(
        status: Option<String>,
        min_priority: Option<i64>,
        categories: Option<String>,
        summary: Option<String>,
    ) -> Result<Self, ToolError> {
        let status = match status.filter(|s| !s.trim().is_empty()) {
            Some(s) => Some(one_of("status", &s, TODO_STATUSES)?),
            None => None,
        };
        Ok(Self {
            status,
            min_priority,
            categories: categories.as_deref().map(split_csv).unwrap_or_default(),
            summary: summary.map(|s| s.to_lowercase()).filter(|s| !s.is_empty()),
        })
    }

    fn keep(&self, t: &TodoOut) -> bool {
        self.status
            .as_deref()
            .is_none_or(|s| t.status.eq_ignore_ascii_case(s))
            && self
                .min_priority
                .is_none_or(|p| t.priority >= 1 && t.priority <= p)
            && (self.categories.is_empty()
                || t.categories
                    .iter()
                    .any(|c| self.categories.iter().any(|w| w.eq_ignore_ascii_case(c))))
            && self
                .summary
                .as_deref()
                .is_none_or(|s| t.summary.to_lowercase().contains(s))
    }
}

async fn todos_of(
    user: &NextcloudUser,
    cal: &Calendar,
    filter: &Filter,
    default: Tz,
) -> Result<Vec<TodoOut>, ToolError> {
    let objects = user.calendars().query(cal, "VTODO", None).await?;
    let mut out = Vec::new();
    for o in objects {
        let doc = Document::parse(&o.data);
        if let Some(span) = master(&doc, "VTODO") {
            let t = todo_out(
                &doc,
                span,
                cal,
                &o.href,
                o.etag.as_deref().unwrap_or(""),
                default,
            );
            if filter.keep(&t) {
                out.push(t);
            }
        }
    }
    out.sort_by(|a, b| {
        (a.due.is_empty(), &a.due, &a.summary).cmp(&(b.due.is_empty(), &b.due, &b.summary))
    });
    Ok(out)
}

async fn todo_calendar(user: &NextcloudUser, name: &str) -> Result<Calendar, ToolError> {
    let cal = user.calendars().find(name).await?;
    if !cal.supports("VTODO") {
        return Err(ToolError::invalid(
            "calendar_name",
            format!(
                "calendar '{}' does not hold tasks (it holds {}); pick one that supports VTODO",
                cal.name,
                cal.components.join(", ")
            ),
        ));
    }
    Ok(cal)
}

fn set_when(
    doc: &mut Document,
    span: Span,
    name: &str,
    arg: &'static str,
    value: &str,
    zone: &TimeZone,
) -> Result<Span, ToolError> {
    if value.trim().is_empty() {
        return Ok(doc.set(span, name, vec![]));
    }
    let w = parse_when(arg, value, "", zone, false)?;
    Ok(doc.set(span, name, vec![w.to_prop(name)]))
}

fn set_completed(
    doc: &mut Document,
    span: Span,
    value: &str,
    zone: &TimeZone,
) -> Result<Span, ToolError> {
    if value.trim().is_empty() {
        return Ok(doc.set(span, "COMPLETED", vec![]));
    }
    // COMPLETED must be UTC (RFC 5545 §3.8.2.1).
    let w = parse_when("completed", value, "", zone, false)?;
    let instant = w
        .instant(None, zone.tz())
        .ok_or_else(|| ToolError::invalid("completed", "not a valid time"))?;
    Ok(doc.set(
        span,
        "COMPLETED",
        vec![prop(
            "COMPLETED",
            &[],
            &nextcloud::calendar::caldav_time(instant),
        )],
    ))
}

fn set_status(
    doc: &mut Document,
    span: Span,
    status: &str,
    completed_at: Option<&str>,
    zone: &TimeZone,
) -> Result<Span, ToolError> {
    let status = one_of("status", status, TODO_STATUSES)?;
    let mut span = doc.set(span, "STATUS", vec![prop("STATUS", &[], &status)]);
    if status == "COMPLETED" {
        span = doc.set(
            span,
            "PERCENT-COMPLETE",
            vec![prop("PERCENT-COMPLETE", &[], "100")],
        );
        if doc.get(span, "COMPLETED").is_none() || completed_at.is_some() {
            let at = completed_at
                .map(str::to_string)
                .unwrap_or_else(|| Utc::now().to_rfc3339());
            span = set_completed(doc, span, &at, zone)?;
        }
    } else if doc.get(span, "COMPLETED").is_some() {
        span = doc.set(span, "COMPLETED", vec![]);
    }
    Ok(span)
}

fn set_alarms(
    doc: &mut Document,
    span: Span,
    reminders: &[serde_json::Value],
) -> Result<Span, ToolError> {
    let alarms = parse_reminders(reminders)?;
    let summary = doc
        .get(span, "SUMMARY")
        .map(|l| l.text())
        .unwrap_or_default();
    let mut span = doc.remove_children(span, "VALARM");
    for (m, email) in alarms {
        span = doc.append(span, alarm_lines(m, email, &summary));
    }
    Ok(span)
}

async fn write_back(
    user: &NextcloudUser,
    cal: &Calendar,
    href: &str,
    etag: &str,
    doc: &mut Document,
    span: Span,
    zone: &TimeZone,
) -> Result<TodoChanged, ToolError> {
    touch(doc, span, true);
    ensure_vtimezones(doc, Utc::now());
    let span = master(doc, "VTODO").expect("still there");
    let pre = if etag.is_empty() {
        Precondition::None
    } else {
        Precondition::IfMatch(etag.to_string())
    };
    let new_etag = user.calendars().put(href, &doc.to_text(), pre).await?;
    let todo = todo_out(doc, span, cal, href, &new_etag, zone.tz());
    Ok(TodoChanged {
        success: true,
        timestamp: now(),
        uid: todo.uid.clone(),
        calendar_name: cal.name.clone(),
        status: todo.status.clone(),
        percent_complete: todo.percent_complete,
        completed: todo.completed.clone(),
        href: href.to_string(),
        etag: new_etag,
        todo,
    })
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new(
        "nc_calendar_list_todos",
        &apps::CALENDAR,
        Some("todo.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_calendar_search_todos",
        &apps::CALENDAR,
        Some("todo.read"),
        Read,
    ),
    ToolSpec::new(
        "nc_calendar_create_todo",
        &apps::CALENDAR,
        Some("todo.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_calendar_update_todo",
        &apps::CALENDAR,
        Some("todo.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_calendar_complete_todo",
        &apps::CALENDAR,
        Some("todo.write"),
        Create,
    ),
    ToolSpec::new(
        "nc_calendar_delete_todo",
        &apps::CALENDAR,
        Some("todo.write"),
        Delete,
    ),
];

#[tool_router(router = calendar_todos_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_calendar_list_todos",
        title = "List tasks",
        description = "List the tasks (VTODO) in a calendar, optionally filtered by status, priority, categories or summary text. Tasks with a due date come first."
    )]
    async fn nc_calendar_list_todos(
        &self,
        Parameters(a): Parameters<ListTodosArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<ListTodosOut>, ToolError> {
        let filter = Filter::new(a.status, a.min_priority, a.categories, a.summary_contains)?;
        let user = self.user(&ctx)?;
        let cal = todo_calendar(&user, &a.calendar_name).await?;
        let tz = self.state().timezone.tz();
        let todos = todos_of(&user, &cal, &filter, tz).await?;
        Ok(Json(ListTodosOut {
            success: true,
            timestamp: now(),
            total_count: todos.len(),
            todos,
            calendar_name: cal.name,
            errors: vec![],
        }))
    }

    #[tool(
        name = "nc_calendar_search_todos",
        title = "Search tasks in all calendars",
        description = "Find tasks across every calendar that holds tasks, filtered by status, priority, categories or summary text."
    )]
    async fn nc_calendar_search_todos(
        &self,
        Parameters(a): Parameters<SearchTodosArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<ListTodosOut>, ToolError> {
        let filter = Filter::new(a.status, a.min_priority, a.categories, a.summary_contains)?;
        let user = self.user(&ctx)?;
        let tz = self.state().timezone.tz();
        let mut todos = Vec::new();
        let mut errors = Vec::new();
        for cal in user
            .calendars()
            .list()
            .await?
            .into_iter()
            .filter(|c| c.supports("VTODO"))
        {
            match todos_of(&user, &cal, &filter, tz).await {
                Ok(mut t) => todos.append(&mut t),
                Err(e) => errors.push(format!("{}: {e}", cal.name)),
            }
        }
        Ok(Json(ListTodosOut {
            success: true,
            timestamp: now(),
            total_count: todos.len(),
            todos,
            calendar_name: String::new(),
            errors,
        }))
    }

    #[tool(
        name = "nc_calendar_create_todo",
        title = "Create a task",
        description = "Create a task (VTODO) in a calendar that holds tasks, with optional description, status, priority, due and start dates, categories and reminders."
    )]
    async fn nc_calendar_create_todo(
        &self,
        Parameters(a): Parameters<CreateTodoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<TodoChanged>, ToolError> {
        if a.summary.trim().is_empty() {
            return Err(ToolError::invalid("summary", "give the task a summary"));
        }
        check_priority("priority", a.priority)?;
        let user = self.user(&ctx)?;
        let cal = todo_calendar(&user, &a.calendar_name).await?;
        let zone = &self.state().timezone;
        let uid = new_uid();
        let stamp = nextcloud::calendar::caldav_time(Utc::now());
        let mut lines = vec![
            prop("UID", &[], &uid),
            prop("DTSTAMP", &[], &stamp),
            prop("CREATED", &[], &stamp),
        ];
        lines.extend(text_prop("SUMMARY", &a.summary));
        lines.extend(text_prop("DESCRIPTION", &a.description));
        if a.priority > 0 {
            lines.push(prop("PRIORITY", &[], &a.priority.to_string()));
        }
        lines.extend(categories_prop(&a.categories));
        let mut doc = new_calendar("VTODO", lines);
        let mut span = master(&doc, "VTODO").expect("just built");
        span = set_when(&mut doc, span, "DTSTART", "dtstart", &a.dtstart, zone)?;
        span = set_when(&mut doc, span, "DUE", "due", &a.due, zone)?;
        span = set_status(&mut doc, span, &a.status, None, zone)?;
        if let Some(r) = &a.reminders {
            set_alarms(&mut doc, span, r)?;
        }
        ensure_vtimezones(&mut doc, Utc::now());
        let span = master(&doc, "VTODO").expect("just built");
        let href = format!("{}{}", cal.href, object_name(&uid, "ics"));
        let etag = user
            .calendars()
            .put(&href, &doc.to_text(), Precondition::Create)
            .await?;
        let tz = self.state().timezone.tz();
        let todo = todo_out(&doc, span, &cal, &href, &etag, tz);
        Ok(Json(TodoChanged {
            success: true,
            timestamp: now(),
            uid,
            calendar_name: cal.name,
            status: todo.status.clone(),
            percent_complete: todo.percent_complete,
            completed: todo.completed.clone(),
            href,
            etag,
            todo,
        }))
    }

    #[tool(
        name = "nc_calendar_update_todo",
        title = "Update a task",
        description = "Change fields of a task (null keeps a field; \"\" clears due/start/completed). Properties you do not change are kept exactly. Pass the ETag from your last read to detect concurrent changes."
    )]
    async fn nc_calendar_update_todo(
        &self,
        Parameters(a): Parameters<UpdateTodoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<TodoChanged>, ToolError> {
        let user = self.user(&ctx)?;
        let zone = &self.state().timezone;
        let (cal, obj) = load(&user, &a.calendar_name, "VTODO", &a.todo_uid).await?;
        let mut doc = Document::parse(&obj.data);
        let mut span = master(&doc, "VTODO")
            .ok_or_else(|| nextcloud::Error::InvalidResponse("no VTODO in the object".into()))?;
        if let Some(v) = &a.summary {
            span = doc.set(span, "SUMMARY", text_prop("SUMMARY", v));
        }
        if let Some(v) = &a.description {
            span = doc.set(span, "DESCRIPTION", text_prop("DESCRIPTION", v));
        }
        if let Some(p) = a.priority {
            check_priority("priority", p)?;
            span = doc.set(
                span,
                "PRIORITY",
                vec![prop("PRIORITY", &[], &p.to_string())],
            );
        }
        if let Some(p) = a.percent_complete {
            if !(0..=100).contains(&p) {
                return Err(ToolError::invalid("percent_complete", "use 0 to 100"));
            }
            span = doc.set(
                span,
                "PERCENT-COMPLETE",
                vec![prop("PERCENT-COMPLETE", &[], &p.to_string())],
            );
        }
        if let Some(v) = &a.due {
            span = set_when(&mut doc, span, "DUE", "due", v, zone)?;
        }
        if let Some(v) = &a.dtstart {
            span = set_when(&mut doc, span, "DTSTART", "dtstart", v, zone)?;
        }
        if let Some(v) = &a.completed {
            span = set_completed(&mut doc, span, v, zone)?;
        }
        if let Some(v) = &a.status {
            span = set_status(
                &mut doc,
                span,
                v,
                a.completed.as_deref().filter(|c| !c.is_empty()),
                zone,
            )?;
        }
        if let Some(v) = &a.categories {
            span = doc.set(span, "CATEGORIES", categories_prop(v));
        }
        if let Some(r) = &a.reminders {
            span = set_alarms(&mut doc, span, r)?;
        }
        let etag = if a.etag.trim().is_empty() {
            obj.etag.clone().unwrap_or_default()
        } else {
            a.etag.trim().to_string()
        };
        Ok(Json(
            write_back(&user, &cal, &obj.href, &etag, &mut doc, span, zone).await?,
        ))
    }

    #[tool(
        name = "nc_calendar_complete_todo",
        title = "Complete a task",
        description = "Mark a task done: sets STATUS:COMPLETED, PERCENT-COMPLETE:100 and the COMPLETED time (now unless given)."
    )]
    async fn nc_calendar_complete_todo(
        &self,
        Parameters(a): Parameters<CompleteTodoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<TodoChanged>, ToolError> {
        let user = self.user(&ctx)?;
        let zone = &self.state().timezone;
        let (cal, obj) = load(&user, &a.calendar_name, "VTODO", &a.todo_uid).await?;
        let mut doc = Document::parse(&obj.data);
        let span = master(&doc, "VTODO")
            .ok_or_else(|| nextcloud::Error::InvalidResponse("no VTODO in the object".into()))?;
        let at = a
            .completed
            .clone()
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| Utc::now().to_rfc3339());
        let span = set_status(&mut doc, span, "COMPLETED", Some(&at), zone)?;
        let etag = if a.etag.trim().is_empty() {
            obj.etag.clone().unwrap_or_default()
        } else {
            a.etag.trim().to_string()
        };
        Ok(Json(
            write_back(&user, &cal, &obj.href, &etag, &mut doc, span, zone).await?,
        ))
    }

    #[tool(
        name = "nc_calendar_delete_todo",
        title = "Delete a task",
        description = "Delete a task by UID."
    )]
    async fn nc_calendar_delete_todo(
        &self,
        Parameters(a): Parameters<TodoRef>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<DeleteOut>, ToolError> {
        let user = self.user(&ctx)?;
        let (cal, obj) = load(&user, &a.calendar_name, "VTODO", &a.todo_uid).await?;
        user.calendars()
            .delete_object(&obj.href, obj.etag.as_deref())
            .await?;
        Ok(Json(DeleteOut {
            success: true,
            timestamp: now(),
            status_code: 204,
            message: format!("Deleted task '{}' from calendar '{}'", a.todo_uid, cal.name),
            deleted_uid: a.todo_uid,
            calendar_name: cal.name,
        }))
    }
}
