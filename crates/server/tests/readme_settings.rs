//! README's settings table is the one the settings' declaration renders, so the two cannot
//! drift. `UPDATE_README=1 cargo test -p nextcloud-mcp --test readme_settings` rewrites it.

use std::path::Path;

const START: &str = "<!-- settings:start";
const END: &str = "<!-- settings:end -->";

#[test]
fn readme_settings_table_matches_the_declaration() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let start = readme.find(START).expect("settings:start marker in README");
    let body = start + readme[start..].find('\n').expect("marker line") + 1;
    let end = readme.find(END).expect("settings:end marker in README");
    assert!(body <= end, "settings markers out of order");
    let table = nextcloud_mcp::settings::markdown_table();
    if std::env::var_os("UPDATE_README").is_some() {
        let updated = format!("{}{table}{}", &readme[..body], &readme[end..]);
        std::fs::write(&path, updated).expect("write README.md");
        return;
    }
    assert!(
        readme[body..end] == table,
        "README's settings table differs from the declaration in crates/server/src/cli.rs; \
         run `UPDATE_README=1 cargo test -p nextcloud-mcp --test readme_settings`.\n\
         Expected:\n{table}"
    );
}

#[test]
fn every_setting_has_a_flag_help_and_file_key() {
    let settings = nextcloud_mcp::settings::documented();
    for s in &settings {
        assert!(s.flag.starts_with("--") && s.flag.len() > 2, "{s:?}");
        assert!(!s.help.is_empty(), "{} has no help", s.flag);
    }
    let keys: Vec<_> = settings
        .iter()
        .filter_map(|s| s.file_key.as_deref())
        .collect();
    // Names kept from the Python reference and from earlier releases.
    for (flag, env, key) in [
        ("--config", Some("NEXTCLOUD_MCP_CONFIG"), None),
        (
            "--nextcloud-host",
            Some("NEXTCLOUD_HOST"),
            Some("nextcloud_host"),
        ),
        (
            "--request-timeout",
            Some("NEXTCLOUD_TIMEOUT"),
            Some("request_timeout"),
        ),
        (
            "--timezone",
            Some("NEXTCLOUD_MCP_TIMEZONE"),
            Some("timezone"),
        ),
        ("--enable-app", None, Some("enable_app")),
        (
            "--allowed-host",
            Some("MCP_ALLOWED_HOSTS"),
            Some("allowed_hosts"),
        ),
        (
            "--audit-retention-days",
            Some("AUDIT_LOG_RETENTION_DAYS"),
            Some("audit_retention_days"),
        ),
        (
            "--worker-threads",
            Some("TOKIO_WORKER_THREADS"),
            Some("worker_threads"),
        ),
    ] {
        let s = settings
            .iter()
            .find(|s| s.flag == flag)
            .unwrap_or_else(|| panic!("{flag} is not declared"));
        assert_eq!(s.env.as_deref(), env, "{flag}");
        assert_eq!(s.file_key.as_deref(), key, "{flag}");
    }
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), keys.len(), "file keys repeat");
}
