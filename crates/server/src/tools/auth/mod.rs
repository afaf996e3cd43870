//! Login Flow v2 provisioning tools (`login_flow` mode only): a user gives this server an app
//! password for their Nextcloud by logging in in a browser, checks whether that is done, and
//! later changes the scopes they granted (which takes a new login and a new app password; the
//! old one is then revoked in Nextcloud).
//!
//! The pending flow is kept in the credential store (poll token encrypted, 20-minute expiry),
//! so any replica can complete it. The login URL is shown by URL-mode elicitation when the
//! client supports it (a server request on `2025-11-25`, an input-required result on
//! `2026-07-28`) and is always returned in the structured output too.

use std::collections::BTreeSet;

use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::tool::{InputResponses, RequestState};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResponse, CallToolResult, ContentBlock, ElicitRequest, ElicitRequestParams,
    ElicitResult, ElicitationAction, InputRequest, InputRequiredResult, ProtocolVersion,
};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::apps;
use crate::auth::provisioning::{Disposal, Grant, ProvisionError};
use crate::auth::{Caller, MultiUser};
use crate::db::{AuditEvent, FlowPurpose, Origin, PendingLogin};
use crate::mcp::NextcloudMcp;
use crate::tools::common::{Envelope, NoArgs};
use crate::tools::spec::{Effect::*, ToolSpec};

pub fn router() -> rmcp::handler::server::router::tool::ToolRouter<NextcloudMcp> {
    NextcloudMcp::auth_router()
}

/// OpenID Connect scopes a client may pass along with app scopes; they grant nothing here.
const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// Key of the login elicitation inside an input-required result.
const LOGIN_INPUT: &str = "nextcloud_login";

