//! Start-up behaviour of the binary: a wrong or missing setting stops it with one clear line,
//! and each setting is taken from the flag, else the environment, else the file.

use std::process::Command;

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nextcloud-mcp"));
    cmd.args(args);
    for name in [
        "NEXTCLOUD_HOST",
        "NEXTCLOUD_USERNAME",
        "NEXTCLOUD_PASSWORD",
        "MCP_AUTH_TOKEN",
        "MCP_HOST",
        "MCP_TRANSPORT",
        "NEXTCLOUD_MCP_CONFIG",
        "NEXTCLOUD_MCP_TIMEZONE",
    ] {
        cmd.env_remove(name);
    }
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

/// A settings file with this text, in a directory of its own.
fn config_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ncmcp-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.toml");
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn bad_config_file_key_is_reported() {
    let file = config_file("key", "nextcloud_hots = \"https://x\"\n");
    let (code, _, stderr) = run(&["--config", file.to_str().unwrap(), "run"], &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("nextcloud_hots"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn bad_config_file_value_names_the_key() {
    let file = config_file("value", "port = \"eighty\"\n");
    let (code, _, stderr) = run(&["run", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("`port`") && stderr.contains("eighty"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

const ALICE: &[(&str, &str)] = &[
    ("NEXTCLOUD_HOST", "https://cloud.example.com"),
    ("NEXTCLOUD_USERNAME", "alice"),
    ("NEXTCLOUD_PASSWORD", "secret-app-password"),
];

fn with<'a>(base: &[(&'a str, &'a str)], more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    base.iter().chain(more).copied().collect()
}

#[test]
fn bad_values_in_the_environment_are_named_in_one_line() {
    for (name, value) in [
        ("MCP_PORT", "eighty"),
        ("NEXTCLOUD_MCP_TIMEZONE", "Mars/Olympus"),
        ("MCP_TRANSPORT", "carrier-pigeon"),
        ("TOKIO_WORKER_THREADS", "0"),
    ] {
        let (code, stdout, stderr) = run(&["run"], &with(ALICE, &[(name, value)]));
        assert_eq!(code, 1, "{name}: {stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(name), "{stderr}");
        assert!(stderr.contains(value), "{stderr}");
    }
    // A secret's value is never repeated.
    let (code, _, stderr) = run(
        &["run"],
        &with(ALICE, &[("TOKEN_ENCRYPTION_KEY", "not-a-key-but-secret")]),
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("TOKEN_ENCRYPTION_KEY"), "{stderr}");
    assert!(!stderr.contains("not-a-key-but-secret"), "{stderr}");
}

/// The listen address the binary settled on, as its refusal to listen there without a token
/// names it.
fn chosen_host(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut all = vec!["run", "--transport", "streamable-http"];
    all.extend_from_slice(args);
    let (code, _, stderr) = run(&all, env);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("refusing to listen on"), "{stderr}");
    stderr
        .split("refusing to listen on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_default()
        .to_string()
}

#[test]
fn flag_wins_over_environment_which_wins_over_file() {
    let file = config_file("precedence", "host = \"10.0.0.1\"\n");
    let config = file.to_str().unwrap();
    assert_eq!(chosen_host(&["--config", config], ALICE), "10.0.0.1");
    let env = with(ALICE, &[("MCP_HOST", "10.0.0.2")]);
    assert_eq!(chosen_host(&["--config", config], &env), "10.0.0.2");
    assert_eq!(
        chosen_host(&["--config", config, "--host", "10.0.0.3"], &env),
        "10.0.0.3"
    );
    // The file can be named by the environment too.
    let env = with(ALICE, &[("NEXTCLOUD_MCP_CONFIG", config)]);
    assert_eq!(chosen_host(&[], &env), "10.0.0.1");
}

#[test]
fn an_empty_environment_variable_counts_as_unset() {
    let file = config_file("empty", "host = \"10.0.0.1\"\n");
    let env = with(ALICE, &[("MCP_HOST", ""), ("MCP_PORT", "")]);
    assert_eq!(
        chosen_host(&["--config", file.to_str().unwrap()], &env),
        "10.0.0.1"
    );
}

#[test]
fn help_lists_settings_with_their_environment_names() {
    let (code, stdout, _) = run(&["run", "--help"], &[]);
    assert_eq!(code, 0);
    for needle in [
        "--timezone",
        "NEXTCLOUD_MCP_TIMEZONE",
        "--worker-threads",
        "TOKIO_WORKER_THREADS",
    ] {
        assert!(stdout.contains(needle), "{needle} missing:\n{stdout}");
    }
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
