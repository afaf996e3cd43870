//! Changing tasks: create, update, complete, delete. Each builds a `nextcloud::calendar::
//! TodoEdit`; the client's model writes only the lines it names.

use nextcloud::NextcloudUser;
use nextcloud::calendar::{Alarm, Calendar, Precondition, Todo, TodoEdit, object_name, split_csv};
use nextcloud::ical::Document;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{TodoOut, todo_calendar};
use crate::apps;
use crate::config::TimeZone;
use crate::mcp::NextcloudMcp;
use crate::tools::calendar::{DeleteOut, etag_to_match, load};
use crate::tools::common::{Envelope, ToolError, answer};
use crate::tools::spec::{Effect::*, ToolSpec};

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
    /// `YYYY-MM-DD` or a date-time, as for events.
    #[serde(default)]
    pub due: String,
    #[serde(default)]
    pub dtstart: String,
    /// Comma-separated.
    #[serde(default)]
    pub categories: String,
    /// Minutes before due, or `{"minutes_before": n, "action": "EMAIL"}`.
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
    /// "" removes it.
    #[serde(default)]
    pub due: Option<String>,
    #[serde(default)]
    pub dtstart: Option<String>,
    /// "" removes it.
    #[serde(default)]
    pub completed: Option<String>,
    #[serde(default)]
    pub categories: Option<String>,
    #[serde(default)]
    pub reminders: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub etag: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TodoChanged {
    pub uid: String,
    pub calendar_name: String,
    pub status: String,
    pub percent_complete: i64,
    pub completed: String,
    pub href: String,
    pub etag: String,
    pub todo: TodoOut,
}

impl TodoChanged {
    fn new(todo: Todo, cal: &Calendar, href: &str, etag: &str) -> Self {
        Self {
            uid: todo.uid.clone(),
            calendar_name: cal.name.clone(),
            status: todo.status.clone(),
            percent_complete: todo.percent_complete,
            completed: todo.completed.clone(),
            href: href.to_string(),
            etag: etag.to_string(),
            todo: TodoOut::new(todo, cal, href, etag),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CompleteTodoArgs {
    pub calendar_name: String,
    pub todo_uid: String,
    /// Default now.
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

/// Applies an edit to a stored task and writes it back, only over the version `etag` names.
async fn edit_stored(
    user: &NextcloudUser,
    calendar_name: &str,
    uid: &str,
    etag: &str,
    edit: &TodoEdit,
    zone: &TimeZone,
) -> Result<TodoChanged, ToolError> {
    let (cal, obj) = load(user, calendar_name, "VTODO", uid).await?;
    let etag = etag_to_match(etag, &obj.etag);
    let mut doc = Document::parse(&obj.data);
    edit.update(&mut doc, zone.name())?;
    let pre = if etag.is_empty() {
        Precondition::None
    } else {
        Precondition::IfMatch(etag)
    };
    let new_etag = user.calendars().put(&obj.href, &doc.to_text(), pre).await?;
    let todo = Todo::of(&doc, zone.tz())
        .ok_or_else(|| nextcloud::Error::InvalidResponse("no VTODO in the object".into()))?;
    Ok(TodoChanged::new(todo, &cal, &obj.href, &new_etag))
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
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

#[tool_router(router = calendar_todos_write_router, vis = "pub(in crate::tools)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_calendar_create_todo",
        title = "Create a task",
        description = "Create a task (to-do) with optional due date, priority, status, categories and reminders."
    )]
    async fn nc_calendar_create_todo(
        &self,
        Parameters(a): Parameters<CreateTodoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<TodoChanged>>, ToolError> {
        let edit = TodoEdit {
            summary: Some(a.summary),
            description: Some(a.description),
            status: Some(a.status),
            priority: Some(a.priority),
            due: Some(a.due),
            dtstart: Some(a.dtstart),
            categories: Some(split_csv(&a.categories)),
            alarms: a.reminders.as_deref().map(Alarm::from_json).transpose()?,
            ..Default::default()
        };
        let (uid, doc) = edit.create(self.state().timezone.name())?;
        let user = self.user(&ctx)?;
        let cal = todo_calendar(&user, &a.calendar_name).await?;
        let href = format!("{}{}", cal.href, object_name(&uid, "ics"));
        let etag = user
            .calendars()
            .put(&href, &doc.to_text(), Precondition::Create)
            .await?;
        let todo = Todo::of(&doc, self.state().timezone.tz())
            .ok_or_else(|| nextcloud::Error::InvalidResponse("no VTODO in the object".into()))?;
        answer(TodoChanged::new(todo, &cal, &href, &etag))
    }

    #[tool(
        name = "nc_calendar_update_todo",
        title = "Update a task",
        description = "Change some fields of a task (null keeps a field), with the ETag of your last read."
    )]
    async fn nc_calendar_update_todo(
        &self,
        Parameters(a): Parameters<UpdateTodoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<TodoChanged>>, ToolError> {
        let edit = TodoEdit {
            summary: a.summary,
            description: a.description,
            status: a.status,
            priority: a.priority,
            percent_complete: a.percent_complete,
            due: a.due,
            dtstart: a.dtstart,
            completed: a.completed,
            categories: a.categories.as_deref().map(split_csv),
            alarms: a.reminders.as_deref().map(Alarm::from_json).transpose()?,
        };
        let user = self.user(&ctx)?;
        answer(
            edit_stored(
                &user,
                &a.calendar_name,
                &a.todo_uid,
                &a.etag,
                &edit,
                &self.state().timezone,
            )
            .await?,
        )
    }

    #[tool(
        name = "nc_calendar_complete_todo",
        title = "Complete a task",
        description = "Mark a task done: status COMPLETED, 100 % complete, completed now unless a time is given."
    )]
    async fn nc_calendar_complete_todo(
        &self,
        Parameters(a): Parameters<CompleteTodoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<TodoChanged>>, ToolError> {
        let edit = TodoEdit::complete(a.completed.filter(|c| !c.trim().is_empty()));
        let user = self.user(&ctx)?;
        answer(
            edit_stored(
                &user,
                &a.calendar_name,
                &a.todo_uid,
                &a.etag,
                &edit,
                &self.state().timezone,
            )
            .await?,
        )
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
    ) -> Result<Json<Envelope<DeleteOut>>, ToolError> {
        let user = self.user(&ctx)?;
        let (cal, obj) = load(&user, &a.calendar_name, "VTODO", &a.todo_uid).await?;
        user.calendars()
            .delete_object(&obj.href, obj.etag.as_deref())
            .await?;
        answer(DeleteOut {
            status_code: 204,
            message: format!("Deleted task '{}' from calendar '{}'", a.todo_uid, cal.name),
            deleted_uid: a.todo_uid,
            calendar_name: cal.name,
        })
    }
}