/// How long a `2025-11-25` client may take to answer the login elicitation.
const ELICITATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ProvisionArgs {
    /// E.g. ["notes.read", "calendar.write"]; omitted or empty: every scope.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct UpdateScopesArgs {
    #[serde(default)]
    pub add_scopes: Option<Vec<String>>,
    #[serde(default)]
    pub remove_scopes: Option<Vec<String>>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProvisionStatus {
    /// Open `login_url` in a browser and log in, then call `nc_auth_check_status`.
    LoginRequired,
    /// The user was shown the login page; call `nc_auth_check_status` once they logged in.
    Pending,
    /// Access exists already; change it with `nc_auth_update_scopes`.
    AlreadyProvisioned,
    /// The user declined to open the login page; nothing is pending.
    Declined,
    /// The user dismissed the login prompt; nothing is pending.
    Cancelled,
    Error,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ProvisionOut {
    pub status: ProvisionStatus,
    pub message: String,
    /// The Nextcloud login page to open in a browser.
    pub login_url: Option<String>,
    /// The caller, as the bearer token names them.
    pub user_id: Option<String>,
    pub requested_scopes: Option<Vec<String>>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AccessStatus {
    /// The server holds an app password for the caller.
    Provisioned,
    /// A login was started and is not finished yet.
    Pending,
    /// Nothing stored and nothing pending (or the pending login expired).
    NotInitiated,
    Error,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct StatusOut {
    pub status: AccessStatus,
    pub message: String,
    pub user_id: Option<String>,
    /// Granted scopes (provisioned).
    pub scopes: Option<Vec<String>>,
    /// The Nextcloud login name the app password belongs to (provisioned).
    pub username: Option<String>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStatus {
    /// Open `login_url` and log in, then call `nc_auth_check_status` to switch over.
    LoginRequired,
    /// The user was shown the login page; call `nc_auth_check_status` once they logged in.
    Pending,
    /// The requested set equals the current one; nothing was started.
    Unchanged,
    Declined,
    Cancelled,
    Error,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct UpdateScopesOut {
    pub status: UpdateStatus,
    pub message: String,
    pub login_url: Option<String>,
    pub user_id: Option<String>,
    pub previous_scopes: Option<Vec<String>>,
    pub new_scopes: Option<Vec<String>>,
}

/// A completed answer: structured output in the common envelope plus, for errors, the
/// message as text.
fn respond<T: Serialize>(success: bool, out: &T, message: &str, error: bool) -> CallToolResponse {
    let value = serde_json::to_value(Envelope::new(success, out)).expect("outputs serialize");
    if error {
        let mut result = CallToolResult::structured_error(value);
        result.content = vec![ContentBlock::text(message.to_string())];
        result.into()
    } else {
        CallToolResult::structured(value).into()
    }
}

fn provision_error(user_id: Option<&str>, message: String) -> CallToolResponse {
    let out = ProvisionOut {
        status: ProvisionStatus::Error,
        message,
        login_url: None,
        user_id: user_id.map(str::to_string),
        requested_scopes: None,
    };
    respond(false, &out, &out.message, true)
}

fn status_error(user_id: Option<&str>, message: String) -> CallToolResponse {
    let out = StatusOut {
        status: AccessStatus::Error,
        message,
        user_id: user_id.map(str::to_string),
        scopes: None,
        username: None,
    };
    respond(false, &out, &out.message, true)
}

fn update_error(user_id: Option<&str>, message: String) -> CallToolResponse {
    let out = UpdateScopesOut {
        status: UpdateStatus::Error,
        message,
        login_url: None,
        user_id: user_id.map(str::to_string),
        previous_scopes: None,
        new_scopes: None,
    };
    respond(false, &out, &out.message, true)
}

const STORE_UNAVAILABLE: &str = "The server's credential store is unavailable; try again shortly.";

/// Canonical scopes from user input; `Err` lists what is not a scope, and what is.
fn parse_scopes(argument: &str, given: &[String]) -> Result<BTreeSet<String>, String> {
    let mut valid = BTreeSet::new();
    let mut invalid = Vec::new();
    for scope in given {
        if OIDC_SCOPES.contains(&scope.trim()) {
            continue;
        }
        match apps::normalize_scope(scope) {
            Some(s) => {
                valid.insert(s);
            }
            None => invalid.push(format!("`{scope}`")),
        }
    }
    if invalid.is_empty() {
        Ok(valid)
    } else {
        Err(format!(
            "Invalid argument `{argument}`: {} {} not a scope this server knows. Valid scopes (the colon form, e.g. `notes:read`, works too): {}.",
            invalid.join(", "),
            if invalid.len() == 1 { "is" } else { "are" },
            apps::all_scopes().join(", ")
        ))
    }
}

/// A stored restriction as the list it stands for (`None` = every scope).
fn scope_list(stored: Option<&[String]>) -> Vec<String> {
    match stored {
        Some(s) => s.to_vec(),
        None => apps::all_scopes(),
    }
}

/// The opaque MRTR state for a flow: a digest of its login URL, so the retry can be matched
/// to the pending flow it answers without trusting anything the client echoes.
fn flow_state(flow_login_url: &str) -> String {
    let digest = Sha256::digest(flow_login_url.as_bytes());
    format!(
        "login-flow:{}",
        digest[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// How the login URL reached the user.
enum Shown {
    /// Only in the result (no URL elicitation).
    InResult,
    Accepted,
    Declined,
    Cancelled,
    /// A `2026-07-28` client must first show it and retry (MRTR).
    InputRequired(InputRequiredResult),
}

/// A flow this call started (or the pending one an MRTR retry answers).
struct Started {
    login_url: String,
    user_id: String,
}

impl NextcloudMcp {
    fn multi(&self) -> Option<&std::sync::Arc<MultiUser>> {
        self.state().multi.as_ref()
    }

    /// The bearer-token caller's user id.
    fn token_user(ctx: &RequestContext<RoleServer>) -> Option<String> {
        match Self::caller(ctx)? {
            Caller::Bearer { user_id, .. } => Some(user_id),
            Caller::Basic { .. } => None,
        }
    }

    /// Starts a Login Flow v2 and stores it as the user's pending flow.
    async fn start_flow(
        &self,
        multi: &MultiUser,
        user_id: &str,
        scopes: Option<&[String]>,
        purpose: FlowPurpose,
    ) -> Result<Started, String> {
        let nc = &self.state().nextcloud;
        let flow = nc.start_login_flow().await.map_err(|e| {
            tracing::warn!(error = %e, "cannot start a Login Flow v2");
            format!("Could not start the Nextcloud login: {e}")
        })?;
        let login_url = match &multi.settings.public_url {
            Some(public) => nextcloud::login_flow::rebase(&flow.login_url, public.as_str()),
            None => flow.login_url.clone(),
        };
        multi
            .store
            .put_pending_login(
                user_id,
                &flow.poll_token,
                &flow.poll_endpoint,
                &login_url,
                scopes,
                purpose,
            )
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "cannot store a login flow");
                STORE_UNAVAILABLE.to_string()
            })?;
        Ok(Started {
            login_url,
            user_id: user_id.to_string(),
        })
    }

    /// Shows the login URL by URL elicitation when the client supports it.
    async fn show_login(
        &self,
        ctx: &RequestContext<RoleServer>,
        started: &Started,
        message: &str,
    ) -> Shown {
        let url_elicitation = ctx
            .client_capabilities()
            .and_then(|c| c.elicitation)
            .is_some_and(|e| e.url.is_some());
        if !url_elicitation {
            return Shown::InResult;
        }
        let elicitation_id = uuid::Uuid::new_v4().to_string();
        if ctx
            .protocol_version()
            .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28)
        {
            let request = ElicitRequest::new(ElicitRequestParams::UrlElicitationParams {
                meta: None,
                message: message.to_string(),
                url: started.login_url.clone(),
                elicitation_id,
            });
            let mut inputs = rmcp::model::InputRequests::new();
            inputs.insert(LOGIN_INPUT.to_string(), InputRequest::Elicitation(request));
            return Shown::InputRequired(InputRequiredResult::new(
                Some(inputs),
                Some(flow_state(&started.login_url)),
            ));
        }
        let Ok(url) = url::Url::parse(&started.login_url) else {
            return Shown::InResult;
        };
        match ctx
            .peer
            .elicit_url_with_timeout(message, url, elicitation_id, Some(ELICITATION_TIMEOUT))
            .await
        {
            Ok(ElicitationAction::Accept) => Shown::Accepted,
            Ok(ElicitationAction::Decline) => Shown::Declined,
            Ok(_) => Shown::Cancelled,
            Err(e) => {
                tracing::info!(error = %e, "login URL elicitation failed; returning the URL");
                Shown::InResult
            }
        }
    }

    /// The MRTR retry of a `2026-07-28` client: the pending flow it answers and the user's
    /// choice. `Err` is a tool error message.
    async fn answered_login(
        &self,
        multi: &MultiUser,
        user_id: &str,
        state: Option<String>,
        responses: Option<rmcp::model::InputResponses>,
    ) -> Result<Option<(PendingLogin, Shown)>, String> {
        let Some(state) = state else {
            return Ok(None);
        };
        let pending = multi.store.pending_login(user_id).await.map_err(|e| {
            tracing::error!(error = %e, "cannot read a login flow");
            STORE_UNAVAILABLE.to_string()
        })?;
        let Some(flow) = pending.filter(|f| flow_state(&f.login_url) == state && !f.is_expired())
        else {
            return Err("The login this answer belongs to is no longer pending (it expired or a newer one was started). Call the tool again to start a new login.".into());
        };
        let answer = responses
            .and_then(|mut r| r.remove(LOGIN_INPUT))
            .and_then(|v| serde_json::from_value::<ElicitResult>(v).ok());
        let shown = match answer.map(|a| a.action) {
            Some(ElicitationAction::Accept) => Shown::Accepted,
            Some(ElicitationAction::Decline) => Shown::Declined,
            Some(_) => Shown::Cancelled,
            None => Shown::InResult,
        };
        Ok(Some((flow, shown)))
    }

    /// Provisioning outcome once the URL was (or was not) shown.
    async fn provision_outcome(
        &self,
        multi: &MultiUser,
        started: &Started,
        scopes: Vec<String>,
        shown: Shown,
    ) -> CallToolResponse {
        let (success, status, message) = match shown {
            Shown::InputRequired(r) => return r.into(),
            Shown::InResult => (
                true,
                ProvisionStatus::LoginRequired,
                format!(
                    "Open this link in a browser and log in to Nextcloud to grant access: {}\nThen call `nc_auth_check_status` to finish. The link is valid for 20 minutes.",
                    started.login_url
                ),
            ),
            Shown::Accepted => (
                true,
                ProvisionStatus::Pending,
                "The Nextcloud login page was opened. After logging in there, call `nc_auth_check_status` to finish.".to_string(),
            ),
            Shown::Declined | Shown::Cancelled => {
                let declined = matches!(shown, Shown::Declined);
                discard_flow(multi, started).await;
                (
                    false,
                    if declined {
                        ProvisionStatus::Declined
                    } else {
                        ProvisionStatus::Cancelled
                    },
                    format!(
                        "The Nextcloud login was {}; nothing was granted and the login was discarded. Call `nc_auth_provision_access` again to retry.",
                        if declined { "declined" } else { "cancelled" }
                    ),
                )
            }
        };
        let out = ProvisionOut {
            status,
            message,
            login_url: Some(started.login_url.clone()),
            user_id: Some(started.user_id.clone()),
            requested_scopes: Some(scopes),
        };
        respond(success, &out, &out.message, false)
    }

    async fn update_outcome(
        &self,
        multi: &MultiUser,
        started: &Started,
        previous: Option<Vec<String>>,
        new: Vec<String>,
        shown: Shown,
    ) -> CallToolResponse {
        let (success, status, message) = match shown {
            Shown::InputRequired(r) => return r.into(),
            Shown::InResult => (
                true,
                UpdateStatus::LoginRequired,
                format!(
                    "Changing scopes needs a new Nextcloud login. Open this link in a browser and log in: {}\nThen call `nc_auth_check_status`; your current access keeps working until then.",
                    started.login_url
                ),
            ),
            Shown::Accepted => (
                true,
                UpdateStatus::Pending,
                "The Nextcloud login page was opened. After logging in there, call `nc_auth_check_status` to switch to the new scopes.".to_string(),
            ),
            Shown::Declined | Shown::Cancelled => {
                let declined = matches!(shown, Shown::Declined);
                discard_flow(multi, started).await;
                (
                    false,
                    if declined {
                        UpdateStatus::Declined
                    } else {
                        UpdateStatus::Cancelled
                    },
                    format!(
                        "The scope change was {}; your current access and scopes are unchanged. Call `nc_auth_update_scopes` again to retry.",
                        if declined { "declined" } else { "cancelled" }
                    ),
                )
            }
        };
        let out = UpdateScopesOut {
            status,
            message,
            login_url: Some(started.login_url.clone()),
            user_id: Some(started.user_id.clone()),
            previous_scopes: previous,
            new_scopes: Some(new),
        };
        respond(success, &out, &out.message, false)
    }

    /// Polls the user's pending flow and completes it; the status answer.
    async fn poll_pending(
        &self,
        multi: &MultiUser,
        user_id: &str,
        flow: PendingLogin,
    ) -> CallToolResponse {
        let store = &multi.store;
        let nc = &self.state().nextcloud;
        let polled = nc
            .poll_login_flow(&flow.poll_endpoint, flow.poll_token.expose())
            .await;
        let creds = match polled {
            Err(e) => {
                tracing::warn!(error = %e, "Login Flow v2 poll failed");
                return status_error(
                    Some(user_id),
                    format!("Could not check the Nextcloud login: {e}"),
                );
            }
            Ok(None) => {
                // Another request may have completed it meanwhile.
                return match store.pending_login(user_id).await {
                    Ok(Some(_)) => pending_answer(user_id, &flow),
                    Ok(None) => self.stored_status(multi, user_id, None).await,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot read a login flow");
                        status_error(Some(user_id), STORE_UNAVAILABLE.into())
                    }
                };
            }
            Ok(Some(creds)) => creds,
        };
        let scopes = scope_list(flow.requested_scopes.as_deref());
        let detail = format!("scopes={}", scopes.join(" "));
        let required = multi.settings.caller_is_nextcloud_user().then_some(user_id);
        let grant = Grant {
            user_id,
            login_name: &creds.login_name,
            password: &creds.app_password,
            scopes: flow.requested_scopes.as_deref(),
            origin: Origin::LoginFlow,
            account: None,
            required_account: required,
            flow: Some(&flow),
            event: match flow.purpose {
                FlowPurpose::UpdateScopes => AuditEvent::ScopesChanged,
                FlowPurpose::Provision => AuditEvent::Provisioned,
            },
            detail: &detail,
        };
        let stored = match multi.provisioning.provision(grant).await {
            Ok(stored) => stored,
            Err(ProvisionError::Superseded) => {
                return match store.pending_login(user_id).await {
                    Ok(Some(newer)) => pending_answer(user_id, &newer),
                    _ => self.stored_status(multi, user_id, None).await,
                };
            }
            Err(e @ ProvisionError::WrongAccount { .. }) => {
                return status_error(Some(user_id), e.to_string());
            }
            Err(ProvisionError::Unverified(e)) => {
                return status_error(
                    Some(user_id),
                    format!(
                        "Nextcloud did not confirm the access it had just granted ({e}); nothing was stored. Start the login again."
                    ),
                );
            }
            Err(ProvisionError::Store(e)) => {
                tracing::error!(error = %e, "cannot store an app password");
                return status_error(Some(user_id), STORE_UNAVAILABLE.into());
            }
        };
        let note = match stored.replaced {
            Some(Disposal::RevocationFailed) => {
                " The previous app password could not be revoked in Nextcloud; remove it under Settings → Security → Devices & sessions."
            }
            _ => "",
        };
        let out = StatusOut {
            status: AccessStatus::Provisioned,
            message: format!(
                "Nextcloud access is set up as {} with scopes: {}.{note}",
                creds.login_name,
                scopes.join(", ")
            ),
            user_id: Some(user_id.to_string()),
            scopes: Some(scopes),
            username: Some(creds.login_name.clone()),
        };
        respond(true, &out, &out.message, false)
    }

    /// `provisioned` from the stored password, else `not_initiated` with `why`.
    async fn stored_status(
        &self,
        multi: &MultiUser,
        user_id: &str,
        why: Option<&str>,
    ) -> CallToolResponse {
        match multi.store.app_password(user_id).await {
            Ok(Some(stored)) => {
                let scopes = scope_list(stored.scopes.as_deref());
                let out = StatusOut {
                    status: AccessStatus::Provisioned,
                    message: format!(
                        "Nextcloud access is set up as {} with scopes: {}.{}",
                        stored.login_name,
                        scopes.join(", "),
                        why.map(|w| format!(" {w}")).unwrap_or_default()
                    ),
                    user_id: Some(user_id.to_string()),
                    scopes: Some(scopes),
                    username: Some(stored.login_name.clone()),
                };
                respond(true, &out, &out.message, false)
            }
            Ok(None) => {
                let out = StatusOut {
                    status: AccessStatus::NotInitiated,
                    message: format!(
                        "{}Call `nc_auth_provision_access` to give this server access to your Nextcloud.",
                        why.map(|w| format!("{w} ")).unwrap_or_else(|| {
                            "No Nextcloud access is set up and no login is pending. ".into()
                        })
                    ),
                    user_id: Some(user_id.to_string()),
                    scopes: None,
                    username: None,
                };
                respond(true, &out, &out.message, false)
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read an app password");
                status_error(Some(user_id), STORE_UNAVAILABLE.into())
            }
        }
    }
}

fn pending_answer(user_id: &str, flow: &PendingLogin) -> CallToolResponse {
    let minutes = ((flow.expires_at - crate::db::now()).max(0) + 59) / 60;
    let out = StatusOut {
        status: AccessStatus::Pending,
        message: format!(
            "The Nextcloud login is not finished yet. Log in at {} (valid for about {minutes} more minutes), then call `nc_auth_check_status` again.",
            flow.login_url
        ),
        user_id: Some(user_id.to_string()),
        scopes: None,
        username: None,
    };
    respond(true, &out, &out.message, false)
}

/// Serialises status checks of one user within this process, so that a check racing with
/// another one's completion waits for it instead of reporting a stale `pending`. (Across
/// replicas the completion itself stays atomic; see [`crate::db::Store::provision`].)
fn user_lock(user_id: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock, Weak};
    static LOCKS: OnceLock<Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let mut locks = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(lock) = locks.get(user_id).and_then(Weak::upgrade) {
        return lock;
    }
    locks.retain(|_, l| l.strong_count() > 0);
    let lock = Arc::new(tokio::sync::Mutex::new(()));
    locks.insert(user_id.to_string(), Arc::downgrade(&lock));
    lock
}

const NOT_LOGIN_FLOW: &str = "This tool needs the server's login_flow mode and a bearer-token caller; this server or request has neither.";

/// The app, scope and effect of each tool in this file: read once per call (see
/// [`crate::tools::spec`]).
pub(in crate::tools) const SPECS: &[ToolSpec] = &[
    ToolSpec::new("nc_auth_provision_access", &apps::AUTH, None, Create),
    ToolSpec::new("nc_auth_check_status", &apps::AUTH, None, Read),
    ToolSpec::new("nc_auth_update_scopes", &apps::AUTH, None, Create),
];

#[tool_router(router = auth_router, vis = "pub(super)")]
impl NextcloudMcp {
    #[tool(
        name = "nc_auth_provision_access",
        title = "Connect your Nextcloud",
        description = "Connect this server to your Nextcloud: returns a login link to open in a browser, then call nc_auth_check_status. Needed once before the other tools work.",
        output_schema = schema_for_output::<Envelope<ProvisionOut>>()
    )]
    async fn nc_auth_provision_access(
        &self,
        Parameters(args): Parameters<ProvisionArgs>,
        ctx: RequestContext<RoleServer>,
        RequestState(state): RequestState,
        InputResponses(responses): InputResponses,
    ) -> CallToolResponse {
        let (Some(multi), Some(user_id)) = (self.multi().cloned(), Self::token_user(&ctx)) else {
            return provision_error(None, NOT_LOGIN_FLOW.into());
        };
        // The retry of a `2026-07-28` client after it showed the login page.
        match self
            .answered_login(&multi, &user_id, state, responses)
            .await
        {
            Err(message) => return provision_error(Some(&user_id), message),
            Ok(Some((flow, shown))) => {
                let scopes = scope_list(flow.requested_scopes.as_deref());
                let started = Started {
                    login_url: flow.login_url,
                    user_id,
                };
                return self
                    .provision_outcome(&multi, &started, scopes, shown)
                    .await;
            }
            Ok(None) => {}
        }
        match multi.store.app_password(&user_id).await {
            Ok(Some(stored)) => {
                let scopes = scope_list(stored.scopes.as_deref());
                let out = ProvisionOut {
                    status: ProvisionStatus::AlreadyProvisioned,
                    message: format!(
                        "Nextcloud access is already set up for {user_id} (as {}) with scopes: {}. Use `nc_auth_update_scopes` to change them.",
                        stored.login_name,
                        scopes.join(", ")
                    ),
                    login_url: None,
                    user_id: Some(user_id),
                    requested_scopes: Some(scopes),
                };
                return respond(true, &out, &out.message, false);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "cannot read an app password");
                return provision_error(Some(&user_id), STORE_UNAVAILABLE.into());
            }
        }
        let requested = match args.scopes.as_deref() {
            None | Some([]) => None,
            Some(given) => match parse_scopes("scopes", given) {
                Ok(set) if set.is_empty() => None,
                Ok(set) => Some(set.into_iter().collect::<Vec<_>>()),
                Err(message) => return provision_error(Some(&user_id), message),
            },
        };
        let started = match self
            .start_flow(
                &multi,
                &user_id,
                requested.as_deref(),
                FlowPurpose::Provision,
            )
            .await
        {
            Ok(s) => s,
            Err(message) => return provision_error(Some(&user_id), message),
        };
        let shown = self
            .show_login(
                &ctx,
                &started,
                "Log in to Nextcloud to give the assistant access to your account.",
            )
            .await;
        self.provision_outcome(&multi, &started, scope_list(requested.as_deref()), shown)
            .await
    }

    #[tool(
        name = "nc_auth_check_status",
        title = "Check your Nextcloud connection",
        description = "Check whether this server has access to your Nextcloud, and finish a login started by nc_auth_provision_access or nc_auth_update_scopes.",
        output_schema = schema_for_output::<Envelope<StatusOut>>()
    )]
    async fn nc_auth_check_status(
        &self,
        Parameters(_args): Parameters<NoArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResponse {
        let (Some(multi), Some(user_id)) = (self.multi().cloned(), Self::token_user(&ctx)) else {
            return status_error(None, NOT_LOGIN_FLOW.into());
        };
        let lock = user_lock(&user_id);
        let _guard = lock.lock().await;
        match multi.store.pending_login(&user_id).await {
            Err(e) => {
                tracing::error!(error = %e, "cannot read a login flow");
                status_error(Some(&user_id), STORE_UNAVAILABLE.into())
            }
            Ok(Some(flow)) if flow.is_expired() => {
                if let Err(e) = multi.store.delete_flow(&user_id, &flow.login_url).await {
                    tracing::error!(error = %e, "cannot delete a login flow");
                }
                self.stored_status(
                    &multi,
                    &user_id,
                    Some("The pending Nextcloud login expired (logins are valid for 20 minutes)."),
                )
                .await
            }
            Ok(Some(flow)) => self.poll_pending(&multi, &user_id, flow).await,
            Ok(None) => self.stored_status(&multi, &user_id, None).await,
        }
    }

    #[tool(
        name = "nc_auth_update_scopes",
        title = "Change your Nextcloud scopes",
        description = "Grant or withdraw scopes (e.g. calendar.write): starts a new Nextcloud login; once nc_auth_check_status sees it done, the new access replaces the old.",
        output_schema = schema_for_output::<Envelope<UpdateScopesOut>>()
    )]
    async fn nc_auth_update_scopes(
        &self,
        Parameters(args): Parameters<UpdateScopesArgs>,
        ctx: RequestContext<RoleServer>,
        RequestState(state): RequestState,
        InputResponses(responses): InputResponses,
    ) -> CallToolResponse {
        let (Some(multi), Some(user_id)) = (self.multi().cloned(), Self::token_user(&ctx)) else {
            return update_error(None, NOT_LOGIN_FLOW.into());
        };
        let stored = match multi.store.app_password(&user_id).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot read an app password");
                return update_error(Some(&user_id), STORE_UNAVAILABLE.into());
            }
        };
        match self
            .answered_login(&multi, &user_id, state, responses)
            .await
        {
            Err(message) => return update_error(Some(&user_id), message),
            Ok(Some((flow, shown))) => {
                let previous = stored.map(|s| scope_list(s.scopes.as_deref()));
                let new = scope_list(flow.requested_scopes.as_deref());
                let started = Started {
                    login_url: flow.login_url,
                    user_id,
                };
                return self
                    .update_outcome(&multi, &started, previous, new, shown)
                    .await;
            }
            Ok(None) => {}
        }
        let add = args.add_scopes.unwrap_or_default();
        let remove = args.remove_scopes.unwrap_or_default();
        if add.is_empty() && remove.is_empty() {
            return update_error(
                Some(&user_id),
                "Invalid arguments: give `add_scopes` and/or `remove_scopes`, each a list of scopes such as [\"notes.write\"].".into(),
            );
        }
        let add = match parse_scopes("add_scopes", &add) {
            Ok(s) => s,
            Err(message) => return update_error(Some(&user_id), message),
        };
        let remove = match parse_scopes("remove_scopes", &remove) {
            Ok(s) => s,
            Err(message) => return update_error(Some(&user_id), message),
        };
        let Some(stored) = stored else {
            return update_error(
                Some(&user_id),
                "You have not given this server access to your Nextcloud yet, so there are no scopes to change. Call `nc_auth_provision_access` (with the scopes you want) first.".into(),
            );
        };
        let previous: BTreeSet<String> = scope_list(stored.scopes.as_deref()).into_iter().collect();
        let new: BTreeSet<String> = previous
            .union(&add)
            .filter(|s| !remove.contains(*s))
            .cloned()
            .collect();
        let previous: Vec<String> = previous.into_iter().collect();
        let new: Vec<String> = new.into_iter().collect();
        if new.is_empty() {
            return update_error(
                Some(&user_id),
                "Invalid argument `remove_scopes`: it would remove every scope; at least one must remain. To remove the access entirely, revoke the app password in Nextcloud or use the app-password API.".into(),
            );
        }
        if new == previous {
            let out = UpdateScopesOut {
                status: UpdateStatus::Unchanged,
                message: format!(
                    "Your access already has exactly these scopes ({}); nothing to change.",
                    new.join(", ")
                ),
                login_url: None,
                user_id: Some(user_id),
                previous_scopes: Some(previous),
                new_scopes: Some(new),
            };
            return respond(true, &out, &out.message, false);
        }
        let started = match self
            .start_flow(&multi, &user_id, Some(&new), FlowPurpose::UpdateScopes)
            .await
        {
            Ok(s) => s,
            Err(message) => return update_error(Some(&user_id), message),
        };
        let shown = self
            .show_login(
                &ctx,
                &started,
                "Log in to Nextcloud again to change the assistant's access to your account.",
            )
            .await;
        self.update_outcome(&multi, &started, Some(previous), new, shown)
            .await
    }
}

/// Forgets a login flow the person declined or cancelled, so its poll token is not kept.
async fn discard_flow(multi: &MultiUser, started: &Started) {
    if let Err(e) = multi
        .store
        .delete_flow(&started.user_id, &started.login_url)
        .await
    {
        tracing::error!(error = %e, "cannot delete a login flow");
    }
}
