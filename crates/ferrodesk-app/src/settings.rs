//! Account settings: time zone, public base URL, the sharing confirmation template, whether
//! staff must use two-factor sign-in.

use ferrodesk_core::audit::FieldChange;
use ferrodesk_core::validate::{FieldError, Problems};
use ferrodesk_store::{Conn, settings};

use crate::directory::commit;
use crate::dto::{SettingsOut, SettingsPatch};
use crate::{Actor, App, AppError, Principal, Result};

/// Reads all settings.
pub(crate) async fn load(c: &mut Conn) -> Result<SettingsOut> {
    Ok(from_stored(&settings::all(c).await?))
}

/// The settings of stored (key, value) pairs, with their defaults.
pub(crate) fn from_stored(stored: &[(String, String)]) -> SettingsOut {
    let value = |key: &str| {
        stored
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let text = |key: &str, default: &str| value(key).unwrap_or(default).to_owned();
    SettingsOut {
        time_zone: text("time_zone", "UTC"),
        public_base_url: text("public_base_url", DEFAULT_PUBLIC_BASE_URL),
        sharing_confirmation_template: text("sharing_confirmation_template", ""),
        require_two_factor_for_staff: value(REQUIRE_TWO_FACTOR) == Some("true"),
        mail_unknown_senders: text("mail_unknown_senders", "create"),
        mail_agent_replies: text("mail_agent_replies", "public"),
        mail_copy_ccs: value("mail_copy_ccs").is_none_or(|v| v == "true"),
        mail_sender_limit_per_minute: value("mail_sender_limit_per_minute")
            .and_then(|v| v.parse().ok())
            .unwrap_or(20),
        mail_smtp_server: None,
        mail_from: String::new(),
        mail_inbound_enabled: false,
    }
}

/// The public URL until an admin sets one: the server's own default address, which
/// customers cannot open.
pub const DEFAULT_PUBLIC_BASE_URL: &str = "http://127.0.0.1:8080";

/// The settings key of [`SettingsOut::require_two_factor_for_staff`].
pub(crate) const REQUIRE_TWO_FACTOR: &str = "require_two_factor_for_staff";

/// A setting's stored text.
fn stored(s: &SettingsOut, key: &str) -> String {
    match key {
        "time_zone" => s.time_zone.clone(),
        "public_base_url" => s.public_base_url.clone(),
        REQUIRE_TWO_FACTOR => s.require_two_factor_for_staff.to_string(),
        "mail_unknown_senders" => s.mail_unknown_senders.clone(),
        "mail_agent_replies" => s.mail_agent_replies.clone(),
        "mail_copy_ccs" => s.mail_copy_ccs.to_string(),
        "mail_sender_limit_per_minute" => s.mail_sender_limit_per_minute.to_string(),
        _ => s.sharing_confirmation_template.clone(),
    }
}

/// One of a few words, or the problem naming them.
fn one_of(
    field: &'static str,
    value: &str,
    words: &[&str],
    writes: &mut Vec<(&'static str, String)>,
    problems: &mut Problems,
) {
    if words.contains(&value) {
        writes.push((field, value.to_owned()));
    } else {
        problems.push(FieldError::new(
            field,
            "invalid_value",
            format!("{field} must be one of: {}", words.join(", ")),
        ));
    }
}

/// Renders a template with `ctx` (user input goes only into the context).
pub(crate) fn render(template: &str, ctx: minijinja::Value) -> std::result::Result<String, String> {
    let env = minijinja::Environment::new();
    env.render_str(template, ctx).map_err(|e| e.to_string())
}

impl App {
    /// The configured public base URL (cookies are `Secure` when it is https).
    pub async fn public_base_url(&self) -> Result<String> {
        let mut c = self.store().read().await?;
        Ok(load(&mut c).await?.public_base_url)
    }

    /// The desk's time zone (Settings), in which pages show times: anyone signed in may read
    /// it. UTC when unset or unknown.
    pub async fn time_zone(&self) -> Result<jiff::tz::TimeZone> {
        let mut c = self.store().read().await?;
        let name = settings::all(&mut c)
            .await?
            .into_iter()
            .find(|(k, _)| k == "time_zone")
            .map(|(_, v)| v);
        Ok(name
            .and_then(|n| jiff::tz::TimeZone::get(&n).ok())
            .unwrap_or(jiff::tz::TimeZone::UTC))
    }

    /// The settings (admins), with the mail server's from the command line or environment
    /// (never its password).
    pub async fn get_settings(&self, p: &Principal) -> Result<SettingsOut> {
        p.require_admin()?;
        let mut c = self.store().read().await?;
        Ok(self.with_mail_server(load(&mut c).await?))
    }

    fn with_mail_server(&self, mut s: SettingsOut) -> SettingsOut {
        let config = self.config();
        s.mail_smtp_server = config.smtp_server.clone();
        s.mail_from = config.mail_from.clone();
        s.mail_inbound_enabled = config.mail_inbound_token.is_some();
        s
    }

    /// Changes settings (admins); each value is checked before anything is saved.
    pub async fn update_settings(
        &self,
        p: &Principal,
        patch: SettingsPatch,
    ) -> Result<SettingsOut> {
        p.require_admin()?;
        let mut problems = Problems::default();
        let mut writes: Vec<(&'static str, String)> = Vec::new();
        if let Some(tz) = &patch.time_zone {
            match jiff::tz::TimeZone::get(tz.trim()) {
                Ok(_) => writes.push(("time_zone", tz.trim().to_owned())),
                Err(_) => problems.push(FieldError::new(
                    "time_zone",
                    "unknown_time_zone",
                    format!("{tz:?} is not an IANA time zone such as Europe/Berlin"),
                )),
            }
        }
        if let Some(url) = &patch.public_base_url {
            let u = url.trim().trim_end_matches('/');
            let ok = (u.starts_with("https://") || u.starts_with("http://"))
                && u.len() <= 200
                && !u.contains(char::is_whitespace)
                && u.split("://").nth(1).is_some_and(|h| !h.is_empty());
            if ok {
                writes.push(("public_base_url", u.to_owned()));
            } else {
                problems.push(FieldError::new(
                    "public_base_url",
                    "invalid_url",
                    "public_base_url must be an http(s) URL such as https://desk.example.com",
                ));
            }
        }
        if let Some(t) = &patch.sharing_confirmation_template {
            let sample = minijinja::context! {
                requester_name => "Ana", organization_name => "Acme", sharing => "read_only",
                sharing_label => "read only", enabled => true, ticket_id => 1, date => "2026-01-01",
                admin_name => "Admin",
            };
            if t.trim().is_empty() || t.len() > 10_000 {
                problems.push(FieldError::new(
                    "sharing_confirmation_template",
                    "invalid_length",
                    "the template must have 1 to 10000 characters",
                ));
            } else if let Err(e) = render(t, sample) {
                problems.push(FieldError::new(
                    "sharing_confirmation_template",
                    "invalid_template",
                    format!("the template does not render: {e}"),
                ));
            } else {
                writes.push(("sharing_confirmation_template", t.clone()));
            }
        }
        if let Some(on) = patch.require_two_factor_for_staff {
            writes.push((REQUIRE_TWO_FACTOR, on.to_string()));
        }
        if let Some(v) = &patch.mail_unknown_senders {
            let words = ["create", "refuse"];
            one_of(
                "mail_unknown_senders",
                v,
                &words,
                &mut writes,
                &mut problems,
            );
        }
        if let Some(v) = &patch.mail_agent_replies {
            let words = ["public", "private"];
            one_of("mail_agent_replies", v, &words, &mut writes, &mut problems);
        }
        if let Some(on) = patch.mail_copy_ccs {
            writes.push(("mail_copy_ccs", on.to_string()));
        }
        match patch.mail_sender_limit_per_minute {
            Some(n) if (1..=10_000).contains(&n) => {
                writes.push(("mail_sender_limit_per_minute", n.to_string()));
            }
            Some(_) => problems.push(FieldError::new(
                "mail_sender_limit_per_minute",
                "out_of_range",
                "mail_sender_limit_per_minute must be 1 to 10000",
            )),
            None => {}
        }
        problems.finish().map_err(AppError::Invalid)?;
        let mut tx = self.store().begin().await?;
        let before = load(&mut tx).await?;
        if patch.require_two_factor_for_staff == Some(true)
            && !before.require_two_factor_for_staff
            && !ferrodesk_store::directory::two_factor(&mut tx, p.user.id)
                .await?
                .enabled
        {
            return Err(AppError::invalid(
                "require_two_factor_for_staff",
                "two_factor_off_for_you",
                "turn on two-factor sign-in for your own account first (Account → Two-factor sign-in)",
            ));
        }
        let mut changes = Vec::new();
        for (key, value) in &writes {
            let old = stored(&before, key);
            if &old != value {
                changes.push(FieldChange::new(key, old, value));
                settings::set(&mut tx, key, value).await?;
            }
        }
        if !changes.is_empty() {
            self.audit(
                &mut tx,
                Actor::from(p),
                ("settings", 0),
                "updated",
                changes,
                None,
            )
            .await?;
        }
        let after = load(&mut tx).await?;
        commit(tx).await?;
        Ok(self.with_mail_server(after))
    }
}
