//! Tables of the built-in OAuth authorization server: registered clients, pending
//! authorization requests, one-time codes, grants (a connected client = a refresh-token
//! family), tokens and browser sessions. Codes, tokens, sessions and request handles are
//! keyed by their SHA-256 (hex): a copy of the database does not hold a usable token.
//!
//! Every method takes `now` (Unix seconds) from the caller, so the authorization server's
//! clock is the only one that decides expiry.

use super::{IntFlag, JsonList, Store, StoreError, db_err, list_to_db};

/// A registered client.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_name: Option<String>,
    pub client_uri: Option<String>,
    #[sqlx(try_from = "JsonList")]
    pub redirect_uris: Vec<String>,
    /// `none` (public client), `client_secret_basic` or `client_secret_post`.
    #[sqlx(rename = "token_endpoint_auth_method")]
    pub auth_method: String,
    #[sqlx(rename = "client_secret_hash")]
    pub secret_hash: Option<String>,
    /// A Client ID Metadata Document: `client_id` is its URL; the row is a cache.
    #[sqlx(try_from = "IntFlag")]
    pub metadata_document: bool,
    pub updated_at: i64,
}

/// Where an authorization request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthorizationStatus {
    /// Login Flow started; waiting for the person to log in to Nextcloud.
    Login,
    /// Finished: a code was issued (or the request failed); kept only until it expires.
    Done,
}

impl AuthorizationStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Done => "done",
        }
    }
}

/// The stored name; anything but `login` reads as finished.
impl From<String> for AuthorizationStatus {
    fn from(stored: String) -> Self {
        if stored == "login" {
            Self::Login
        } else {
            Self::Done
        }
    }
}

/// An /authorize request after consent.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PendingAuthorization {
    pub id_hash: String,
    pub browser_hash: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub resource: String,
    #[sqlx(try_from = "JsonList")]
    pub requested_scopes: Vec<String>,
    #[sqlx(try_from = "JsonList")]
    pub granted_scopes: Vec<String>,
    /// Stored sealed (`encrypted_poll_token`); filled in by [`Store::authorization`].
    #[sqlx(skip)]
    pub poll_token: Option<String>,
    pub poll_endpoint: Option<String>,
    pub login_url: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: AuthorizationStatus,
    pub created_at: i64,
    pub expires_at: i64,
}

/// An issued authorization code.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuthCode {
    pub code_hash: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub resource: String,
    #[sqlx(try_from = "JsonList")]
    pub scopes: Vec<String>,
    pub user_id: String,
    pub expires_at: i64,
}

/// Outcome of redeeming a code.
#[derive(Debug)]
pub enum CodeRedemption {
    Redeemed(AuthCode),
    /// Presented a second time; carries the grant issued the first time, to be revoked.
    Reused(Option<String>),
    Unknown,
}

/// A grant (connected client) as listed to its person.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct GrantInfo {
    pub id: String,
    pub user_id: String,
    pub client_id: String,
    pub client_name: Option<String>,
    #[sqlx(try_from = "JsonList")]
    pub scopes: Vec<String>,
    pub resource: String,
    pub created_at: i64,
    pub last_used_at: i64,
}

/// What a valid access token stands for.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AccessTokenInfo {
    pub user_id: String,
    pub client_id: String,
    #[sqlx(try_from = "JsonList")]
    pub scopes: Vec<String>,
    pub resource: String,
    pub expires_at: i64,
}

/// Outcome of presenting a refresh token.
#[derive(Debug)]
pub enum RefreshOutcome {
    /// Valid; it is now marked used (rotated).
    Rotated {
        grant: GrantInfo,
        scopes: Vec<String>,
    },
    /// Already rotated: the family is compromised. Carries the grant to revoke.
    Reused(String),
    /// A scope was asked for that the token does not carry; the token stays unused.
    ScopeNotGranted(String),
    Invalid,
}

fn poll_context(id_hash: &str) -> String {
    format!("oauth_poll:{id_hash}")
}

const GRANT_COLUMNS: &str = "g.id, g.user_id, g.client_id, c.client_name, g.scopes, g.resource, \
                             g.created_at, g.last_used_at";

/// A row of `oauth_authorizations`: the request with its poll token still sealed.
#[derive(sqlx::FromRow)]
struct AuthorizationRow {
    #[sqlx(flatten)]
    request: PendingAuthorization,
    encrypted_poll_token: Option<String>,
}

/// A row of `oauth_codes`: the code and whether (and into which grant) it was redeemed.
#[derive(sqlx::FromRow)]
struct CodeRow {
    #[sqlx(flatten)]
    code: AuthCode,
    grant_id: Option<String>,
    used_at: Option<i64>,
}

