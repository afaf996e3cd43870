//! How MCP messages reach the handler: stdio for one desktop client, streamable HTTP for
//! everything else.

pub mod http;
pub mod stdio;
