//! Capabilities: apps that publish none are found by asking their API, and only the apps
//! the client is configured to probe are asked.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nextcloud::{ClientConfig, Credentials, Nextcloud, ProbedApp, RequestObserver};
use nextcloud_emulator::Emulator;

/// Records the API of every request the client sends.
#[derive(Default)]
struct Apis(Mutex<Vec<&'static str>>);

impl RequestObserver for Apis {
    fn finished(&self, app: &'static str, _status: Option<u16>, _elapsed: Duration) {
        self.0.lock().unwrap().push(app);
    }
}

async fn capabilities_with(
    installed: &[&str],
    probed: BTreeSet<ProbedApp>,
) -> (BTreeSet<String>, Vec<&'static str>) {
    let emulator = Emulator::builder()
        .user("alice", "secret")
        .installed_apps(installed)
        .start()
        .await
        .expect("emulator");
    let apis = Arc::new(Apis::default());
    let mut config = ClientConfig::new(emulator.base_url().parse().unwrap());
    config.observer = Some(apis.clone());
    config.probed_apps = probed;
    let user = Nextcloud::new(config)
        .expect("client")
        .user(Credentials::new("alice", "secret"));
    let caps = user.capabilities().await.expect("capabilities");
    let seen = apis.0.lock().unwrap().clone();
    emulator.shutdown().await;
    (caps.probed.clone(), seen)
}

#[tokio::test]
async fn installed_capability_less_apps_are_found_by_their_api() {
    let (probed, seen) = capabilities_with(
        &["notes", "news", "collectives", "mail"],
        ProbedApp::ALL.into(),
    )
    .await;
    assert_eq!(
        probed,
        ["collectives", "mail", "news"].map(String::from).into()
    );
    for app in ["news", "collectives", "mail"] {
        assert!(seen.contains(&app), "{app} was not asked: {seen:?}");
    }
}

#[tokio::test]
async fn missing_apps_are_not_recorded() {
    let (probed, _) = capabilities_with(&["notes"], ProbedApp::ALL.into()).await;
    assert!(probed.is_empty(), "{probed:?}");
}

#[tokio::test]
async fn only_the_configured_apps_are_probed() {
    let (probed, seen) = capabilities_with(
        &["notes", "news", "collectives", "mail"],
        [ProbedApp::News].into(),
    )
    .await;
    assert_eq!(probed, ["news".to_string()].into());
    assert!(seen.contains(&"news"), "{seen:?}");
    assert!(
        !seen.contains(&"mail") && !seen.contains(&"collectives"),
        "an app without selected tools was asked: {seen:?}"
    );
}
