//! The one place that stores, replaces and removes users' app passwords. The Login Flow tools
//! (`tools/auth`), the built-in authorization server's consent pages and the app-password REST
//! API (`api.rs`) all go through it, so two rules hold whichever way a password arrives:
//!
//! - **Binding.** A user id (the MCP identity) is bound to the Nextcloud account that granted
//!   its first app password. A later login by another account is refused, and the app password
//!   that login produced is revoked in Nextcloud at once: someone who opens another person's
//!   login link and grants it gains nothing and leaves nothing behind.
//! - **Ownership.** A password this server obtained itself (a Login Flow) is revoked in
//!   Nextcloud when it is deleted or replaced. One handed over through the REST API belongs to
//!   whoever created it (a person, or an app such as Astrolabe) and is only forgotten, unless
//!   the caller asks for it to be revoked.

use crate::db::{
    AuditEvent, NewAppPassword, Origin, PendingLogin, Provisioned, Store, StoreError,
    StoredAppPassword,
};

/// Handle to the service; cheap to clone.
#[derive(Clone)]
pub struct Provisioning {
    store: Store,
    nextcloud: nextcloud::Nextcloud,
}

impl std::fmt::Debug for Provisioning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provisioning").finish_non_exhaustive()
    }
}

/// An app password to provision.
#[derive(Clone, Copy, Debug)]
pub struct Grant<'a> {
    /// The MCP identity the password is stored for.
    pub user_id: &'a str,
    /// The Nextcloud login name the password authenticates with.
    pub login_name: &'a str,
    pub password: &'a str,
    /// The stored scope restriction (`None` = none).
    pub scopes: Option<&'a [String]>,
    pub origin: Origin,
    /// The Nextcloud account the password belongs to, when the caller has asked Nextcloud
    /// already; otherwise the service asks (`GET /ocs/v2.php/cloud/user`).
    pub account: Option<&'a str>,
    /// The account that must have granted it, even for a first provisioning (the caller is
    /// known to be this Nextcloud user).
    pub required_account: Option<&'a str>,
    /// The pending Login Flow this grant completes: consumed in the same transaction.
    pub flow: Option<&'a PendingLogin>,
    /// The audit entry of a stored password.
    pub event: AuditEvent,
    pub detail: &'a str,
}

/// A stored grant.
#[derive(Clone, Debug)]
pub struct Stored {
    /// The Nextcloud account the password belongs to (and the user id is bound to).
    pub account: String,
    /// What became of the password it replaced, if any.
    pub replaced: Option<Disposal>,
}

/// What became of a password that was deleted or replaced here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposal {
    /// Revoked in Nextcloud (and forgotten here).
    Revoked,
    /// Forgotten here; revoking it in Nextcloud was tried and failed.
    RevocationFailed,
    /// Forgotten here and left valid in Nextcloud: it was handed over, not obtained here.
    Forgotten,
}

