//! Server capabilities (`/ocs/v2.php/cloud/capabilities`): the version and which apps are
//! installed, used to hide tools of apps an instance lacks.
//!
//! News, Collectives and Mail publish no capability, but their APIs answer only when the app
//! is enabled: News' `/version`, Collectives' list of collectives and Mail's accounts are asked
//! alongside the capabilities, and an answer recorded as `news` / `collectives` / `mail`. Only
//! the apps in [`crate::ClientConfig::probed_apps`] are asked, so a server that offers no Mail
//! tools never lists anyone's mail accounts.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::{Error, NextcloudUser, Result, ocs};

/// An app whose presence is learnt by asking its API, since it publishes no capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProbedApp {
    News,
    Collectives,
    Mail,
}

impl ProbedApp {
    pub const ALL: [ProbedApp; 3] = [Self::News, Self::Collectives, Self::Mail];

    /// The app id, also the key recorded in [`Capabilities::probed`].
    pub fn id(self) -> &'static str {
        match self {
            Self::News => "news",
            Self::Collectives => "collectives",
            Self::Mail => "mail",
        }
    }

    /// Whether the app answered: only a plain "not installed" hides it; any other failure
    /// leaves its tools to report what went wrong when called.
    async fn answers(self, user: &NextcloudUser) -> bool {
        let outcome = match self {
            Self::News => user.news().version().await.map(drop),
            Self::Collectives => user.collectives().list().await.map(drop),
            Self::Mail => user.mail().accounts().await.map(drop),
        };
        !matches!(outcome, Err(Error::AppNotInstalled { .. }))
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Version {
    #[serde(default)]
    pub major: u32,
    #[serde(default)]
    pub minor: u32,
    #[serde(default)]
    pub micro: u32,
    #[serde(default)]
    pub string: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Capabilities {
    #[serde(default)]
    pub version: Version,
    /// The per-app capability objects, keyed by app id (`notes`, `deck`, ...).
    #[serde(default)]
    pub capabilities: serde_json::Map<String, serde_json::Value>,
    /// Apps that publish no capability but whose API answered (`news`, `collectives`, `mail`).
    #[serde(skip)]
    pub probed: std::collections::BTreeSet<String>,
}

impl Capabilities {
    /// Whether an app announces itself in the capabilities (installed and enabled).
    pub fn has(&self, app: &str) -> bool {
        self.capabilities.contains_key(app) || self.probed.contains(app)
    }

    /// The capability object of one app.
    pub fn app(&self, app: &str) -> Option<&serde_json::Value> {
        self.capabilities.get(app)
    }
}

pub(crate) async fn fetch(user: &NextcloudUser) -> Result<Capabilities> {
    let req = ocs::request(
        Method::GET,
        "/ocs/v2.php/cloud/capabilities",
        "Capabilities",
    )?;
    let probed = &user.nc.config().probed_apps;
    let (caps, answered) = futures::join!(
        ocs::send::<Capabilities>(user, req),
        futures::future::join_all(
            probed
                .iter()
                .map(|app| async move { app.answers(user).await.then_some(app.id().to_string()) })
        )
    );
    let mut caps = caps?;
    caps.probed = answered.into_iter().flatten().collect();
    Ok(caps)
}
