-- One provisioning service (issue 12, issue 18). Portable SQL for SQLite and PostgreSQL, like
-- 0001 and 0002.

-- Where a stored app password came from: `login_flow` (the nc_auth_* tools) and
-- `authorization_server` (the built-in authorization server) were obtained by this server,
-- which revokes them in Nextcloud when they are deleted or replaced; `api` was handed over
-- through POST /api/v1/users/{user_id}/app-password and is only forgotten. Rows stored before
-- this migration are `unknown` and treated like handed-over ones: nobody can say whose they are.
ALTER TABLE app_passwords ADD COLUMN origin TEXT NOT NULL DEFAULT 'unknown';

-- The Nextcloud account each MCP identity is bound to: set by its first provisioning, checked
-- by every later one. It outlives the app password (a deleted password does not free the
-- identity for another account).
CREATE TABLE account_bindings (
    user_id TEXT PRIMARY KEY,
    nextcloud_user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
