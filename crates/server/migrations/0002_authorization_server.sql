-- The built-in OAuth 2.1 authorization server (login_flow mode without an external issuer).
-- Portable SQL for SQLite and PostgreSQL, like 0001. Times are Unix seconds. Codes, tokens,
-- session cookies and pending-request handles are stored only as SHA-256 hex digests; the
-- Login Flow poll token is encrypted like every other secret.

-- Registered clients: RFC 7591 dynamic registration, or a cached Client ID Metadata Document
-- (client_id is then the document's https URL).
CREATE TABLE oauth_clients (
    client_id TEXT PRIMARY KEY,
    client_name TEXT,
    client_uri TEXT,
    redirect_uris TEXT NOT NULL,
    token_endpoint_auth_method TEXT NOT NULL,
    client_secret_hash TEXT,
    metadata_document BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- An /authorize request between the consent page and the code: consent given, Login Flow
-- started, waiting for the person to log in to Nextcloud.
CREATE TABLE oauth_authorizations (
    id_hash TEXT PRIMARY KEY,
    browser_hash TEXT NOT NULL,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    state TEXT,
    code_challenge TEXT NOT NULL,
    resource TEXT NOT NULL,
    requested_scopes TEXT NOT NULL,
    granted_scopes TEXT,
    encrypted_poll_token TEXT,
    poll_endpoint TEXT,
    login_url TEXT,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oauth_authorizations_expires_at ON oauth_authorizations (expires_at);

-- One-time authorization codes (60 s).
CREATE TABLE oauth_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    resource TEXT NOT NULL,
    scopes TEXT NOT NULL,
    user_id TEXT NOT NULL,
    grant_id TEXT,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at);

-- A grant: one connected client of one person, the family of its refresh tokens.
CREATE TABLE oauth_grants (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    resource TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX oauth_grants_user_id ON oauth_grants (user_id);

-- Access and refresh tokens of a grant. A rotated refresh token keeps its row (used_at set)
-- until it expires, so presenting it again is detected as reuse.
CREATE TABLE oauth_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX oauth_tokens_grant_id ON oauth_tokens (grant_id);
CREATE INDEX oauth_tokens_expires_at ON oauth_tokens (expires_at);

-- Browser sessions of people who completed a Login Flow here (consent-only re-authorisation,
-- the connected-clients page).
CREATE TABLE oauth_sessions (
    session_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oauth_sessions_expires_at ON oauth_sessions (expires_at);
