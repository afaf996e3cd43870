//! Server capabilities (`/ocs/v2.php/cloud/capabilities`): the version and which apps are
//! installed, used to hide tools of apps an instance lacks.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::{NextcloudUser, Result, ocs};

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
}

impl Capabilities {
    /// Whether an app announces itself in the capabilities (installed and enabled).
    pub fn has(&self, app: &str) -> bool {
        self.capabilities.contains_key(app)
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
    ocs::send(user, req).await
}
