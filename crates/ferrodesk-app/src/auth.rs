//! Sign-in, sessions and API tokens. Secrets are random 32-byte values; only their
//! SHA-256 is stored, so a copy of the database does not hold a usable credential.

use argon2::Argon2;
use ferrodesk_core::{Channel, UserId};
use ferrodesk_store::directory;
use sha2::{Digest, Sha256};

use crate::dto::{
    LoginIn, RecoveryCodesOut, TokenIn, TokenInfoOut, TokenOut, TwoFactorSetupOut,
    TwoFactorStatusOut, rfc3339,
};
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

thread_local! {
    /// The argon2 working memory of this (password) thread, kept between hashes: allocating
    /// and freeing 19 MiB per sign-in left the freed buffers in malloc arenas, so concurrent
    /// sign-ins grew the server by 19 MiB each.
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs argon2 with `params` into `out`, in this thread's reusable working memory.
fn argon2_into(
    argon: &Argon2<'_>,
    params: &argon2::Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> std::result::Result<(), argon2::Error> {
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        let n = params.block_count();
        if blocks.len() < n {
            blocks.resize(n, argon2::Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut blocks[..n])
    })
}

/// Hashes a password with argon2id and the crate's default parameters (m = 19 MiB, t = 2,
/// p = 1; OWASP's recommendation), as a PHC string. Slow on purpose: run it on a password
/// thread ([`App::hash_password`]).
pub fn hash_password(password: &str) -> Result<String> {
    let fail =
        |e: &dyn std::fmt::Display| AppError::Internal(format!("password hashing failed: {e}"));
    let params = argon2::Params::default();
    let argon = Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params.clone(),
    );
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| fail(&e))?;
    let mut out = [0u8; argon2::Params::DEFAULT_OUTPUT_LEN];
    argon2_into(&argon, &params, password.as_bytes(), &salt, &mut out).map_err(|e| fail(&e))?;
    let phc = argon2::PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(argon2::Version::V0x13.into()),
        params: (&params).try_into().map_err(|e| fail(&e))?,
        salt: Some(argon2::password_hash::phc::Salt::new(&salt).map_err(|e| fail(&e))?),
        hash: Some(argon2::password_hash::phc::Output::new(&out).map_err(|e| fail(&e))?),
    };
    Ok(phc.to_string())
}

/// Checks a password against a stored PHC hash (argon2 of any variant and parameters).
fn password_matches(password: &str, hash: &str) -> bool {
    let Ok(parsed) = argon2::PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(params) = argon2::Params::try_from(&parsed) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let version = match parsed.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    if argon2_into(
        &argon,
        &params,
        password.as_bytes(),
        salt.as_ref(),
        &mut out,
    )
    .is_err()
    {
        return false;
    }
    // Constant time: `Output`'s equality compares every byte.
    argon2::password_hash::phc::Output::new(&out).is_ok_and(|o| o == *expected)
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

/// How often the last use of a session or token is written (at most).
const TOUCH_EVERY_MICROS: i64 = 60 * 1_000_000;

fn token_info(t: directory::TokenRecord) -> TokenInfoOut {
    TokenInfoOut {
        id: t.id,
        name: t.name,
        created_at: rfc3339(t.created_at),
        last_used_at: t.last_used_at.map(rfc3339),
        expires_at: t.expires_at.map(rfc3339),
    }
}

/// The outcome of the second factor of a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SecondFactor {
    /// The account has none.
    NotNeeded,
    /// A good code (now used up).
    Good,
    /// No code given.
    Missing,
    /// A wrong or used code.
    Wrong,
}

/// Ten recovery codes like `k3f9-x2m7`, and their stored hashes.
fn recovery_codes() -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..10)
        .map(|_| {
            let s = new_secret();
            format!("{}-{}", &s[..4], &s[4..8])
        })
        .collect();
    let hashes = codes.iter().map(|c| secret_hash(c)).collect();
    (codes, hashes)
}

