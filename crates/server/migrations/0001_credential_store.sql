-- Credential store of the multi-user modes. Portable SQL: runs unchanged on SQLite and
-- PostgreSQL. Times are Unix seconds; scope lists are JSON arrays (NULL = no restriction
-- beyond the caller's token); secrets are AES-256-GCM ciphertexts tagged with their key id.

CREATE TABLE app_passwords (
    user_id TEXT PRIMARY KEY,
    encrypted_password TEXT NOT NULL,
    scopes TEXT,
    login_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE login_flow_sessions (
    user_id TEXT PRIMARY KEY,
    encrypted_poll_token TEXT NOT NULL,
    poll_endpoint TEXT NOT NULL,
    login_url TEXT NOT NULL,
    requested_scopes TEXT,
    purpose TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX login_flow_sessions_expires_at ON login_flow_sessions (expires_at);

CREATE TABLE rate_limit_attempts (
    id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    at BIGINT NOT NULL,
    success BIGINT NOT NULL
);
CREATE INDEX rate_limit_attempts_bucket_at ON rate_limit_attempts (bucket, at);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    event TEXT NOT NULL,
    user_id TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_user_id ON audit_log (user_id);
