//! Finding free time: your events and, through the server's CalDAV free-busy query, the
//! busy time of the attendees named.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use nextcloud::calendar::{local_to_utc, split_csv};
use nextcloud::freebusy::FreeBusy;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::zone_arg;
use super::{calendars_for, occurrences_in};
use crate::apps;
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, ToolError, answer};
use crate::tools::spec::{Effect::*, ToolSpec};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AvailabilityArgs {
    pub duration_minutes: i64,
    /// Comma-separated e-mails whose busy time counts too.
    #[serde(default)]
    pub attendees: String,
    /// `YYYY-MM-DD`; default today.
    #[serde(default)]
    pub date_range_start: String,
    /// Inclusive; default 7 days after the start.
    #[serde(default)]
    pub date_range_end: String,
    /// 09:00-17:00 only.
    #[serde(default = "yes")]
    pub business_hours_only: bool,
    #[serde(default = "yes")]
    pub exclude_weekends: bool,
    /// "morning" or "afternoon": those slots first.
    #[serde(default)]
    pub preferred_times: String,
    #[serde(default)]
    pub include_all_day: bool,
    /// IANA zone; default the server's.
    #[serde(default)]
    pub timezone: String,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Slot {
    /// RFC 3339 in the requested zone.
    pub start: String,
    pub end: String,
    pub duration_minutes: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AvailabilityOut {
    pub available_slots: Vec<Slot>,
    pub duration_requested: i64,
    pub date_range_start: String,
    pub date_range_end: String,
    /// Attendees whose busy time was taken into account.
    pub attendees_checked: Vec<String>,
    /// Attendees whose busy time could not be read, with the reason; slots may clash for them.
    pub attendees_unavailable: Vec<AttendeeUnavailable>,
    pub business_hours_only: bool,
    pub timezone: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AttendeeUnavailable {
    pub email: String,
    pub reason: String,
}

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[ToolSpec::new(
    "nc_calendar_find_availability",
    &apps::CALENDAR,
    Some("calendar.read"),
    Read,
)];

#[tool_router(router = calendar_availability_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_calendar_find_availability",
        title = "Find free time",
        description = "Free slots of a given length in a date range, avoiding your events and attendees' busy time; business hours by default."
    )]
    async fn nc_calendar_find_availability(
        &self,
        Parameters(a): Parameters<AvailabilityArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Envelope<AvailabilityOut>>, ToolError> {
        if !(5..=24 * 60).contains(&a.duration_minutes) {
            return Err(ToolError::invalid("duration_minutes", "use 5 to 1440"));
        }
        let zone = zone_arg(&a.timezone, &self.state().timezone)?;
        let tz = zone.tz;
        let today = Utc::now().with_timezone(&tz).date_naive();
        let day =
            |arg: &'static str, v: &str, default: NaiveDate| -> Result<NaiveDate, ToolError> {
                if v.trim().is_empty() {
                    return Ok(default);
                }
                NaiveDate::parse_from_str(v.trim().get(..10).unwrap_or(v), "%Y-%m-%d")
                    .map_err(|_| ToolError::invalid(arg, "use YYYY-MM-DD"))
            };
        let first = day("date_range_start", &a.date_range_start, today)?;
        let last = day(
            "date_range_end",
            &a.date_range_end,
            first + Duration::days(7),
        )?;
        if last < first || (last - first).num_days() > 62 {
            return Err(ToolError::invalid(
                "date_range_end",
                "must be on or after the start and at most 62 days later",
            ));
        }
        let from = local_to_utc(first.and_time(NaiveTime::MIN), tz).unwrap_or_else(Utc::now);
        let to =
            local_to_utc((last + Duration::days(1)).and_time(NaiveTime::MIN), tz).unwrap_or(from);
        let attendees = split_csv(&a.attendees);
        if let Some(bad) = attendees
            .iter()
            .find(|e| !e.contains('@') || e.contains(char::is_whitespace))
        {
            return Err(ToolError::invalid(
                "attendees",
                format!("'{bad}' is not an e-mail address"),
            ));
        }
        let user = self.user(&ctx)?;
        let (attendee_busy, attendees_checked, attendees_unavailable) =
            attendees_busy(&user, &attendees, from, to).await?;
        let cals = calendars_for(&user, "", true, "VEVENT").await?;
        let busy_events = occurrences_in(&user, &cals, from, to, tz).await?;
        let mut busy: Vec<(DateTime<Utc>, DateTime<Utc>)> = busy_events
            .iter()
            .filter(|(_, e)| {
                (a.include_all_day || !e.event.all_day)
                    && !e.event.status.eq_ignore_ascii_case("CANCELLED")
            })
            .filter_map(|(s, e)| {
                let end = if e.event.all_day {
                    *s + Duration::days(1)
                } else {
                    DateTime::parse_from_rfc3339(&e.event.end)
                        .ok()?
                        .with_timezone(&Utc)
                };
                Some((*s, end))
            })
            .collect();
        busy.extend(attendee_busy);
        busy.sort();
        let need = Duration::minutes(a.duration_minutes);
        let mut slots = Vec::new();
        let mut d = first;
        while d <= last {
            let weekend = matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
            if !(a.exclude_weekends && weekend) {
                let (open, close) = if a.business_hours_only {
                    (
                        NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
                        Some(NaiveTime::from_hms_opt(17, 0, 0).unwrap_or_default()),
                    )
                } else {
                    (NaiveTime::MIN, None)
                };
                let day_start = local_to_utc(d.and_time(open), tz);
                let day_end = match close {
                    Some(c) => local_to_utc(d.and_time(c), tz),
                    None => local_to_utc((d + Duration::days(1)).and_time(NaiveTime::MIN), tz),
                };
                if let (Some(mut cursor), Some(day_end)) = (day_start, day_end) {
                    cursor = cursor.max(Utc::now());
                    for (bs, be) in busy.iter() {
                        if *be <= cursor || *bs >= day_end {
                            continue;
                        }
                        if *bs - cursor >= need {
                            slots.push((cursor, *bs));
                        }
                        cursor = cursor.max(*be);
                    }
                    if day_end - cursor >= need {
                        slots.push((cursor, day_end));
                    }
                }
            }
            d += Duration::days(1);
        }
        let pref = a.preferred_times.to_ascii_lowercase();
        let local_hour = |t: DateTime<Utc>| {
            t.with_timezone(&tz)
                .format("%H")
                .to_string()
                .parse::<u32>()
                .unwrap_or(0)
        };
        if pref.contains("morning") {
            slots.sort_by_key(|(s, _)| (local_hour(*s) >= 12, *s));
        } else if pref.contains("afternoon") {
            slots.sort_by_key(|(s, _)| (local_hour(*s) < 12, *s));
        }
        let show = |t: DateTime<Utc>| {
            t.with_timezone(&tz)
                .fixed_offset()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        };
        answer(AvailabilityOut {
            available_slots: slots
                .into_iter()
                .take(50)
                .map(|(s, e)| Slot {
                    start: show(s),
                    end: show(e),
                    duration_minutes: (e - s).num_minutes(),
                })
                .collect(),
            duration_requested: a.duration_minutes,
            date_range_start: first.to_string(),
            date_range_end: last.to_string(),
            attendees_checked,
            attendees_unavailable,
            business_hours_only: a.business_hours_only,
            timezone: zone.name,
        })
    }
}

