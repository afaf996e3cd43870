//! The generic WebDAV tools (list, read, write, folders, move, copy, delete, ETags) against a
//! real, independent WebDAV server: WsgiDAV from PyPI (installed with pip if missing), started
//! here on a free loopback port and serving a temporary folder at Nextcloud's files URL. The
//! emulator still answers the OCS side (user id, capabilities) through a small front that
//! sends `/remote.php/dav/files/` to WsgiDAV, so the file tools never talk to our own WebDAV
//! code here. Nextcloud-only tools (comments, tags, trash, versions, SEARCH, favourites) are
//! not exercised. Checks go to the folder on disk, which WsgiDAV serves.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use nextcloud::{Credentials, Nextcloud};
use nextcloud_emulator::Emulator;
use nextcloud_mcp::NextcloudMcp;
use serde_json::json;

const FILES_PREFIX: &str = "/remote.php/dav/files/";

struct WsgiDav {
    child: Child,
    dir: PathBuf,
    url: String,
}

impl Drop for WsgiDav {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn wsgidav_importable() -> bool {
    Command::new("python3")
        .args(["-c", "import wsgidav, cheroot"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl WsgiDav {
    /// Serves a new empty folder as `user`'s files.
    fn start(user: &str) -> Self {
        if !wsgidav_importable() {
            let ok = Command::new("python3")
                .args(["-m", "pip", "install", "--quiet", "wsgidav", "cheroot"])
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok && wsgidav_importable(),
                "WsgiDAV is needed: pip install wsgidav cheroot"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let dir =
            std::env::temp_dir().join(format!("nc-mcp-wsgidav-{}-{port}", std::process::id()));
        let root = dir.join("root");
        std::fs::create_dir_all(&root).expect("temp dir");
        let config = dir.join("wsgidav.yaml");
        // Anonymous access: the front has already checked Nextcloud's credentials.
        std::fs::write(
            &config,
            format!(
                "host: 127.0.0.1\nport: {port}\nverbose: 1\nprovider_mapping:\n  \"{FILES_PREFIX}{user}\": \"{}\"\nsimple_dc:\n  user_mapping:\n    \"*\": true\nhttp_authenticator:\n  accept_basic: true\n  accept_digest: false\n  default_to_digest: false\nlogging:\n  enable_loggers: []\n",
                root.display()
            ),
        )
        .expect("config");
        let child = Command::new("python3")
            .args(["-m", "wsgidav.server.server_cli", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start wsgidav");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "WsgiDAV did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }
}

/// A loopback front: `/remote.php/dav/files/...` to WsgiDAV (with `Destination` rewritten to
/// its address), everything else to the emulator. Returns its base URL.
async fn front(files: String, rest: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind front");
    let addr = listener.local_addr().expect("front addr");
    let me = format!("http://{addr}");
    let client = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (client, files, rest, me) = (client.clone(), files.clone(), rest.clone(), me.clone());
        async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let path = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default();
            let upstream = if path.starts_with(FILES_PREFIX) {
                &files
            } else {
                &rest
            };
            let method =
                reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).expect("method");
            let mut out = client.request(method, format!("{upstream}{path}"));
            for (k, v) in &parts.headers {
                if k == "host" || k == "content-length" {
                    continue;
                }
                if k == "destination" {
                    let d = v.to_str().unwrap_or_default().replacen(&me, upstream, 1);
                    out = out.header("destination", d);
                } else {
                    out = out.header(k.as_str(), v.as_bytes());
                }
            }
            let resp = out.body(body.to_vec()).send().await.expect("upstream");
            let mut answer = axum::response::Response::builder().status(resp.status().as_u16());
            for (k, v) in resp.headers() {
                if k != "content-length" && k != "transfer-encoding" {
                    answer = answer.header(k.as_str(), v.as_bytes());
                }
            }
            let bytes = resp.bytes().await.unwrap_or_default();
            answer
                .body(axum::body::Body::from(bytes))
                .expect("response")
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn disk(root: &Path, rel: &str) -> Option<String> {
    std::fs::read_to_string(root.join(rel)).ok()
}

#[tokio::test]
async fn generic_tools_work_against_an_independent_webdav_server() {
    let emulator = Emulator::builder()
        .user(EMU_USER, EMU_PASSWORD)
        .start()
        .await
        .expect("emulator starts");
    let dav = WsgiDav::start(EMU_USER);
    let base = front(dav.url.clone(), emulator.base_url()).await;
    let mut config = nextcloud::ClientConfig::new(base.parse().expect("base url"));
    config.request_timeout = Duration::from_secs(10);
    let nc = Nextcloud::new(config).expect("client");
    let user = nc.user(Credentials::new(EMU_USER, EMU_PASSWORD));
    let server = NextcloudMcp::new(nc, user, &Default::default()).expect("server builds");
    let url = spawn_http(server, &Default::default()).await;
    let c = connect_http(&url, Transport::HttpSession, None).await;
    let root = dav.root();

    // Folders.
    let out = call_ok(&c, "nc_webdav_create_directory", json!({"path": "Docs"})).await;
    assert_eq!(out["created"], true, "{out}");
    assert!(root.join("Docs").is_dir());
    call_ok(
        &c,
        "nc_webdav_create_directory",
        json!({"path": "Docs/Sub dir"}),
    )
    .await;
    assert!(root.join("Docs/Sub dir").is_dir());

    // Writing: an odd name goes to disk under exactly that name.
    let name = "Docs/Grüße #1 & 50% ?.txt";
    let out = call_ok(
        &c,
        "nc_webdav_write_file",
        json!({"path": name, "content": "hello"}),
    )
    .await;
    assert_eq!(out["created"], true, "{out}");
    assert_eq!(disk(&root, name).as_deref(), Some("hello"));
    let first_etag = out["etag"]
        .as_str()
        .expect("an ETag from the PUT")
        .to_string();

    // Listing and reading.
    let list = call_ok(&c, "nc_webdav_list_directory", json!({"path": "Docs"})).await;
    let files = list["files"].as_array().expect("files");
    assert_eq!(list["total_count"], 2, "{list}");
    assert_eq!(list["directories_count"], 1, "{list}");
    let entry = files
        .iter()
        .find(|f| f["path"] == name)
        .unwrap_or_else(|| panic!("{name} not listed: {list}"));
    assert_eq!(entry["name"], "Grüße #1 & 50% ?.txt");
    assert_eq!(entry["type"], "file");
    assert_eq!(entry["size"], 5);
    assert!(entry["etag"].as_str().is_some(), "{entry}");
    assert!(
        files
            .iter()
            .any(|f| f["path"] == "Docs/Sub dir" && f["type"] == "directory"),
        "{list}"
    );
    let read = call_ok(&c, "nc_webdav_read_file", json!({"path": name})).await;
    assert_eq!(read["content"], "hello");
    let read_etag = read["etag"].as_str().expect("etag on read").to_string();

    // ETags: a write with the current one succeeds, a stale one is a conflict and writes nothing.
    // (WsgiDAV's ETags are inode, mtime in seconds and size, so each write changes the size.)
    let out = call_ok(
        &c,
        "nc_webdav_write_file",
        json!({"path": name, "content": "hello again", "if_match": read_etag}),
    )
    .await;
    assert_eq!(out["created"], false, "{out}");
    assert_eq!(disk(&root, name).as_deref(), Some("hello again"));
    let e = call_err(
        &c,
        "nc_webdav_write_file",
        json!({"path": name, "content": "lost update!", "if_match": first_etag}),
    )
    .await;
    assert!(
        e.contains("412") || e.to_lowercase().contains("conflict"),
        "{e}"
    );
    assert_eq!(disk(&root, name).as_deref(), Some("hello again"));

    // Copy, then copy again without overwrite: refused, destination untouched.
    call_ok(
        &c,
        "nc_webdav_copy_resource",
        json!({"source_path": name, "destination_path": "Docs/copy.txt"}),
    )
    .await;
    assert_eq!(disk(&root, "Docs/copy.txt").as_deref(), Some("hello again"));
    call_ok(
        &c,
        "nc_webdav_write_file",
        json!({"path": "Docs/copy.txt", "content": "changed copy", "if_match": "*"}),
    )
    .await;
    let e = call_err(
        &c,
        "nc_webdav_copy_resource",
        json!({"source_path": name, "destination_path": "Docs/copy.txt", "overwrite": false}),
    )
    .await;
    assert!(!e.is_empty());
    assert_eq!(
        disk(&root, "Docs/copy.txt").as_deref(),
        Some("changed copy")
    );

    // Move into the sub folder.
    call_ok(
        &c,
        "nc_webdav_move_resource",
        json!({"source_path": "Docs/copy.txt", "destination_path": "Docs/Sub dir/moved.txt"}),
    )
    .await;
    assert!(!root.join("Docs/copy.txt").exists());
    assert_eq!(
        disk(&root, "Docs/Sub dir/moved.txt").as_deref(),
        Some("changed copy")
    );

    // Traversal is refused before anything is sent.
    let e = call_err(
        &c,
        "nc_webdav_read_file",
        json!({"path": "../../etc/passwd"}),
    )
    .await;
    assert!(e.contains("`path`"), "{e}");

    // Reading something missing is a clear error.
    let e = call_err(&c, "nc_webdav_read_file", json!({"path": "Docs/none.txt"})).await;
    assert!(e.contains("404") || e.contains("not found"), "{e}");

    // Delete a file, then the whole folder.
    call_ok(&c, "nc_webdav_delete_resource", json!({"path": name})).await;
    assert!(!root.join(name).exists());
    call_ok(&c, "nc_webdav_delete_resource", json!({"path": "Docs"})).await;
    assert!(!root.join("Docs").exists());
    let list = call_ok(&c, "nc_webdav_list_directory", json!({"path": ""})).await;
    assert_eq!(list["total_count"], 0, "{list}");
    drop(emulator);
}