/// A refresh token with the state of its grant.
#[derive(sqlx::FromRow)]
struct RefreshRow {
    grant_id: String,
    #[sqlx(try_from = "JsonList")]
    scopes: Vec<String>,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl Store {
    /// Registers a client, or refreshes a cached metadata document.
    pub async fn put_oauth_client(&self, c: &OAuthClient, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_clients (client_id, client_name, client_uri, redirect_uris, \
             token_endpoint_auth_method, client_secret_hash, metadata_document, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (client_id) DO UPDATE SET client_name = excluded.client_name, \
             client_uri = excluded.client_uri, redirect_uris = excluded.redirect_uris, \
             token_endpoint_auth_method = excluded.token_endpoint_auth_method, \
             client_secret_hash = excluded.client_secret_hash, updated_at = excluded.updated_at",
        )
        .bind(&c.client_id)
        .bind(c.client_name.clone())
        .bind(c.client_uri.clone())
        .bind(list_to_db(&c.redirect_uris))
        .bind(&c.auth_method)
        .bind(c.secret_hash.clone())
        .bind(i64::from(c.metadata_document))
        .bind(now)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(db_err("register client"))?;
        Ok(())
    }

    pub async fn oauth_client(&self, client_id: &str) -> Result<Option<OAuthClient>, StoreError> {
        sqlx::query_as(
            "SELECT client_id, client_name, client_uri, redirect_uris, token_endpoint_auth_method, \
             client_secret_hash, metadata_document, updated_at FROM oauth_clients WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err("read client"))
    }

    /// Records an authorization request whose Login Flow has started.
    pub async fn put_authorization(&self, a: &PendingAuthorization) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_authorizations (id_hash, browser_hash, client_id, redirect_uri, state, \
             code_challenge, resource, requested_scopes, granted_scopes, encrypted_poll_token, \
             poll_endpoint, login_url, status, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&a.id_hash)
        .bind(&a.browser_hash)
        .bind(&a.client_id)
        .bind(&a.redirect_uri)
        .bind(a.state.clone())
        .bind(&a.code_challenge)
        .bind(&a.resource)
        .bind(list_to_db(&a.requested_scopes))
        .bind(list_to_db(&a.granted_scopes))
        .bind(
            a.poll_token
                .as_deref()
                .map(|t| self.keys().encrypt(t, &poll_context(&a.id_hash))),
        )
        .bind(a.poll_endpoint.clone())
        .bind(a.login_url.clone())
        .bind(a.status.as_str())
        .bind(a.created_at)
        .bind(a.expires_at)
        .execute(self.pool())
        .await
        .map_err(db_err("store authorization request"))?;
        Ok(())
    }

    pub async fn authorization(
        &self,
        id_hash: &str,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        let row = sqlx::query_as::<_, AuthorizationRow>(
            "SELECT id_hash, browser_hash, client_id, redirect_uri, state, code_challenge, resource, \
             requested_scopes, granted_scopes, encrypted_poll_token, poll_endpoint, login_url, status, \
             created_at, expires_at FROM oauth_authorizations WHERE id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err("read authorization request"))?;
        let Some(AuthorizationRow {
            mut request,
            encrypted_poll_token,
        }) = row
        else {
            return Ok(None);
        };
        request.poll_token = encrypted_poll_token
            .map(|c| self.keys().decrypt(&c, &poll_context(&request.id_hash)))
            .transpose()?;
        Ok(Some(request))
    }

    /// Moves a request from `Login` to `Done` and forgets its poll token; `false` when another
    /// request (or replica) got there first, so exactly one of them issues the code.
    pub async fn finish_authorization(&self, id_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE oauth_authorizations SET status = 'done', encrypted_poll_token = NULL \
             WHERE id_hash = $1 AND status = 'login'",
        )
        .bind(id_hash)
        .execute(self.pool())
        .await
        .map_err(db_err("finish authorization request"))?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn put_code(&self, c: &AuthCode) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_codes (code_hash, client_id, redirect_uri, code_challenge, resource, \
             scopes, user_id, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&c.code_hash)
        .bind(&c.client_id)
        .bind(&c.redirect_uri)
        .bind(&c.code_challenge)
        .bind(&c.resource)
        .bind(list_to_db(&c.scopes))
        .bind(&c.user_id)
        .bind(c.expires_at)
        .execute(self.pool())
        .await
        .map_err(db_err("store code"))?;
        Ok(())
    }

    /// Marks a code used, atomically: only the first redemption gets it.
    pub async fn redeem_code(
        &self,
        code_hash: &str,
        now: i64,
    ) -> Result<CodeRedemption, StoreError> {
        let row = sqlx::query_as::<_, CodeRow>(
            "SELECT code_hash, client_id, redirect_uri, code_challenge, resource, scopes, user_id, \
             grant_id, expires_at, used_at FROM oauth_codes WHERE code_hash = $1",
        )
        .bind(code_hash)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err("read code"))?;
        let Some(CodeRow {
            code,
            grant_id,
            used_at,
        }) = row
        else {
            return Ok(CodeRedemption::Unknown);
        };
        if used_at.is_some() {
            return Ok(CodeRedemption::Reused(grant_id));
        }
        let done = sqlx::query(
            "UPDATE oauth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(code_hash)
        .execute(self.pool())
        .await
        .map_err(db_err("redeem code"))?;
        if done.rows_affected() != 1 {
            return Ok(CodeRedemption::Reused(None));
        }
        if code.expires_at <= now {
            return Ok(CodeRedemption::Unknown);
        }
        Ok(CodeRedemption::Redeemed(code))
    }

    /// Remembers which grant a code produced, so a replayed code can revoke it.
    pub async fn set_code_grant(&self, code_hash: &str, grant_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE oauth_codes SET grant_id = $1 WHERE code_hash = $2")
            .bind(grant_id)
            .bind(code_hash)
            .execute(self.pool())
            .await
            .map_err(db_err("link code to grant"))?;
        Ok(())
    }

    /// Starts a grant (refresh-token family) for a person and a client.
    pub async fn create_grant(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        resource: &str,
        now: i64,
    ) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO oauth_grants (id, user_id, client_id, scopes, resource, created_at, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(user_id)
        .bind(client_id)
        .bind(list_to_db(scopes))
        .bind(resource)
        .bind(now)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(db_err("create grant"))?;
        Ok(id)
    }

    /// Stores a token's hash (`kind` = `access` or `refresh`).
    pub async fn put_token(
        &self,
        token_hash: &str,
        grant_id: &str,
        kind: &str,
        scopes: &[String],
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_tokens (token_hash, grant_id, kind, scopes, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(grant_id)
        .bind(kind)
        .bind(list_to_db(scopes))
        .bind(now)
        .bind(expires_at)
        .execute(self.pool())
        .await
        .map_err(db_err("store token"))?;
        Ok(())
    }

    /// A live access token of a live grant.
    pub async fn access_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<AccessTokenInfo>, StoreError> {
        sqlx::query_as(
            "SELECT g.user_id, g.client_id, g.resource, t.scopes, t.expires_at FROM oauth_tokens t \
             JOIN oauth_grants g ON g.id = t.grant_id \
             WHERE t.token_hash = $1 AND t.kind = 'access' AND t.expires_at > $2 AND g.revoked_at IS NULL",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err("read access token"))
    }

    /// Presents a refresh token: marks it used when valid, reports reuse when it was used.
    /// `narrow_to` (a refresh asking for fewer scopes) is checked before the token is used.
    pub async fn use_refresh_token(
        &self,
        token_hash: &str,
        now: i64,
        narrow_to: Option<&[String]>,
    ) -> Result<RefreshOutcome, StoreError> {
        let row = sqlx::query_as::<_, RefreshRow>(
            "SELECT t.grant_id, t.scopes, t.expires_at, t.used_at, g.revoked_at FROM oauth_tokens t \
             JOIN oauth_grants g ON g.id = t.grant_id WHERE t.token_hash = $1 AND t.kind = 'refresh'",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err("read refresh token"))?;
        let Some(RefreshRow {
            grant_id,
            mut scopes,
            expires_at,
            used_at,
            revoked_at,
        }) = row
        else {
            return Ok(RefreshOutcome::Invalid);
        };
        if revoked_at.is_some() || expires_at <= now {
            return Ok(RefreshOutcome::Invalid);
        }
        if used_at.is_some() {
            return Ok(RefreshOutcome::Reused(grant_id));
        }
        if let Some(asked) = narrow_to {
            if let Some(extra) = asked.iter().find(|s| !scopes.contains(s)) {
                return Ok(RefreshOutcome::ScopeNotGranted(extra.clone()));
            }
            scopes = asked.to_vec();
        }
        let done = sqlx::query(
            "UPDATE oauth_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(token_hash)
        .execute(self.pool())
        .await
        .map_err(db_err("rotate refresh token"))?;
        if done.rows_affected() != 1 {
            return Ok(RefreshOutcome::Reused(grant_id));
        }
        sqlx::query("UPDATE oauth_grants SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&grant_id)
            .execute(self.pool())
            .await
            .map_err(db_err("touch grant"))?;
        let Some(grant) = self.grant(&grant_id).await? else {
            return Ok(RefreshOutcome::Invalid);
        };
        Ok(RefreshOutcome::Rotated { grant, scopes })
    }

    /// A live grant.
    pub async fn grant(&self, grant_id: &str) -> Result<Option<GrantInfo>, StoreError> {
        sqlx::query_as(&format!(
            "SELECT {GRANT_COLUMNS} FROM oauth_grants g LEFT JOIN oauth_clients c ON c.client_id = g.client_id \
             WHERE g.id = $1 AND g.revoked_at IS NULL"
        ))
        .bind(grant_id)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err("read grant"))
    }

    /// The grant a token (access or refresh) belongs to, whatever its state.
    pub async fn grant_of_token(&self, token_hash: &str) -> Result<Option<GrantInfo>, StoreError> {
        sqlx::query_as(&format!(
            "SELECT {GRANT_COLUMNS} FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id \
             LEFT JOIN oauth_clients c ON c.client_id = g.client_id \
             WHERE t.token_hash = $1 AND g.revoked_at IS NULL"
        ))
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err("read grant"))
    }

    /// Revokes a grant: its tokens stop working at once.
    pub async fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE oauth_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(grant_id)
        .execute(self.pool())
        .await
        .map_err(db_err("revoke grant"))?;
        sqlx::query("DELETE FROM oauth_tokens WHERE grant_id = $1")
            .bind(grant_id)
            .execute(self.pool())
            .await
            .map_err(db_err("revoke grant"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes one token (RFC 7009 revocation of an access token).
    pub async fn delete_token(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM oauth_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.pool())
            .await
            .map_err(db_err("revoke token"))?;
        Ok(())
    }

    /// A person's live grants, newest first.
    pub async fn grants_of_user(&self, user_id: &str) -> Result<Vec<GrantInfo>, StoreError> {
        sqlx::query_as(&format!(
            "SELECT {GRANT_COLUMNS} FROM oauth_grants g LEFT JOIN oauth_clients c ON c.client_id = g.client_id \
             WHERE g.user_id = $1 AND g.revoked_at IS NULL ORDER BY g.created_at DESC, g.id"
        ))
        .bind(user_id)
        .fetch_all(self.pool())
        .await
        .map_err(db_err("list grants"))
    }

    /// Revokes every grant of every client of `user_id` with the given id; returns how many.
    pub async fn revoke_user_grants(&self, user_id: &str, now: i64) -> Result<u64, StoreError> {
        let grants = self.grants_of_user(user_id).await?;
        let mut n = 0;
        for g in grants {
            if self.revoke_grant(&g.id, now).await? {
                n += 1;
            }
        }
        Ok(n)
    }

    pub async fn put_browser_session(
        &self,
        session_hash: &str,
        user_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_sessions (session_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(session_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(self.pool())
        .await
        .map_err(db_err("store browser session"))?;
        Ok(())
    }

    /// The person a live browser session belongs to.
    pub async fn browser_session_user(
        &self,
        session_hash: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT user_id FROM oauth_sessions WHERE session_hash = $1 AND expires_at > $2",
        )
        .bind(session_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err("read browser session"))
    }

    /// Ends every browser session of a person (their access was revoked).
    pub async fn delete_browser_sessions(&self, user_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM oauth_sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(self.pool())
            .await
            .map_err(db_err("end browser sessions"))?;
        Ok(())
    }

    /// Deletes expired requests, codes, tokens, sessions, and grants left without a live token.
    pub async fn delete_expired_oauth(&self, now: i64) -> Result<(), StoreError> {
        for sql in [
            "DELETE FROM oauth_authorizations WHERE expires_at <= $1",
            "DELETE FROM oauth_codes WHERE expires_at <= $1",
            "DELETE FROM oauth_tokens WHERE expires_at <= $1",
            "DELETE FROM oauth_sessions WHERE expires_at <= $1",
            "DELETE FROM oauth_grants WHERE revoked_at IS NOT NULL AND revoked_at <= $1",
        ] {
            sqlx::query(sql)
                .bind(now)
                .execute(self.pool())
                .await
                .map_err(db_err("clean up authorization server"))?;
        }
        sqlx::query(
            "DELETE FROM oauth_grants WHERE created_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM oauth_tokens t WHERE t.grant_id = oauth_grants.id)",
        )
        .bind(now - 300)
        .execute(self.pool())
        .await
        .map_err(db_err("clean up authorization server"))?;
        Ok(())
    }
}
