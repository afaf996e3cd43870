#![recursion_limit = "256"]
//! A stateful stand-in for a Nextcloud 34 server, for integration tests, demos and benchmarks.
//!
//! It answers like real Nextcloud (status codes, headers, OCS envelopes, WebDAV XML, Notes API
//! shapes and ETags) with in-memory state, and can inject faults (latency, error statuses,
//! dropped connections). Start one with [`Emulator::builder`].

pub mod auth;
pub mod collectives;
pub mod control;
pub mod cookbook;
pub mod dav;
pub mod deck;
pub mod faults;
pub mod fs;
pub mod login_flow;
pub mod mail;
pub mod news;
pub mod notes;
pub mod ocs;
pub mod params;
pub mod sample;
pub mod sharing;
pub mod shopping_list;
pub mod state;
pub mod status;
pub mod tables;
pub mod talk;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get, post, put};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use faults::FaultOutcome;
pub use faults::Faults;
use state::{AppState, DEFAULT_APPS};

/// Entry point: `Emulator::builder().user("alice", "secret").start().await`.
pub struct Emulator;

impl Emulator {
    /// A builder with the default apps, no users and an ephemeral port on 127.0.0.1.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// Configures an emulator before it starts.
pub struct EmulatorBuilder {
    users: Vec<(String, String, String)>,
    emails: Vec<(String, String)>,
    admins: Vec<String>,
    app_passwords: Vec<(String, String)>,
    apps: Vec<String>,
    sample_data: bool,
    bind: SocketAddr,
    dav_upstream: Option<String>,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            users: Vec::new(),
            emails: Vec::new(),
            admins: Vec::new(),
            app_passwords: Vec::new(),
            apps: DEFAULT_APPS.iter().map(|s| s.to_string()).collect(),
            sample_data: false,
            dav_upstream: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

impl EmulatorBuilder {
    /// Adds a user whose login name equals the user id.
    pub fn user(self, id: &str, password: &str) -> Self {
        self.user_with_login(id, id, password)
    }

    /// Adds a user whose login name differs from the id (e.g. an email address).
    pub fn user_with_login(mut self, id: &str, login_name: &str, password: &str) -> Self {
        self.users
            .push((id.to_string(), login_name.to_string(), password.to_string()));
        self
    }

    /// Sets a user's e-mail address (by default only users whose login name is one have one).
    pub fn email(mut self, user_id: &str, email: &str) -> Self {
        self.emails.push((user_id.to_string(), email.to_string()));
        self
    }

    /// Puts a user in the `admin` group (Nextcloud lets only admins delete system tags).
    pub fn admin(mut self, user_id: &str) -> Self {
        self.admins.push(user_id.to_string());
        self
    }

    /// Pre-issues an app password for a user (as if created in the security settings).
    pub fn app_password(mut self, user_id: &str, app_password: &str) -> Self {
        self.app_passwords
            .push((user_id.to_string(), app_password.to_string()));
        self
    }

