//! Start-up behaviour of the binary: a wrong or missing setting stops it with one clear line.

use std::process::Command;

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nextcloud-mcp"));
    cmd.args(args)
        .env_remove("NEXTCLOUD_HOST")
        .env_remove("NEXTCLOUD_USERNAME")
        .env_remove("NEXTCLOUD_PASSWORD")
        .env_remove("MCP_AUTH_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn missing_host_is_named_in_one_line() {
    let (code, stdout, stderr) = run(&["run"], &[]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty(), "stdout must stay clean: {stdout}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("NEXTCLOUD_HOST"), "{stderr}");
}

#[test]
fn remote_bind_without_token_is_refused() {
    let (code, _, stderr) = run(
        &["run", "--transport", "streamable-http", "--host", "0.0.0.0"],
        &[
            ("NEXTCLOUD_HOST", "https://cloud.example.com"),
            ("NEXTCLOUD_USERNAME", "alice"),
            ("NEXTCLOUD_PASSWORD", "secret-app-password"),
        ],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("MCP_AUTH_TOKEN"), "{stderr}");
    assert!(!stderr.contains("secret-app-password"), "{stderr}");
}

#[test]
fn bad_config_file_key_is_reported() {
    let dir = std::env::temp_dir().join(format!("ncmcp-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.toml");
    std::fs::write(&file, "nextcloud_hots = \"https://x\"\n").unwrap();
    let (code, _, stderr) = run(&["--config", file.to_str().unwrap(), "run"], &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("nextcloud_hots"), "{stderr}");
}

#[test]
fn unknown_app_lists_valid_ones() {
    let (code, _, stderr) = run(
        &["run", "--enable-app", "notez"],
        &[
            ("NEXTCLOUD_HOST", "https://cloud.example.com"),
            ("NEXTCLOUD_USERNAME", "alice"),
            ("NEXTCLOUD_PASSWORD", "pw"),
        ],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("notez") && stderr.contains("webdav"),
        "{stderr}"
    );
}