/// The principal of a signed-in user (None when suspended).
pub(crate) fn principal_of(s: directory::SignedIn, via: Channel) -> Option<Principal> {
    if s.user.suspended {
        return None;
    }
    let two_factor_due = s.two_factor_off_but_required
        && matches!(
            s.user.role,
            ferrodesk_core::Role::Agent | ferrodesk_core::Role::Admin
        );
    Some(Principal {
        user: s.user,
        viewer: s.viewer,
        via,
        credential: None,
        two_factor_due,
        generation: s.generation,
    })
}

/// The secret a request came with.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    /// A bearer token (the API).
    Token(&'a str),
    /// A session cookie (the web app, and the API from its pages).
    Session(&'a str),
}

impl<'a> Credential<'a> {
    /// The secret.
    pub fn secret(&self) -> &'a str {
        match self {
            Credential::Token(s) | Credential::Session(s) => s,
        }
    }

    /// The interface its holder acts through.
    pub fn channel(&self) -> Channel {
        match self {
            Credential::Token(_) => Channel::Api,
            Credential::Session(_) => Channel::Web,
        }
    }
}

/// Failed sign-ins in a row that lock an account.
pub const LOCKOUT_AFTER: i64 = 5;
/// How long a lockout lasts.
pub const LOCKOUT_SECS: i64 = 15 * 60;

