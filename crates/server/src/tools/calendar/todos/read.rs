//! Reading tasks: one calendar's, or every task calendar's.

use nextcloud::NextcloudUser;
use nextcloud::calendar::{Calendar, Todo, Tz, one_of, split_csv};
use nextcloud::ical::Document;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{TodoOut, todo_calendar};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::calendar::model::zone_arg;
use crate::tools::common::{Envelope, ToolError, answer};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListTodosArgs {
    pub calendar_name: String,
    /// NEEDS-ACTION, IN-PROCESS, COMPLETED or CANCELLED.
    #[serde(default)]
    pub status: Option<String>,
    /// Only priorities 1 (highest) to this.
    #[serde(default)]
    pub min_priority: Option<i64>,
    /// Comma-separated.
    #[serde(default)]
    pub categories: Option<String>,
    #[serde(default)]
    pub summary_contains: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListTodosOut {
    pub todos: Vec<TodoOut>,
    pub calendar_name: String,
    pub total_count: usize,
    /// Calendars that could not be read (search only).
    pub errors: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchTodosArgs {
    /// NEEDS-ACTION, IN-PROCESS, COMPLETED or CANCELLED.
    #[serde(default)]
    pub status: Option<String>,
    /// Only priorities 1 (highest) to this.
    #[serde(default)]
    pub min_priority: Option<i64>,
    /// Comma-separated.
    #[serde(default)]
    pub categories: Option<String>,
    #[serde(default)]
    pub summary_contains: Option<String>,
}

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
            Some(s) => Some(one_of("status", &s, nextcloud::calendar::TODO_STATUSES)?),
            None => None,
        };
        Ok(Self {
            status,
            min_priority,
            categories: categories.as_deref().map(split_csv).unwrap_or_default(),
            summary: summary.map(|s| s.to_lowercase()).filter(|s| !s.is_empty()),
        })
    }

    fn keep(&self, t: &Todo) -> bool {
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

/// The tasks of a calendar that pass the filter; due ones first, by due time.
async fn todos_of(
    user: &NextcloudUser,
    cal: &Calendar,
    filter: &Filter,
    default: Tz,
) -> Result<Vec<TodoOut>, ToolError> {
    let objects = user.calendars().query(cal, "VTODO", None).await?;
    let mut out: Vec<TodoOut> = objects
        .iter()
        .filter_map(|o| {
            let todo = Todo::of(&Document::parse(&o.data), default)?;
            filter
                .keep(&todo)
                .then(|| TodoOut::new(todo, cal, &o.href, o.etag.as_deref().unwrap_or("")))
        })
        .collect();
    out.sort_by(|a, b| {
        let key = |t: &TodoOut| {
            (
                t.todo.due.is_empty(),
                t.todo.due.clone(),
                t.todo.summary.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    Ok(out)
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
];

#[tool_router(router = calendar_todos_read_router, vis = "pub(in crate::tools)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_calendar_list_todos",
        title = "List tasks",
        description = "Tasks (to-dos) of one calendar by status, priority, category or text; due first."
    )]
    async fn nc_calendar_list_todos(
        &self,
        Parameters(a): Parameters<ListTodosArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ListTodosOut>>, ToolError> {
        let filter = Filter::new(a.status, a.min_priority, a.categories, a.summary_contains)?;
        let user = self.user(&ctx)?;
        let cal = todo_calendar(&user, &a.calendar_name).await?;
        let todos = todos_of(
            &user,
            &cal,
            &filter,
            zone_arg("", &self.state().timezone)?.tz,
        )
        .await?;
        answer(ListTodosOut {
            total_count: todos.len(),
            todos,
            calendar_name: cal.name,
            errors: vec![],
        })
    }

    #[tool(
        name = "nc_calendar_search_todos",
        title = "Search tasks in all calendars",
        description = "Find tasks in every calendar that holds tasks, by status, priority, category or text."
    )]
    async fn nc_calendar_search_todos(
        &self,
        Parameters(a): Parameters<SearchTodosArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<ListTodosOut>>, ToolError> {
        let filter = Filter::new(a.status, a.min_priority, a.categories, a.summary_contains)?;
        let user = self.user(&ctx)?;
        let tz = zone_arg("", &self.state().timezone)?.tz;
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
        answer(ListTodosOut {
            total_count: todos.len(),
            todos,
            calendar_name: String::new(),
            errors,
        })
    }
}