    /// Sets the installed apps; they drive capabilities and whether an app's routes answer.
    /// `deck@1.16.0` installs an app in another version than the default (as an older
    /// instance would report it in its capabilities).
    pub fn installed_apps(mut self, apps: &[&str]) -> Self {
        self.apps = apps.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Seeds every user with sample data for every app: notes (categories, unicode, an image
    /// attachment), recipes, calendars with recurring events and tasks, contacts, a Deck board,
    /// a table, files and a public share (see [`sample`]).
    pub fn sample_data(mut self) -> Self {
        self.sample_data = true;
        self
    }

    /// Serves `/remote.php/dav/calendars` and `/remote.php/dav/addressbooks` by forwarding to
    /// a real CalDAV/CardDAV server (Radicale) at this base URL, so calendar behaviour is a
    /// real server's, not an imitation.
    pub fn dav_upstream(mut self, base_url: &str) -> Self {
        self.dav_upstream = Some(base_url.trim_end_matches('/').to_string());
        self
    }

    /// Where to listen; default `127.0.0.1:0` (an ephemeral port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Binds and serves in a background task.
    pub async fn start(self) -> std::io::Result<RunningEmulator> {
        let state = AppState::new(self.apps);
        for (id, login, password) in &self.users {
            state.add_user(id, login, password);
        }
        {
            let mut world = state.world();
            for (uid, email) in &self.emails {
                if let Some(u) = world.users.get_mut(uid) {
                    u.email = Some(email.clone());
                }
            }
            for uid in &self.admins {
                if let Some(u) = world.users.get_mut(uid) {
                    u.groups.push("admin".into());
                }
            }
            for (uid, token) in &self.app_passwords {
                let login = world
                    .users
                    .get(uid)
                    .map(|u| u.login_name.clone())
                    .unwrap_or_else(|| uid.clone());
                world.app_passwords.insert(
                    token.clone(),
                    state::AppPassword {
                        user_id: uid.clone(),
                        login_name: login,
                    },
                );
            }
        }
        if let Ok(mut u) = state.inner.dav_upstream.lock() {
            *u = self.dav_upstream.clone();
        }
        let listener = TcpListener::bind(self.bind).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        if let Ok(mut b) = state.inner.base_url.lock() {
            *b = base_url.clone();
        }
        let router = router(state.clone());
        if self.sample_data {
            sample::seed(&state);
            for (id, login, password) in &self.users {
                sample::seed_through_api(&router, &state, id, login, password)
                    .await
                    .map_err(std::io::Error::other)?;
            }
        }
        let task = tokio::spawn(serve(listener, router, state.clone()));
        tracing::info!(%base_url, "nextcloud emulator listening");
        Ok(RunningEmulator {
            base_url,
            state,
            task,
        })
    }
}

/// A running emulator; dropping it without [`RunningEmulator::shutdown`] leaves it serving
/// until the runtime ends.
pub struct RunningEmulator {
    base_url: String,
    state: AppState,
    task: JoinHandle<()>,
}

impl RunningEmulator {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// A cheap, clonable control handle.
    pub fn handle(&self) -> EmulatorHandle {
        EmulatorHandle {
            state: self.state.clone(),
        }
    }

    /// Stops accepting and closes all connections.
    pub async fn shutdown(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Test control over a running emulator.
#[derive(Clone)]
pub struct EmulatorHandle {
    state: AppState,
}

impl EmulatorHandle {
    /// Replaces the active fault plan.
    pub fn set_faults(&self, faults: Faults) {
        self.state.world().faults.set(faults);
    }

    /// Removes any fault plan.
    pub fn clear_faults(&self) {
        self.state.world().faults.clear();
    }

    /// Test shortcut for the browser part of Login Flow v2: grants the flow with this poll
    /// token to `user_id`. False if the flow or user does not exist.
    pub fn grant_login_flow(&self, poll_token: &str, user_id: &str) -> bool {
        let server = self
            .state
            .inner
            .base_url
            .lock()
            .map(|b| b.clone())
            .unwrap_or_default();
        login_flow::grant(&self.state, poll_token, user_id, &server)
    }

    /// The app passwords that currently authenticate as `user_id`, sorted: what Settings →
    /// Security → Devices & sessions would list. Lets tests check a revocation even for a
    /// password they never saw (one a Login Flow issued and the server revoked).
    pub fn app_passwords(&self, user_id: &str) -> Vec<String> {
        control::app_passwords_of(&self.state, user_id)
    }

    /// Serves `html` as the page at `url` to Cookbook's recipe import, instead of fetching it
    /// (tests import from made-up addresses; the app refuses loopback and IP hosts).
    pub fn register_web_page(&self, url: &str, html: &str) {
        self.state
            .world()
            .cookbook
            .pages
            .insert(url.to_string(), html.to_string());
    }

    /// Shares a shopping list with another user (0 read, 1 write), as the app's share dialog
    /// would. False if the list does not exist.
    pub fn share_shopping_list(&self, list_id: u64, user_id: &str, permission: i64) -> bool {
        shopping_list::share(&self.state, list_id, user_id, permission)
    }

    /// Runs the Collectives app's background job that indexes pages for content search: until
    /// it runs, pages created or changed since the last run are not found (as on a real server).
    pub fn run_collectives_index(&self) {
        collectives::run_index(&self.state);
    }

    /// Whether a team (circle) of this name exists: deleting a collective keeps its team unless
    /// asked to remove it too.
    pub fn team_exists(&self, name: &str) -> bool {
        collectives::team_exists(&self.state, name)
    }

    /// Puts a message (raw MIME text) in a user's INBOX as if it had just arrived; answers
    /// its id. None if the user does not exist.
    pub fn deliver_mail(&self, user_id: &str, raw: &[u8]) -> Option<u64> {
        mail::deliver(&self.state, user_id, raw)
    }

    /// How many messages wait unsent in a user's Mail outbox.
    pub fn mail_outbox_len(&self, user_id: &str) -> usize {
        mail::outbox_len(&self.state, user_id)
    }

    /// Serves `source` as the News feed document at `url`: the emulator fetches nothing from
    /// the web, so only such URLs can be subscribed to.
    pub fn register_news_feed(&self, url: &str, source: news::Source) {
        news::register_source(&self.state, url, source)
    }

    /// Runs News' background feed update once (new entries, update errors of failing feeds).
    pub fn update_news_feeds(&self) {
        news::update_feeds(&self.state)
    }

    /// Whether `user_id`'s News item `id` is (unread, starred); `None` if they have no such item.
    pub fn news_item_flags(&self, user_id: &str, id: u64) -> Option<(bool, bool)> {
        news::item_flags(&self.state, user_id, id)
    }

    /// Sets whether News' status reports an improperly configured cron.
    pub fn set_news_cron_misconfigured(&self, misconfigured: bool) {
        self.state.world().news.cron_misconfigured = misconfigured;
    }

    /// Replaces the features Talk announces in its capability (`None`: the defaults, which
    /// include `reactions`). Servers read capabilities once per few minutes, so set this
    /// before connecting.
    pub fn set_talk_features(&self, features: Option<&[&str]>) {
        talk::set_features(
            &self.state,
            features.map(|f| f.iter().map(|s| s.to_string()).collect()),
        );
    }

    /// A Talk message as stored: (conversation token, author's user id, text with
    /// placeholders, placeholder values).
    pub fn talk_message(
        &self,
        id: i64,
    ) -> Option<(
        String,
        String,
        String,
        serde_json::Map<String, serde_json::Value>,
    )> {
        talk::message(&self.state, id)
    }

    /// Ids of a Talk conversation's messages, oldest first.
    pub fn talk_message_ids(&self, token: &str) -> Vec<i64> {
        talk::message_ids(&self.state, token)
    }

    /// Read markers of a Talk conversation's participants: (user id, last read message id).
    pub fn talk_read_markers(&self, token: &str) -> Vec<(String, i64)> {
        talk::read_markers(&self.state, token)
    }

    /// Reactions to a Talk message as (emoji, user id).
    pub fn talk_reactions(&self, message_id: i64) -> Vec<(String, String)> {
        talk::reactions(&self.state, message_id)
    }

    /// Posts to a Talk conversation as another participant (`@userid` becomes a mention).
    pub fn talk_post_as(&self, token: &str, user_id: &str, message: &str) -> Option<i64> {
        talk::post_as(&self.state, token, user_id, message)
    }

    /// Requests served so far (including faulted ones).
    pub fn request_count(&self) -> u64 {
        self.state.inner.requests.load(Ordering::Relaxed)
    }

    /// The `traceparent` headers of the requests that carried one, oldest first.
    pub fn traceparents(&self) -> Vec<String> {
        self.state
            .inner
            .traceparents
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Creates (or replaces) a file of `len` bytes whose content is generated as it is served
    /// (see [`fs::SYNTHETIC_PATTERN`]), so a gigabyte download costs no memory. Its parent
    /// folder must exist. False if the user or folder does not exist.
    pub fn add_synthetic_file(&self, user_id: &str, path: &str, len: u64) -> bool {
        let Some(path) = fs::normalize(path) else {
            return false;
        };
        let id = self.state.next_id();
        let now = self.state.now();
        let mut world = self.state.world();
        let Some(user) = world.users.get_mut(user_id) else {
            return false;
        };
        user.files
            .put(&path, bytes::Bytes::new(), id, now, now)
            .is_ok()
            && user.files.set_synthetic(&path, len)
    }

    /// Chunked uploads a user has started and neither finished nor aborted.
    pub fn open_uploads(&self, user_id: &str) -> usize {
        self.state.world().uploads.open_count(user_id)
    }

    /// Moves the emulator's clock forward (flow expiry, `pruneBefore`, mtimes).
    pub fn advance_clock(&self, secs: i64) {
        self.state
            .inner
            .clock_offset
            .fetch_add(secs, Ordering::Relaxed);
    }
}

/// Nextcloud's HTML 404 page (unknown route or an app that is not installed).
pub fn not_found_page() -> Response {
    // Nothing to fill in, so no template engine either.
    (
        StatusCode::NOT_FOUND,
        Html(include_str!("../templates/not_found.html")),
    )
        .into_response()
}

/// SecurityMiddleware's answer to an anonymous request on a non-public AppFramework route.
pub fn not_logged_in_json() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(serde_json::json!({"message": "Current user is not logged in"})),
    )
        .into_response()
}

/// `index.php`'s answer when Basic credentials are sent but wrong (a `LoginException`).
pub fn login_failed_json() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(serde_json::json!({"message": ""})),
    )
        .into_response()
}

/// All routes. Apps add theirs here.
fn router(state: AppState) -> Router {
    let app_routes = |prefix: &str| -> Router<AppState> {
        Router::new()
            .route(&format!("{prefix}/login/v2"), post(login_flow::init))
            .route(&format!("{prefix}/login/v2/poll"), post(login_flow::poll))
            .route(
                &format!("{prefix}/login/v2/flow/{{token}}"),
                get(login_flow::landing).post(login_flow::submit),
            )
            .route(
                &format!("{prefix}/apps/notes/api/{{api_version}}/{{*rest}}"),
                any(notes::dispatch),
            )
            .route(
                &format!("{prefix}/apps/deck/{{*rest}}"),
                any(deck::dispatch),
            )
            .route(
                &format!("{prefix}/apps/tables/api/1/{{*rest}}"),
                any(tables::api1),
            )
            .route(
                &format!("{prefix}/apps/cookbook/api/v1/{{*rest}}"),
                any(cookbook::api),
            )
            .route(&format!("{prefix}/apps/mail/api/{{*rest}}"), any(mail::api))
            .route(
                &format!("{prefix}/apps/news/api/v1-3/{{*rest}}"),
                any(news::api),
            )
    };
    Router::new()
        .route("/status.php", get(status::status))
        .route("/ocs/{script}/{*rest}", any(ocs::dispatch))
        .route(
            "/ocs/v2.php/apps/deck/api/v1.0/{*rest}",
            any(deck::comments),
        )
        .route("/ocs/v2.php/apps/tables/api/2/{*rest}", any(tables::api2))
        .route(
            "/ocs/v2.php/apps/shopping_list/api/v1/{*rest}",
            any(shopping_list::api),
        )
        .route("/ocs/v2.php/apps/spreed/api/{*rest}", any(talk::api))
        .route(
            "/ocs/v2.php/apps/collectives/api/v1.0/{*rest}",
            any(collectives::api),
        )
        .merge(app_routes("/index.php"))
        .merge(app_routes(""))
        .route("/remote.php/dav", any(dav::dav))
        .route("/remote.php/dav/", any(dav::dav))
        .route("/remote.php/dav/{*rest}", any(dav::dav))
        .route("/remote.php/webdav", any(dav::webdav))
        .route("/remote.php/webdav/", any(dav::webdav))
        .route("/remote.php/webdav/{*rest}", any(dav::webdav))
        .route(
            "/__emulator/faults",
            put(control::put_faults).delete(control::delete_faults),
        )
        .route(
            "/__emulator/login-flow/{poll_token}/grant",
            post(control::grant_login_flow),
        )
        .route("/__emulator/talk/features", put(control::put_talk_features))
        .route(
            "/__emulator/collectives/index",
            post(control::run_collectives_index),
        )
        .route(
            "/__emulator/users/{user_id}/app-passwords",
            get(control::list_app_passwords),
        )
        .fallback(|| async { not_found_page() })
        // Nextcloud puts no size limit on request bodies (uploads, chunks); axum's 2 MB would.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}

/// The connection error used to drop a connection without answering.
#[derive(Debug)]
struct DroppedByFault;

impl std::fmt::Display for DroppedByFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DroppedByFault {}

/// Accept loop: one hyper HTTP/1 connection per TCP stream, faults applied before routing.
async fn serve(listener: TcpListener, router: Router, state: AppState) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        let router = router.clone();
        let state = state.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let router = router.clone();
                let state = state.clone();
                async move { handle_request(router, state, req).await }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle_request(
    router: Router,
    state: AppState,
    req: hyper::Request<Incoming>,
) -> Result<Response, DroppedByFault> {
    state.inner.requests.fetch_add(1, Ordering::Relaxed);
    if let Some(tp) = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
    {
        state
            .inner
            .traceparents
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(tp.to_string());
    }
    let path = req.uri().path().to_string();
    let action = state.world().faults.decide(&path);
    if let Some(latency) = action.latency {
        tokio::time::sleep(latency).await;
    }
    match action.outcome {
        FaultOutcome::Drop => {
            tracing::debug!(%path, "dropping connection (fault)");
            return Err(DroppedByFault);
        }
        FaultOutcome::Error {
            status,
            retry_after,
        } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut resp = Response::builder()
                .status(code)
                .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(Body::from(format!(
                    "{} {}\n",
                    code.as_u16(),
                    code.canonical_reason().unwrap_or("Error")
                )))
                .unwrap_or_else(|_| code.into_response());
            if let Some(secs) = retry_after {
                resp.headers_mut()
                    .insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
            }
            return Ok(resp);
        }
        FaultOutcome::Pass => {}
    }
    let method = req.method().clone();
    let mut svc = router;
    let resp = match tower::Service::call(&mut svc, req.map(Body::new)).await {
        Ok(r) => r,
        Err(e) => {
            let e: Infallible = e;
            match e {}
        }
    };
    tracing::debug!(%method, %path, status = resp.status().as_u16(), "request");
    Ok(resp)
}
