//! The zone a calendar tool reads local times in when its caller names none. (The editing
//! models themselves live in the client: `nextcloud::calendar`.)

use std::sync::OnceLock;

use nextcloud::calendar::{Tz, Zone};

use crate::tools::common::ToolError;

/// Environment variable naming the zone used when a tool gets a local time without a
/// `timezone` argument (IANA name, default UTC). Read by `config.rs` (with `--timezone` and
/// the config file's `timezone`); read here only when no configuration set the zone.
pub const TIMEZONE_ENV: &str = "NEXTCLOUD_MCP_TIMEZONE";

static ZONE: OnceLock<String> = OnceLock::new();

/// Sets the default zone from the checked configuration; the first call wins, as the zone
/// is fixed for the life of the process.
pub fn set_default_zone(name: &str) {
    let _ = ZONE.set(name.to_string());
}

/// The configured default zone name.
pub fn default_zone() -> &'static str {
    ZONE.get_or_init(|| {
        let name = std::env::var(TIMEZONE_ENV).unwrap_or_default();
        let name = name.trim();
        if name.is_empty() {
            return "UTC".into();
        }
        match name.parse::<Tz>() {
            Ok(_) => name.to_string(),
            Err(_) => {
                tracing::warn!(
                    zone = name,
                    "{TIMEZONE_ENV} is not a known time zone; using UTC"
                );
                "UTC".into()
            }
        }
    })
}

/// The zone for reading: the argument when given, else the default.
pub fn zone_arg(arg: &str) -> Result<Zone, ToolError> {
    Ok(Zone::resolve("timezone", arg, default_zone())?)
}
