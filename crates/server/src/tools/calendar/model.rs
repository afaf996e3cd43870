//! The zone a calendar tool reads local times in when its caller names none. (The editing
//! models themselves live in the client: `nextcloud::calendar`.)

use nextcloud::calendar::Zone;

use crate::config::TimeZone;
use crate::tools::common::ToolError;

/// The zone for reading: the argument when given, else the server's zone (`--timezone`,
/// carried in the server state).
pub fn zone_arg(arg: &str, default: &TimeZone) -> Result<Zone, ToolError> {
    Ok(Zone::resolve("timezone", arg, default.name())?)
}