/// Why a grant was not stored.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The login came from another Nextcloud account than the one required.
    #[error("{}", wrong_account_message(.user_id, .expected, .granted_by, *.first, *.revoked))]
    WrongAccount {
        user_id: String,
        /// The account required: the bound one, or (first provisioning) the caller's own.
        expected: String,
        granted_by: String,
        /// No binding existed yet: the caller's own account was required.
        first: bool,
        /// Whether the password the login produced was revoked (`None`: not ours to revoke).
        revoked: Option<bool>,
    },
    /// Another request completed or replaced this Login Flow first; its password was revoked.
    #[error("another request completed or replaced this login first")]
    Superseded,
    /// Nextcloud did not say whose the new password is.
    #[error("Nextcloud did not confirm the access it had just granted: {0}")]
    Unverified(nextcloud::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn wrong_account_message(
    user_id: &str,
    expected: &str,
    granted_by: &str,
    first: bool,
    revoked: Option<bool>,
) -> String {
    let why = if first {
        format!(
            "this server only accepts a login by `{expected}`, the Nextcloud user your sign-in names"
        )
    } else {
        format!(
            "`{user_id}` is bound to the Nextcloud account `{expected}`, which first gave this server access"
        )
    };
    let cleanup = match revoked {
        Some(true) => ", and the app password Nextcloud issued for that login was revoked",
        Some(false) => {
            "; revoking the app password Nextcloud issued for that login failed, so remove it in that account under Settings → Security → Devices & sessions"
        }
        None => "",
    };
    format!(
        "Refused: the Nextcloud login was granted by the account `{granted_by}`, but {why}. Nothing was stored or changed{cleanup}. Log in as `{expected}` yourself to grant access."
    )
}

impl Provisioning {
    pub fn new(store: Store, nextcloud: nextcloud::Nextcloud) -> Self {
        Self { store, nextcloud }
    }

    /// Stores a grant under the binding rule, then disposes of the password it replaced under
    /// the ownership rule. A refused or unstorable password this server obtained is revoked.
    pub async fn provision(&self, grant: Grant<'_>) -> Result<Stored, ProvisionError> {
        let login_flow = matches!(
            grant.origin,
            Origin::LoginFlow | Origin::AuthorizationServer
        );
        let result = self.provision_inner(grant).await;
        if login_flow {
            crate::metrics::login_flow(match &result {
                Ok(_) => "granted",
                Err(ProvisionError::WrongAccount { .. }) => "wrong_account",
                Err(ProvisionError::Superseded) => "superseded",
                Err(ProvisionError::Unverified(_)) => "unverified",
                Err(_) => "store_error",
            });
        }
        result
    }

    async fn provision_inner(&self, grant: Grant<'_>) -> Result<Stored, ProvisionError> {
        let account = match grant.account {
            Some(a) => a.to_string(),
            None => match self.account_of(grant.login_name, grant.password).await {
                Ok(id) => id,
                Err(e) => {
                    tracing::warn!(error = %e, "the app password from a Login Flow cannot be checked");
                    self.forget_flow(&grant).await;
                    self.discard(&grant, "unverified").await;
                    return Err(ProvisionError::Unverified(e));
                }
            },
        };
        if let Some(required) = grant.required_account
            && required != account
        {
            self.forget_flow(&grant).await;
            return Err(self.refuse(&grant, required, &account, true).await);
        }
        let new = NewAppPassword {
            user_id: grant.user_id,
            login_name: grant.login_name,
            password: grant.password,
            scopes: grant.scopes,
            origin: grant.origin,
        };
        let previous = match self.store.provision(&new, &account, grant.flow).await {
            Ok(Provisioned::Stored { previous }) => previous,
            Ok(Provisioned::Superseded) => {
                // A newer flow replaced this one: its password is not ours to keep.
                self.discard(&grant, "superseded").await;
                return Err(ProvisionError::Superseded);
            }
            Ok(Provisioned::BoundElsewhere { account: bound }) => {
                return Err(self.refuse(&grant, &bound, &account, false).await);
            }
            Err(e) => {
                self.discard(&grant, "unstored").await;
                return Err(e.into());
            }
        };
        self.store
            .audit(grant.event, grant.user_id, Some(grant.detail))
            .await;
        let replaced = match previous {
            Some(old) if old.password.expose() != grant.password => {
                Some(self.dispose(&old, false, "replaced").await)
            }
            _ => None,
        };
        Ok(Stored { account, replaced })
    }

    /// Deletes the user's stored password. It is revoked in Nextcloud when this server
    /// obtained it, or when `revoke_anyway` (the owner asked); otherwise only forgotten.
    /// `None` when nothing was stored.
    pub async fn remove(
        &self,
        user_id: &str,
        revoke_anyway: bool,
        why: &str,
    ) -> Result<Option<Disposal>, StoreError> {
        Ok(match self.store.delete_app_password(user_id).await? {
            Some(old) => Some(self.dispose(&old, revoke_anyway, why).await),
            None => None,
        })
    }

    /// Revokes an app password in Nextcloud, authenticated as itself; audited as `revoked`
    /// when it worked. Whether it worked.
    pub async fn revoke(&self, login_name: &str, password: &str, user_id: &str, why: &str) -> bool {
        let user = self
            .nextcloud
            .user(nextcloud::Credentials::new(login_name, password));
        match user.revoke_app_password().await {
            Ok(()) => {
                self.store
                    .audit(AuditEvent::Revoked, user_id, Some(why))
                    .await;
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, reason = why, "cannot revoke an app password in Nextcloud");
                false
            }
        }
    }

    /// The Nextcloud user id these credentials belong to.
    async fn account_of(
        &self,
        login_name: &str,
        password: &str,
    ) -> Result<String, nextcloud::Error> {
        let user = self
            .nextcloud
            .user(nextcloud::Credentials::new(login_name, password));
        Ok(user.current_user().await?.id)
    }

    /// A deleted or replaced password: revoked if this server obtained it (or `revoke_anyway`),
    /// else forgotten. Audited either way.
    async fn dispose(&self, old: &StoredAppPassword, revoke_anyway: bool, why: &str) -> Disposal {
        let origin = old.origin.as_str();
        if !(revoke_anyway || old.origin.obtained_here()) {
            self.store
                .audit(
                    AuditEvent::Forgotten,
                    &old.user_id,
                    Some(&format!("{why}; origin {origin}: left valid in Nextcloud")),
                )
                .await;
            return Disposal::Forgotten;
        }
        if self
            .revoke(&old.login_name, old.password.expose(), &old.user_id, why)
            .await
        {
            Disposal::Revoked
        } else {
            self.store
                .audit(
                    AuditEvent::Forgotten,
                    &old.user_id,
                    Some(&format!(
                        "{why}; origin {origin}: revoking it in Nextcloud failed"
                    )),
                )
                .await;
            Disposal::RevocationFailed
        }
    }

    /// Deletes the Login Flow a grant came from: Nextcloud hands its credentials out once, so
    /// polling it again would only ever answer "pending".
    async fn forget_flow(&self, grant: &Grant<'_>) {
        if let Some(flow) = grant.flow
            && let Err(e) = self.store.delete_flow(&flow.user_id, &flow.login_url).await
        {
            tracing::error!(error = %e, "cannot delete a login flow");
        }
    }

    /// A fresh password that will not be stored: revoked when it is this server's.
    async fn discard(&self, grant: &Grant<'_>, why: &str) {
        if grant.origin.obtained_here() {
            self.revoke(grant.login_name, grant.password, grant.user_id, why)
                .await;
        }
    }

    /// Refuses a grant from the wrong account: revokes its password if this server obtained
    /// it, audits the refusal and says why.
    async fn refuse(
        &self,
        grant: &Grant<'_>,
        expected: &str,
        granted_by: &str,
        first: bool,
    ) -> ProvisionError {
        let revoked = if grant.origin.obtained_here() {
            Some(
                self.revoke(
                    grant.login_name,
                    grant.password,
                    grant.user_id,
                    &format!("refused login of Nextcloud account {granted_by}"),
                )
                .await,
            )
        } else {
            None
        };
        tracing::warn!(
            user_id = %grant.user_id,
            expected = %expected,
            granted_by = %granted_by,
            origin = grant.origin.as_str(),
            "provisioning refused: the login came from another Nextcloud account"
        );
        self.store
            .audit(
                AuditEvent::Refused,
                grant.user_id,
                Some(&format!(
                    "origin {}: granted by Nextcloud account {granted_by}, {} {expected}",
                    grant.origin.as_str(),
                    if first { "required" } else { "bound to" }
                )),
            )
            .await;
        ProvisionError::WrongAccount {
            user_id: grant.user_id.to_string(),
            expected: expected.to_string(),
            granted_by: granted_by.to_string(),
            first,
            revoked,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_who_and_what_to_do() {
        let bound = ProvisionError::WrongAccount {
            user_id: "alice".into(),
            expected: "alice".into(),
            granted_by: "bob".into(),
            first: false,
            revoked: Some(true),
        }
        .to_string();
        assert!(
            bound.contains("`bob`") && bound.contains("bound to"),
            "{bound}"
        );
        assert!(bound.contains("was revoked") && bound.contains("Log in as `alice`"));
        let first = ProvisionError::WrongAccount {
            user_id: "u-1".into(),
            expected: "carol".into(),
            granted_by: "bob".into(),
            first: true,
            revoked: None,
        }
        .to_string();
        assert!(
            first.contains("your sign-in names") && !first.contains("revoked"),
            "{first}"
        );
    }
}
