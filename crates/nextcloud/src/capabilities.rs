//! Server capabilities (`/ocs/v2.php/cloud/capabilities`): the version and which apps are
//! installed, used to hide tools of apps an instance lacks.
//!
//! News, Collectives and Mail publish no capability, but their APIs answer only when the app
//! is enabled: News' `/version`, Collectives' list of collectives and Mail's accounts are asked
//! alongside the capabilities, and an answer recorded as `news` / `collectives` / `mail`.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::{Error, NextcloudUser, Result, ocs};

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
    let (news_api, collectives_api, mail_api) = (user.news(), user.collectives(), user.mail());
    let (caps, news, collectives, mail) = futures::join!(
        ocs::send::<Capabilities>(user, req),
        news_api.version(),
        collectives_api.list(),
        mail_api.accounts()
    );
    let mut caps = caps?;
    // Only a plain "not installed" hides an app; any other failure leaves its tools to report
    // what went wrong when called.
    if !matches!(news, Err(Error::AppNotInstalled { .. })) {
        caps.probed.insert("news".into());
    }
    if !matches!(collectives, Err(Error::AppNotInstalled { .. })) {
        caps.probed.insert("collectives".into());
    }
    if !matches!(mail, Err(Error::AppNotInstalled { .. })) {
        caps.probed.insert("mail".into());
    }
    Ok(caps)
}
