-- MCP sessions of session-based (2025-11-25 and older) clients, shared by replicas (issue 17):
-- a replica that receives a request for a session another one created (or one that has
-- stopped) restores it from here, so a balancer needs no sticky sessions. `state` is rmcp's
-- session state as JSON: the client's `initialize` parameters, nothing secret.
CREATE TABLE mcp_sessions (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX mcp_sessions_created_at ON mcp_sessions (created_at);
