//! Sign-in, sessions and API tokens. Secrets are random 32-byte values; only their
//! SHA-256 is stored, so a copy of the database does not hold a usable credential.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use ferrodesk_core::{Channel, UserId};
use ferrodesk_store::directory;
use sha2::{Digest, Sha256};

use crate::dto::{LoginIn, TokenIn, TokenOut};
use crate::{App, AppError, Principal, Result};

/// A fresh random secret, as 64 hex characters.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    hex::encode(bytes)
}

/// The stored form of a secret.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Hashes a password with argon2id (slow on purpose: call from a blocking thread).
pub fn hash_password(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
}

/// Checks a password against a stored hash.
fn password_matches(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A hash of a password nobody knows, checked for unknown users so that sign-in takes
/// as long whether or not the email exists.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&new_secret()).unwrap_or_default())
}

/// A new browser session.
#[derive(Debug)]
pub struct SessionGrant {
    /// The cookie value.
    pub secret: String,
    /// Seconds until it expires.
    pub max_age_secs: i64,
    /// Who signed in.
    pub user_id: UserId,
}

impl App {
    /// Hashes a password off the async threads.
    pub async fn hash_password(&self, password: String) -> Result<String> {
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
    }

    /// Password sign-in: a new session, or `Unauthenticated` (same answer for an unknown
    /// email, a wrong password, a user without password and a suspended user).
    pub async fn login(&self, input: LoginIn) -> Result<SessionGrant> {
        let found = {
            let mut c = self.store().read().await?;
            directory::find_user_by_email(&mut c, &input.email).await?
        };
        let (user, hash) = match found {
            Some((u, Some(h))) if !u.suspended => (Some(u), h),
            _ => (None, dummy_hash().to_owned()),
        };
        let password = input.password;
        let ok = tokio::task::spawn_blocking(move || password_matches(&password, &hash))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let user = match (user, ok) {
            (Some(u), true) => u,
            _ => return Err(AppError::Unauthenticated),
        };
        let secret = new_secret();
        let now = self.now();
        let ttl = self.config.session_ttl_secs;
        let mut tx = self.store().begin().await?;
        directory::insert_session(
            &mut tx,
            user.id,
            &secret_hash(&secret),
            now,
            now + ttl * 1_000_000,
        )
        .await?;
        crate::directory::commit(tx).await?;
        Ok(SessionGrant {
            secret,
            max_age_secs: ttl,
            user_id: user.id,
        })
    }

    /// Ends a session.
    pub async fn logout(&self, secret: &str) -> Result<()> {
        let mut tx = self.store().begin().await?;
        directory::delete_session(&mut tx, &secret_hash(secret)).await?;
        crate::directory::commit(tx).await?;
        Ok(())
    }

    /// The principal of a session cookie, if it is live and its user not suspended.
    pub async fn principal_from_session(&self, secret: &str) -> Result<Option<Principal>> {
        let mut c = self.store().read().await?;
        match directory::session_user(&mut c, &secret_hash(secret), self.now()).await? {
            Some(id) => self.principal(&mut c, id, Channel::Web).await,
            None => Ok(None),
        }
    }

    /// The principal of a bearer token, if it is valid and its user not suspended.
    pub async fn principal_from_token(&self, secret: &str) -> Result<Option<Principal>> {
        let mut c = self.store().read().await?;
        match directory::token_user(&mut c, &secret_hash(secret)).await? {
            Some(id) => self.principal(&mut c, id, Channel::Api).await,
            None => Ok(None),
        }
    }

    /// Loads the principal of user `id` (None when missing or suspended).
    pub async fn principal(
        &self,
        c: &mut ferrodesk_store::Conn,
        id: UserId,
        via: Channel,
    ) -> Result<Option<Principal>> {
        let Some((user, viewer)) = directory::user_and_viewer(c, id).await? else {
            return Ok(None);
        };
        if user.suspended {
            return Ok(None);
        }
        Ok(Some(Principal { user, viewer, via }))
    }

    /// Creates an API token for the caller.
    pub async fn create_token(&self, p: &Principal, input: TokenIn) -> Result<TokenOut> {
        let name = match input.name {
            Some(n) => ferrodesk_core::validate::name("name", &n, 100)
                .map_err(|e| AppError::Invalid(vec![e]))?,
            None => "API token".to_owned(),
        };
        self.issue_token(p.user.id, &name, crate::Actor::from(p))
            .await
    }

    /// Creates an API token for `user` (also used by the CLI).
    pub async fn issue_token(
        &self,
        user: UserId,
        name: &str,
        actor: crate::Actor,
    ) -> Result<TokenOut> {
        let secret = new_secret();
        let mut tx = self.store().begin().await?;
        let id =
            directory::insert_token(&mut tx, user, name, &secret_hash(&secret), self.now()).await?;
        self.audit(
            &mut tx,
            actor,
            ("user", user.0),
            "token_created",
            vec![ferrodesk_core::audit::FieldChange::new("token", (), name)],
            None,
        )
        .await?;
        crate::directory::commit(tx).await?;
        Ok(TokenOut {
            id,
            name: name.to_owned(),
            token: secret,
        })
    }
}

impl App {
    /// The idempotency scope of a request that carries `key`, and what an earlier request
    /// with the key left (see `ferrodesk_store::idempotency`).
    pub async fn idempotency_lookup(
        &self,
        user: UserId,
        key: &str,
        route: &str,
        request: &[u8],
    ) -> Result<(
        std::sync::Arc<ferrodesk_store::idempotency::Scope>,
        ferrodesk_store::idempotency::Claim,
    )> {
        let hash = hex::encode(Sha256::digest(request));
        let mut c = self.store().read().await?;
        let claim = ferrodesk_store::idempotency::lookup(&mut c, user, key, route, &hash).await?;
        let scope = ferrodesk_store::idempotency::Scope::new(user, key, route, &hash, self.now());
        Ok((scope, claim))
    }
}
