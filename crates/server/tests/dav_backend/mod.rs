//! A Nextcloud with real CalDAV/CardDAV behind it: the configured real Nextcloud when
//! NEXTCLOUD_HOST is set, else the emulator forwarding calendars and address books to a
//! Radicale started here on a free loopback port (installed with pip if missing).
//! `EMULATOR_DAV=builtin` runs the same tests against the emulator's own CalDAV/CardDAV
//! server instead of Radicale (the one the demo uses).
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::TestNextcloud;

pub struct Radicale {
    child: Child,
    dir: PathBuf,
    pub url: String,
}

impl Drop for Radicale {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Radicale's log is only worth reading when the test that used it failed.
        if std::thread::panicking()
            && let Ok(log) = std::fs::read_to_string(self.dir.join("radicale.log"))
        {
            eprintln!("--- Radicale's log ---\n{log}");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn radicale_importable() -> bool {
    Command::new("python3")
        .args(["-c", "import radicale"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Radicale {
    pub fn start() -> Self {
        if !radicale_importable() {
            let ok = Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "radicale",
                ])
                .env("PIP_ROOT_USER_ACTION", "ignore")
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok && radicale_importable(),
                "Radicale is needed: pip install radicale"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let dir =
            std::env::temp_dir().join(format!("nc-mcp-radicale-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let config = dir.join("config");
        std::fs::write(
            &config,
            format!(
                "[server]\nhosts = 127.0.0.1:{port}\n[auth]\ntype = none\n[rights]\ntype = owner_only\n[storage]\nfilesystem_folder = {}\n[logging]\nlevel = warning\n",
                dir.join("collections").display()
            ),
        )
        .expect("config");
        let log = std::fs::File::create(dir.join("radicale.log")).expect("Radicale's log file");
        let child = Command::new("python3")
            .args(["-m", "radicale", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start radicale");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "Radicale did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

/// One request the emulator forwarded to the CalDAV/CardDAV server.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub body: String,
    /// How many `<response>` elements the answer held (0 for non-multistatus answers).
    pub responses: usize,
}

/// Sees what the emulator asks the DAV server, to check that filtering happens server-side.
#[derive(Clone, Default)]
pub struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<Recorded>>>);

impl Recorder {
    pub fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.0.lock().expect("recorder lock"))
    }

    /// A loopback HTTP proxy to `upstream` that records each request; returns its base URL.
    async fn proxy(&self, upstream: String) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let log = self.0.clone();
        let client = reqwest::Client::new();
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let (log, client, upstream) = (log.clone(), client.clone(), upstream.clone());
            async move {
                let (parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX)
                    .await
                    .unwrap_or_default();
                let method =
                    reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).expect("method");
                let path = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default();
                let mut req = client.request(method, format!("{upstream}{path}"));
                for (k, v) in &parts.headers {
                    if k != "host" && k != "content-length" {
                        req = req.header(k.as_str(), v.as_bytes());
                    }
                }
                let resp = req.body(body.to_vec()).send().await.expect("upstream");
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let answer = resp.bytes().await.unwrap_or_default();
                let text = String::from_utf8_lossy(&answer);
                log.lock().expect("recorder lock").push(Recorded {
                    method: parts.method.to_string(),
                    path,
                    body: String::from_utf8_lossy(&body).into_owned(),
                    responses: text.matches("response>").count() / 2,
                });
                let mut out = axum::response::Response::builder().status(status);
                for (k, v) in &headers {
                    if k != "content-length" && k != "transfer-encoding" {
                        out = out.header(k.as_str(), v.as_bytes());
                    }
                }
                out.body(axum::body::Body::from(answer)).expect("response")
            }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    }
}

/// The e-mail address of the emulator's main user in DAV tests.
pub const EMU_USER_EMAIL: &str = "alice@example.com";
/// A second emulator user, for scheduling (free/busy) tests.
pub const SECOND_USER: &str = "bob";
pub const SECOND_PASSWORD: &str = "bob-app-password-0123456789abcdef";
pub const SECOND_USER_EMAIL: &str = "bob@example.com";

/// The backend for calendar and contacts tests; keep it alive for the test's duration.
pub struct DavBackend {
    pub nc: TestNextcloud,
    _radicale: Option<Radicale>,
    /// What the emulator sent to Radicale; `None` against a real Nextcloud.
    pub recorder: Option<Recorder>,
}

impl DavBackend {
    /// Stores many calendar objects at once. Against Radicale they are written straight into
    /// its file storage (which it reads on the next request), because 2,000 PUTs through a
    /// Python server take minutes; against a real Nextcloud they go in by PUT, 8 at a time.
    pub async fn seed_calendar(&self, calendar_href: &str, objects: &[(String, String)]) {
        if let Some(radicale) = &self._radicale {
            let rest = calendar_href
                .strip_prefix("/remote.php/dav/calendars/")
                .expect("a Nextcloud calendar href");
            let dir = radicale
                .dir
                .join("collections/collection-root")
                .join(rest.trim_matches('/'));
            assert!(dir.is_dir(), "Radicale has no folder {}", dir.display());
            for (name, text) in objects {
                std::fs::write(dir.join(name), text).expect("write calendar object");
            }
            // Radicale parses each new file once and caches the result; do that now, outside
            // the timed part, as Nextcloud does when it indexes an object on PUT.
            let query = r#"<?xml version="1.0"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="19700101T000000Z" end="21000101T000000Z"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"#;
            let owner = rest.split('/').next().unwrap_or_default();
            let warmed = reqwest::Client::new()
                .request(
                    reqwest::Method::from_bytes(b"REPORT").expect("method"),
                    format!("{}/{}", radicale.url, rest.trim_start_matches('/')),
                )
                .basic_auth(owner, Some("x"))
                .header("Depth", "1")
                .header("Content-Type", "application/xml")
                .body(query)
                .timeout(std::time::Duration::from_secs(300))
                .send()
                .await
                .expect("warm Radicale's cache");
            assert_eq!(warmed.status().as_u16(), 207, "warming Radicale's cache");
            // Radicale works out a collection's first sync-token from every item (over 30 s
            // for 2,000 on a busy 2-core machine), and calendar lookups ask for it; Nextcloud
            // keeps it as a counter bumped on each PUT. Have Radicale compute it now too.
            let props = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><d:sync-token/><cs:getctag/></d:prop></d:propfind>"#;
            let synced = reqwest::Client::new()
                .request(
                    reqwest::Method::from_bytes(b"PROPFIND").expect("method"),
                    format!("{}/{}", radicale.url, rest.trim_start_matches('/')),
                )
                .basic_auth(owner, Some("x"))
                .header("Depth", "0")
                .header("Content-Type", "application/xml")
                .body(props)
                .timeout(std::time::Duration::from_secs(300))
                .send()
                .await
                .expect("compute Radicale's sync-token");
            assert_eq!(synced.status().as_u16(), 207, "computing the sync-token");
            return;
        }
        use futures::StreamExt;
        let direct = self.nc.direct();
        let puts = objects.iter().map(|(name, text)| {
            let direct = direct.clone();
            let href = format!("{calendar_href}{name}");
            async move {
                direct
                    .calendars()
                    .put(&href, text, nextcloud::calendar::Precondition::Create)
                    .await
            }
        });
        let results: Vec<_> = futures::stream::iter(puts)
            .buffer_unordered(8)
            .collect()
            .await;
        if let Some(Err(e)) = results.into_iter().find(|r| r.is_err()) {
            panic!("seeding failed: {e}");
        }
    }

    pub async fn start() -> Self {
        Self::start_inner(false).await
    }

    /// A second user of the same server: `bob` on the emulator, or the account in
    /// `NEXTCLOUD_SECOND_USERNAME` / `NEXTCLOUD_SECOND_PASSWORD` on a real Nextcloud (`None`
    /// when those are not set).
    pub fn second_user(&self) -> Option<nextcloud::NextcloudUser> {
        let (login, password) = if self.nc.emulator().is_some() {
            (SECOND_USER.to_string(), SECOND_PASSWORD.to_string())
        } else {
            (
                std::env::var("NEXTCLOUD_SECOND_USERNAME").ok()?,
                std::env::var("NEXTCLOUD_SECOND_PASSWORD").ok()?,
            )
        };
        Some(
            nextcloud::Nextcloud::new(self.nc.client_config())
                .expect("client")
                .user(nextcloud::Credentials::new(&login, &password)),
        )
    }

    /// As [`start`], with a [`Recorder`] between the emulator and Radicale.
    pub async fn start_recording() -> Self {
        Self::start_inner(true).await
    }

    async fn start_inner(record: bool) -> Self {
        if std::env::var("NEXTCLOUD_HOST").is_ok() {
            return Self {
                nc: TestNextcloud::start().await,
                _radicale: None,
                recorder: None,
            };
        }
        if std::env::var("EMULATOR_DAV").is_ok_and(|v| v == "builtin") {
            let nc = TestNextcloud::start_with(|b| {
                b.email(crate::common::EMU_USER, EMU_USER_EMAIL)
                    .user(SECOND_USER, SECOND_PASSWORD)
                    .email(SECOND_USER, SECOND_USER_EMAIL)
            })
            .await;
            return Self {
                nc,
                _radicale: None,
                recorder: None,
            };
        }
        let radicale = Radicale::start();
        let recorder = record.then(Recorder::default);
        let url = match &recorder {
            Some(r) => r.proxy(radicale.url.clone()).await,
            None => radicale.url.clone(),
        };
        let nc = TestNextcloud::start_with(|b| {
            b.dav_upstream(&url)
                .email(crate::common::EMU_USER, EMU_USER_EMAIL)
                .user(SECOND_USER, SECOND_PASSWORD)
                .email(SECOND_USER, SECOND_USER_EMAIL)
        })
        .await;
        Self {
            nc,
            _radicale: Some(radicale),
            recorder,
        }
    }
}