impl App {
    /// Runs an argon2 computation on one of the password threads (as many as the machine
    /// has cores), in turn: each takes ~19 MiB, so concurrent sign-ins cannot exhaust memory.
    async fn argon<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        self.hashing.run(f).await
    }

    /// Hashes a password off the async threads.
    pub async fn hash_password(&self, password: String) -> Result<String> {
        self.argon(move || hash_password(&password)).await?
    }

    /// Password sign-in: a new session, or `Unauthenticated` (same answer for an unknown
    /// email, a wrong password, a user without password and a suspended user). The fifth
    /// failure in a row locks the account for 15 minutes (`Locked`, until an admin lifts it);
    /// each failure answers a little later than the one before. Sign-ins and failures are
    /// audit events of the account.
    pub async fn login(&self, input: LoginIn) -> Result<SessionGrant> {
        let now = self.now();
        let found = {
            let mut c = self.store().read().await?;
            match directory::find_user_by_email(&mut c, &input.email).await? {
                Some((u, h)) => {
                    let state = directory::login_state(&mut c, u.id).await?;
                    Some((u, h, state))
                }
                None => None,
            }
        };
        if let Some((u, _, (_, Some(until)))) = &found
            && *until > now
            && !u.suspended
        {
            return Err(AppError::Locked {
                retry_after_secs: ((until - now) / 1_000_000).max(1),
            });
        }
        let (user, hash) = match &found {
            Some((u, Some(h), _)) if !u.suspended => (Some(u.clone()), Some(h.clone())),
            _ => (None, None),
        };
        let password = input.password;
        let ok = self
            .argon(move || {
                let hash = hash.as_deref().unwrap_or_else(|| dummy_hash());
                password_matches(&password, hash)
            })
            .await?;
        let account = found.as_ref().map(|(u, _, _)| u.id);
        // The second factor, for an account that has it: a missing code only asks for it; a
        // wrong one counts as a failed sign-in.
        let second = match &user {
            Some(u) if ok => self.second_factor(u.id, input.code.as_deref()).await?,
            _ => SecondFactor::NotNeeded,
        };
        if second == SecondFactor::Missing {
            return Err(AppError::TwoFactorRequired);
        }
        let ok = ok && second != SecondFactor::Wrong;
        let Some(user) = user.filter(|_| ok) else {
            if let Some(id) = account {
                let failures = self.count_login_failure(id, now).await?;
                // Each failure in a row answers later: 250 ms, 500 ms, 1 s … at most 4 s.
                let delay = 250u64 << (failures.clamp(1, 5) - 1);
                tokio::time::sleep(std::time::Duration::from_millis(delay.min(4_000))).await;
            }
            return Err(AppError::Unauthenticated);
        };
        let secret = new_secret();
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
        directory::clear_login_failures(&mut tx, user.id).await?;
        self.audit(
            &mut tx,
            crate::Actor::user(user.id, ferrodesk_core::Channel::Web),
            ("user", user.id.0),
            "signed_in",
            Vec::new(),
            None,
        )
        .await?;
        crate::directory::commit(tx).await?;
        Ok(SessionGrant {
            secret,
            max_age_secs: ttl,
            user_id: user.id,
        })
    }

    /// Checks (and uses up) the second factor of `user` for a sign-in or a new token.
    async fn second_factor(&self, user: UserId, code: Option<&str>) -> Result<SecondFactor> {
        let enabled = {
            let mut c = self.store().read().await?;
            directory::two_factor(&mut c, user).await?.enabled
        };
        if !enabled {
            return Ok(SecondFactor::NotNeeded);
        }
        let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
            return Ok(SecondFactor::Missing);
        };
        // Its own transaction, outside a request's idempotency key: a used code stays used
        // even if what it was for fails afterwards.
        let mut tx = self.store().begin_unscoped().await?;
        let mut tf = directory::two_factor(&mut tx, user).await?;
        let secret = tf
            .secret
            .as_deref()
            .and_then(|s| hex::decode(s).ok())
            .unwrap_or_default();
        let now_secs = self.now().div_euclid(1_000_000);
        let good = if let Some(step) =
            ferrodesk_core::totp::verify(&secret, code, now_secs, tf.last_step)
        {
            tf.last_step = Some(step);
            true
        } else {
            let hash = secret_hash(&code.to_lowercase());
            let before = tf.recovery.len();
            tf.recovery.retain(|h| *h != hash);
            tf.recovery.len() < before
        };
        if !good {
            return Ok(SecondFactor::Wrong);
        }
        directory::set_two_factor(&mut tx, user, &tf).await?;
        tx.commit()
            .await
            .map_err(ferrodesk_store::StoreError::from)?;
        Ok(SecondFactor::Good)
    }

    /// Whether the caller's two-factor sign-in is on, and whether it is required of them.
    pub async fn two_factor_status(&self, p: &Principal) -> Result<TwoFactorStatusOut> {
        let mut c = self.store().read().await?;
        let tf = directory::two_factor(&mut c, p.user.id).await?;
        let required = p.is_staff()
            && crate::settings::load(&mut c)
                .await?
                .require_two_factor_for_staff;
        Ok(TwoFactorStatusOut {
            enabled: tf.enabled,
            recovery_codes_left: if tf.enabled { tf.recovery.len() } else { 0 },
            required,
        })
    }

    /// Starts two-factor set-up for the caller: a new secret to add to an authenticator app.
    pub async fn two_factor_setup(&self, p: &Principal) -> Result<TwoFactorSetupOut> {
        let mut bytes = [0u8; 20];
        getrandom::fill(&mut bytes).expect("the operating system provides randomness");
        let mut tx = self.store().begin().await?;
        let mut tf = directory::two_factor(&mut tx, p.user.id).await?;
        if tf.enabled {
            return Err(AppError::Conflict {
                code: "two_factor_enabled",
                message: "two-factor sign-in is already on; turn it off first to change the app"
                    .into(),
            });
        }
        tf.secret = Some(hex::encode(bytes));
        directory::set_two_factor(&mut tx, p.user.id, &tf).await?;
        crate::directory::commit(tx).await?;
        Ok(TwoFactorSetupOut {
            secret: ferrodesk_core::totp::base32(&bytes),
            otpauth_uri: ferrodesk_core::totp::otpauth_uri("Ferrodesk", &p.user.email, &bytes),
        })
    }

    /// Turns two-factor sign-in on once the caller proves the app works (a current code).
    pub async fn two_factor_enable(&self, p: &Principal, code: &str) -> Result<RecoveryCodesOut> {
        let mut tx = self.store().begin().await?;
        let mut tf = directory::two_factor(&mut tx, p.user.id).await?;
        let secret = match (&tf.secret, tf.enabled) {
            (_, true) => {
                return Err(AppError::Conflict {
                    code: "two_factor_enabled",
                    message: "two-factor sign-in is already on".into(),
                });
            }
            (Some(s), false) => hex::decode(s).unwrap_or_default(),
            (None, false) => {
                return Err(AppError::Conflict {
                    code: "two_factor_not_set_up",
                    message: "start with POST /api/v1/me/two-factor".into(),
                });
            }
        };
        let now_secs = self.now().div_euclid(1_000_000);
        let Some(step) = ferrodesk_core::totp::verify(&secret, code, now_secs, None) else {
            return Err(AppError::invalid(
                "code",
                "wrong_code",
                "that is not the app's current code; check the phone's clock",
            ));
        };
        let (codes, hashes) = recovery_codes();
        tf.enabled = true;
        tf.last_step = Some(step);
        tf.recovery = hashes;
        directory::set_two_factor(&mut tx, p.user.id, &tf).await?;
        self.audit(
            &mut tx,
            crate::Actor::from(p),
            ("user", p.user.id.0),
            "two_factor_enabled",
            Vec::new(),
            None,
        )
        .await?;
        crate::directory::commit(tx).await?;
        Ok(RecoveryCodesOut {
            recovery_codes: codes,
        })
    }

    /// Turns two-factor sign-in off: the caller's own with a current (or recovery) code, or an
    /// admin's for anyone (a lost phone).
    pub async fn two_factor_disable(
        &self,
        p: &Principal,
        user: UserId,
        code: Option<&str>,
    ) -> Result<()> {
        if user != p.user.id {
            p.require_admin()?;
        } else if p.is_staff() && {
            let mut c = self.store().read().await?;
            crate::settings::load(&mut c)
                .await?
                .require_two_factor_for_staff
        } {
            return Err(AppError::Conflict {
                code: "two_factor_required_by_admin",
                message: "an admin requires two-factor sign-in for agents and admins; to move it \
                          to a new phone, ask an admin to reset it, then set it up again"
                    .into(),
            });
        } else if matches!(
            self.second_factor(user, code).await?,
            SecondFactor::Missing | SecondFactor::Wrong
        ) {
            return Err(AppError::invalid(
                "code",
                "wrong_code",
                "turning two-factor sign-in off needs a current code or a recovery code",
            ));
        }
        let mut tx = self.store().begin().await?;
        directory::get_user(&mut tx, user)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        directory::set_two_factor(&mut tx, user, &directory::TwoFactor::default()).await?;
        self.audit(
            &mut tx,
            crate::Actor::from(p),
            ("user", user.0),
            "two_factor_disabled",
            Vec::new(),
            None,
        )
        .await?;
        crate::directory::commit(tx).await
    }

    /// Records a failed sign-in of an existing account; gives the failures in a row.
    async fn count_login_failure(&self, id: UserId, now: i64) -> Result<i64> {
        let mut tx = self.store().begin().await?;
        let (failures, locked) = directory::record_login_failure(
            &mut tx,
            id,
            LOCKOUT_AFTER,
            now + LOCKOUT_SECS * 1_000_000,
        )
        .await?;
        let reason = if failures == LOCKOUT_AFTER && locked.is_some() {
            "locked"
        } else {
            "wrong_password"
        };
        self.audit(
            &mut tx,
            crate::Actor::user(id, ferrodesk_core::Channel::Web),
            ("user", id.0),
            "sign_in_failed",
            vec![ferrodesk_core::audit::FieldChange::new(
                "failed_logins",
                failures - 1,
                failures,
            )],
            Some(reason.into()),
        )
        .await?;
        crate::directory::commit(tx).await?;
        Ok(failures)
    }

    /// Lifts an account's lockout and clears its failed sign-ins (admins).
    pub async fn unlock_user(&self, p: &Principal, id: UserId) -> Result<()> {
        p.require_admin()?;
        let mut tx = self.store().begin().await?;
        directory::get_user(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        if directory::clear_login_failures(&mut tx, id).await? {
            self.audit(
                &mut tx,
                crate::Actor::from(p),
                ("user", id.0),
                "unlocked",
                Vec::new(),
                None,
            )
            .await?;
        }
        crate::directory::commit(tx).await
    }

    /// Ends a session.
    pub async fn logout(&self, secret: &str) -> Result<()> {
        let hash = secret_hash(secret);
        let user = self
            .signed_in(Credential::Session(secret), &hash, self.now())
            .await?
            .and_then(|s| principal_of(s, Channel::Web))
            .map(|p| p.user.id);
        let mut tx = self.store().begin().await?;
        directory::delete_session(&mut tx, &hash).await?;
        if let Some(id) = user {
            self.audit(
                &mut tx,
                crate::Actor::user(id, ferrodesk_core::Channel::Web),
                ("user", id.0),
                "signed_out",
                Vec::new(),
                None,
            )
            .await?;
        }
        crate::directory::commit(tx).await?;
        Ok(())
    }

    fn idle_micros(&self) -> i64 {
        self.config.session_idle_secs.max(60) * 1_000_000
    }

    /// The principal of a session cookie, if it is live (within its 14 days, used within the
    /// idle period) and its user not suspended. Marks the session as seen at most once a
    /// minute.
    pub async fn principal_from_session(&self, secret: &str) -> Result<Option<Principal>> {
        self.principal_from(Credential::Session(secret)).await
    }

    /// The principal of a bearer token, if it is valid (not expired) and its user not
    /// suspended. Marks the token as used at most once a minute.
    pub async fn principal_from_token(&self, secret: &str) -> Result<Option<Principal>> {
        self.principal_from(Credential::Token(secret)).await
    }

    /// The principal of a credential, if it is live and its user not suspended.
    pub async fn principal_from(&self, credential: Credential<'_>) -> Result<Option<Principal>> {
        let now = self.now();
        let hash = secret_hash(credential.secret());
        match self.signed_in(credential, &hash, now).await? {
            Some(s) => self.admit(credential, s, hash, now).await,
            None => Ok(None),
        }
    }

    /// Who holds `credential` (whose secret's hash is `hash`), if it is live at `now`.
    async fn signed_in(
        &self,
        credential: Credential<'_>,
        hash: &str,
        now: i64,
    ) -> Result<Option<directory::SignedIn>> {
        let mut c = self.store().read().await?;
        let who = self.who(credential, hash, now);
        Ok(directory::signed_in(&mut c, who, self.store().cache()).await?)
    }

    /// How the store names the holder of `credential`, whose secret's hash is `hash`, `now`.
    pub(crate) fn who<'h>(
        &self,
        credential: Credential<'_>,
        hash: &'h str,
        now: i64,
    ) -> directory::Who<'h> {
        match credential {
            Credential::Session(_) => directory::Who::Session {
                hash,
                now,
                idle: self.idle_micros(),
            },
            Credential::Token(_) => directory::Who::Token { hash, now },
        }
    }

    /// The principal of a user signed in with `credential` (whose secret's hash is `hash`),
    /// none when suspended; marks the credential as used when it was last marked over a
    /// minute before `now`.
    pub(crate) async fn admit(
        &self,
        credential: Credential<'_>,
        s: directory::SignedIn,
        hash: String,
        now: i64,
    ) -> Result<Option<Principal>> {
        let used = s.credential_used;
        let Some(principal) = principal_of(s, credential.channel()) else {
            return Ok(None);
        };
        if used.is_none_or(|u| now - u > TOUCH_EVERY_MICROS) {
            let session = matches!(credential, Credential::Session(_));
            self.mark_used(session, &hash, now).await?;
        }
        Ok(Some(principal.with_credential(hash)))
    }

    /// Marks a session or token as used, in its own transaction (no part of the request's
    /// change: outside its idempotency key) and its own task (a read request may be dropped
    /// when its client leaves; this write must not be cut off half-way).
    async fn mark_used(&self, session: bool, hash: &str, now: i64) -> Result<()> {
        let (store, hash) = (self.store().clone(), hash.to_owned());
        tokio::spawn(async move {
            let mut tx = store.begin_unscoped().await?;
            if session {
                directory::touch_session(&mut tx, &hash, now).await?;
            } else {
                directory::touch_token(&mut tx, &hash, now).await?;
            }
            tx.commit().await.map_err(ferrodesk_store::StoreError::from)
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
        Ok(())
    }

    /// The caller's API tokens (never their secrets).
    pub async fn list_tokens(&self, p: &Principal) -> Result<Vec<TokenInfoOut>> {
        let mut c = self.store().read().await?;
        Ok(directory::list_tokens(&mut c, p.user.id)
            .await?
            .into_iter()
            .map(token_info)
            .collect())
    }

    /// Revokes one API token: the caller's own, or anyone's for admins. Audited.
    pub async fn revoke_token(&self, p: &Principal, id: i64) -> Result<()> {
        let mut tx = self.store().begin().await?;
        let token = directory::get_token(&mut tx, id)
            .await?
            .filter(|t| t.user_id == p.user.id.0 || p.user.role == ferrodesk_core::Role::Admin)
            .ok_or(AppError::NotFound("token"))?;
        directory::delete_token(&mut tx, id).await?;
        self.audit(
            &mut tx,
            crate::Actor::from(p),
            ("user", token.user_id),
            "token_revoked",
            vec![ferrodesk_core::audit::FieldChange::new(
                "token",
                &token.name,
                (),
            )],
            None,
        )
        .await?;
        crate::directory::commit(tx).await
    }

    /// Revokes every API token of a user (admins). Audited.
    pub async fn revoke_tokens_of(&self, p: &Principal, user: UserId) -> Result<()> {
        p.require_admin()?;
        let mut tx = self.store().begin().await?;
        directory::get_user(&mut tx, user)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let tokens = directory::list_tokens(&mut tx, user).await?;
        directory::delete_tokens_of(&mut tx, user).await?;
        if !tokens.is_empty() {
            let names: Vec<&str> = tokens.iter().map(|t| t.name.as_str()).collect();
            self.audit(
                &mut tx,
                crate::Actor::from(p),
                ("user", user.0),
                "token_revoked",
                vec![ferrodesk_core::audit::FieldChange::new("token", &names, ())],
                None,
            )
            .await?;
        }
        crate::directory::commit(tx).await
    }

    /// Loads the principal of user `id` (None when missing or suspended).
    pub async fn principal(
        &self,
        c: &mut ferrodesk_store::Conn,
        id: UserId,
        via: Channel,
    ) -> Result<Option<Principal>> {
        Ok(
            directory::signed_in(c, directory::Who::User(id), self.store().cache())
                .await?
                .and_then(|s| principal_of(s, via)),
        )
    }

    /// Creates an API token for the caller.
    pub async fn create_token(&self, p: &Principal, input: TokenIn) -> Result<TokenOut> {
        let name = match input.name {
            Some(n) => ferrodesk_core::validate::name("name", &n, 100)
                .map_err(|e| AppError::Invalid(vec![e]))?,
            None => "API token".to_owned(),
        };
        let expires_at = match input.expires_in_days {
            None => None,
            Some(d) if (1..=3650).contains(&d) => Some(self.now() + d * 86_400_000_000),
            Some(_) => {
                return Err(AppError::invalid(
                    "expires_in_days",
                    "out_of_range",
                    "expires_in_days is 1 to 3650",
                ));
            }
        };
        match self.second_factor(p.user.id, input.code.as_deref()).await? {
            SecondFactor::Missing => return Err(AppError::TwoFactorRequired),
            SecondFactor::Wrong => {
                return Err(AppError::invalid(
                    "code",
                    "wrong_code",
                    "that code is wrong or already used",
                ));
            }
            SecondFactor::Good | SecondFactor::NotNeeded => {}
        }
        self.issue_token_until(p.user.id, &name, crate::Actor::from(p), expires_at)
            .await
    }

    /// Creates an API token for `user` that does not expire (also used by the CLI).
    pub async fn issue_token(
        &self,
        user: UserId,
        name: &str,
        actor: crate::Actor,
    ) -> Result<TokenOut> {
        self.issue_token_until(user, name, actor, None).await
    }

    /// Creates an API token for `user`, valid until `expires_at` (microseconds) if given.
    pub async fn issue_token_until(
        &self,
        user: UserId,
        name: &str,
        actor: crate::Actor,
        expires_at: Option<i64>,
    ) -> Result<TokenOut> {
        let secret = new_secret();
        let mut tx = self.store().begin().await?;
        let id = directory::insert_token(
            &mut tx,
            user,
            name,
            &secret_hash(&secret),
            self.now(),
            expires_at,
        )
        .await?;
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