type Busy = Vec<(DateTime<Utc>, DateTime<Utc>)>;

/// The attendees' busy time in `[from, to)` from the server's free-busy query, which attendees
/// it covers, and which it could not (with why).
async fn attendees_busy(
    user: &nextcloud::NextcloudUser,
    attendees: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(Busy, Vec<String>, Vec<AttendeeUnavailable>), ToolError> {
    if attendees.is_empty() {
        return Ok((Vec::new(), Vec::new(), Vec::new()));
    }
    let unavailable = |reason: &str| -> Vec<AttendeeUnavailable> {
        attendees
            .iter()
            .map(|e| AttendeeUnavailable {
                email: e.clone(),
                reason: reason.to_string(),
            })
            .collect()
    };
    if user.schedule_outbox().await?.is_none() {
        return Ok((
            Vec::new(),
            Vec::new(),
            unavailable("this server offers no CalDAV free-busy query (no schedule outbox)"),
        ));
    }
    let organizer = user
        .current_user()
        .await?
        .email
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| {
            ToolError::invalid(
                "attendees",
                "checking attendees needs an e-mail address on your Nextcloud account (set one in Personal settings), as the free-busy query is sent from it",
            )
        })?;
    let answers = match user.free_busy(&organizer, attendees, from, to).await? {
        FreeBusy::NotSupported => {
            return Ok((
                Vec::new(),
                Vec::new(),
                unavailable("this server offers no CalDAV free-busy query (no schedule outbox)"),
            ));
        }
        FreeBusy::Answered(answers) => answers,
    };
    let mut busy = Vec::new();
    let mut checked = Vec::new();
    let mut missing = Vec::new();
    for email in attendees {
        match answers.iter().find(|a| a.email.eq_ignore_ascii_case(email)) {
            Some(answer) if answer.found() => {
                busy.extend(answer.busy.iter().map(|p| (p.start, p.end)));
                checked.push(email.clone());
            }
            Some(answer) => missing.push(AttendeeUnavailable {
                email: email.clone(),
                reason: status_reason(&answer.request_status),
            }),
            None => missing.push(AttendeeUnavailable {
                email: email.clone(),
                reason: "the server did not answer for this address".into(),
            }),
        }
    }
    Ok((busy, checked, missing))
}

/// A request status such as `3.7;Could not find principal` in words.
fn status_reason(status: &str) -> String {
    let code = status.split(';').next().unwrap_or("").trim();
    let text = status.split(';').nth(1).unwrap_or("").trim();
    match code {
        "3.7" => "no Nextcloud user has this e-mail address".into(),
        "3.8" => "you may not see this user's free/busy time".into(),
        _ if text.is_empty() => format!("the server answered '{status}'"),
        _ => format!("the server answered: {text} ({code})"),
    }
}
