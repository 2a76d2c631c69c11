//! The subject and text of each message Ferrodesk sends, as minijinja templates admins may
//! change: checked on save by rendering them with sample values (an unknown variable or a
//! syntax error is refused, naming the field), stored in `settings`
//! (`mail_template.NAME.subject` / `.body`), and rendered as text (never HTML: the mail's HTML
//! part is the text, escaped).

use std::collections::BTreeMap;

use ferrodesk_core::audit::FieldChange;
use ferrodesk_core::validate::{FieldError, Problems};
use ferrodesk_store::settings;

use crate::dto::{MailTemplateIn, MailTemplateOut};
use crate::{Actor, App, AppError, Principal, Result};

/// One kind of message.
pub struct Template {
    /// Its name (the `template` of its jobs).
    pub name: &'static str,
    /// What it is, in words.
    pub label: &'static str,
    /// Its variables, with the sample value a template is checked with.
    pub variables: &'static [(&'static str, &'static str)],
    /// The built-in subject.
    pub subject: &'static str,
    /// The built-in text.
    pub body: &'static str,
}

/// Every message Ferrodesk sends.
pub const TEMPLATES: &[Template] = &[
    Template {
        name: "public_reply",
        label: "Public reply",
        variables: &[
            ("recipient_name", "Dana Reader"),
            ("author_name", "Sam Support"),
            ("ticket_id", "123"),
            ("ticket_subject", "Printer on fire"),
            ("body", "Have you tried turning it off and on?"),
            ("link", "https://desk.example.com/portal/requests/123"),
        ],
        subject: "Re: [#{{ ticket_id }}] {{ ticket_subject }}",
        body: "{{ author_name }} wrote on ticket #{{ ticket_id }}:\n\n{{ body }}\n\n-- \nThe ticket: {{ link }}\n",
    },
    Template {
        name: "ticket_created",
        label: "New ticket acknowledgement",
        variables: &[
            ("recipient_name", "Dana Reader"),
            ("ticket_id", "123"),
            ("ticket_subject", "Printer on fire"),
            ("body", "Smoke comes out of the printer."),
            ("link", "https://desk.example.com/portal/requests/123"),
        ],
        subject: "[#{{ ticket_id }}] {{ ticket_subject }}",
        body: "Hello {{ recipient_name }},\n\nyour request “{{ ticket_subject }}” was received as ticket #{{ ticket_id }}. We will answer as soon as we can.\n\n{{ body }}\n\n-- \nThe ticket: {{ link }}\n",
    },
    Template {
        name: "ticket_solved",
        label: "Ticket solved",
        variables: &[
            ("recipient_name", "Dana Reader"),
            ("ticket_id", "123"),
            ("ticket_subject", "Printer on fire"),
            ("status_label", "resolved"),
            ("link", "https://desk.example.com/portal/requests/123"),
        ],
        subject: "[#{{ ticket_id }}] {{ ticket_subject }}",
        body: "Hello {{ recipient_name }},\n\nyour request “{{ ticket_subject }}” (ticket #{{ ticket_id }}) is {{ status_label }}. If something is still wrong, answer on the ticket.\n\n-- \nThe ticket: {{ link }}\n",
    },
    Template {
        name: "internal_owner_removed",
        label: "Internal owner removed",
        variables: &[
            ("recipient_name", "Fiona Finance"),
            ("ticket_id", "123"),
            ("ticket_subject", "Printer on fire"),
            (
                "reason",
                "its status changed to one your group is not mapped to",
            ),
            ("link", "https://desk.example.com/agent/tickets/123"),
        ],
        subject: "[#{{ ticket_id }}] You are no longer its internal owner",
        body: "Hello {{ recipient_name }},\n\nyou are no longer the internal owner of ticket #{{ ticket_id }}{% if ticket_subject %} “{{ ticket_subject }}”{% endif %}: {{ reason }}.\n\n-- \n{{ link }}\n",
    },
    Template {
        name: "rule_notification",
        label: "Rule notice",
        variables: &[
            ("recipient_name", "Sam Support"),
            ("rule_name", "Tell the team about urgent tickets"),
            ("ticket_id", "123"),
            ("ticket_subject", "Printer on fire"),
            ("link", "https://desk.example.com/agent/tickets/123"),
        ],
        subject: "[#{{ ticket_id }}] {{ ticket_subject }}",
        body: "{% if recipient_name %}Hello {{ recipient_name }},\n\nthe rule “{{ rule_name }}” sends you{% else %}The rule “{{ rule_name }}” sends{% endif %} this notice about ticket #{{ ticket_id }}: {{ ticket_subject }}.\n{% if link %}\n-- \nThe ticket: {{ link }}\n{% endif %}",
    },
    Template {
        name: "refusal_notice",
        label: "Incoming message refused",
        variables: &[
            ("recipient_name", "Rita"),
            ("ticket_id", "123"),
            ("subject", "Re: [#123] Printer on fire"),
            (
                "reason",
                "your message was not added to ticket #123: you may view this ticket but not comment on it",
            ),
        ],
        subject: "{% if ticket_id %}[#{{ ticket_id }}] Your message was not added{% else %}Your message was not received: {{ subject }}{% endif %}",
        body: "Hello{% if recipient_name %} {{ recipient_name }}{% endif %},\n\n{{ reason }}.\n\nYour message “{{ subject }}” was kept but not added. Please contact us another way if you need an answer.\n",
    },
];

/// The longest subject template, in characters.
const MAX_SUBJECT: usize = 500;
/// The longest text template, in characters.
const MAX_BODY: usize = 20_000;

fn find(name: &str) -> Result<&'static Template> {
    TEMPLATES
        .iter()
        .find(|t| t.name == name)
        .ok_or(AppError::NotFound("mail template"))
}

fn key(name: &str, part: &str) -> String {
    format!("mail_template.{name}.{part}")
}

fn stored<'a>(stored: &'a [(String, String)], key: &str) -> Option<&'a str> {
    stored
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Renders `source` with `vars`; an unknown variable is an error.
fn render_with(source: &str, vars: &BTreeMap<&str, String>) -> std::result::Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let ctx = minijinja::Value::from_pairs(vars.iter().map(|(k, v)| (*k, v.clone())));
    env.render_str(source, ctx).map_err(|e| e.to_string())
}

/// The subject and text of message `name` with `vars`, from the admins' templates (or the
/// built-in ones); the subject on one line.
pub(crate) fn render(
    all: &[(String, String)],
    name: &str,
    vars: &[(&'static str, String)],
) -> Result<(String, String)> {
    let t = find(name)?;
    let vars: BTreeMap<&str, String> = vars.iter().cloned().collect();
    let subject_source = stored(all, &key(name, "subject")).unwrap_or(t.subject);
    let body_source = stored(all, &key(name, "body")).unwrap_or(t.body);
    // A stored template was checked when saved; should it fail now, the built-in one speaks.
    let subject = render_with(subject_source, &vars)
        .or_else(|_| render_with(t.subject, &vars))
        .map_err(AppError::Internal)?;
    let body = render_with(body_source, &vars)
        .or_else(|_| render_with(t.body, &vars))
        .map_err(AppError::Internal)?;
    let subject = subject
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Ok((subject, body))
}

fn out(all: &[(String, String)], t: &Template) -> MailTemplateOut {
    let subject = stored(all, &key(t.name, "subject"));
    let body = stored(all, &key(t.name, "body"));
    MailTemplateOut {
        name: t.name.to_owned(),
        label: t.label.to_owned(),
        subject: subject.unwrap_or(t.subject).to_owned(),
        body: body.unwrap_or(t.body).to_owned(),
        variables: t.variables.iter().map(|(v, _)| (*v).to_owned()).collect(),
        customized: subject.is_some() || body.is_some(),
    }
}

impl App {
    /// The mail templates (admins), each with its variables and whether it was changed.
    pub async fn mail_templates(&self, p: &Principal) -> Result<Vec<MailTemplateOut>> {
        p.require_admin()?;
        let mut c = self.store().read().await?;
        let all = settings::all(&mut c).await?;
        Ok(TEMPLATES.iter().map(|t| out(&all, t)).collect())
    }

    /// Changes a mail template (admins): both parts are rendered with sample values first,
    /// and refused naming the field when they do not render.
    pub async fn update_mail_template(
        &self,
        p: &Principal,
        name: &str,
        input: MailTemplateIn,
    ) -> Result<MailTemplateOut> {
        p.require_admin()?;
        let t = find(name)?;
        let sample: BTreeMap<&str, String> = t
            .variables
            .iter()
            .map(|(k, v)| (*k, (*v).to_owned()))
            .collect();
        let known = t
            .variables
            .iter()
            .map(|(v, _)| *v)
            .collect::<Vec<_>>()
            .join(", ");
        let mut problems = Problems::default();
        for (field, source, max) in [
            ("subject", &input.subject, MAX_SUBJECT),
            ("body", &input.body, MAX_BODY),
        ] {
            if source.trim().is_empty() || source.chars().count() > max {
                problems.push(FieldError::new(
                    field,
                    "invalid_length",
                    format!("the {field} must have 1 to {max} characters"),
                ));
            } else if let Err(e) = render_with(source, &sample) {
                problems.push(FieldError::new(
                    field,
                    "invalid_template",
                    format!("the {field} does not render ({e}); its variables are: {known}"),
                ));
            }
        }
        problems.finish().map_err(AppError::Invalid)?;
        self.write_template(p, t, Some((&input.subject, &input.body)))
            .await
    }

    /// Puts a mail template back to the built-in one (admins).
    pub async fn reset_mail_template(&self, p: &Principal, name: &str) -> Result<MailTemplateOut> {
        p.require_admin()?;
        let t = find(name)?;
        self.write_template(p, t, None).await
    }

    async fn write_template(
        &self,
        p: &Principal,
        t: &Template,
        new: Option<(&str, &str)>,
    ) -> Result<MailTemplateOut> {
        let mut tx = self.store().begin().await?;
        let before = settings::all(&mut tx).await?;
        let old = out(&before, t);
        let mut changes = Vec::new();
        for (part, old_value, new_value) in [
            ("subject", &old.subject, new.map(|n| n.0)),
            ("body", &old.body, new.map(|n| n.1)),
        ] {
            let k = key(t.name, part);
            match new_value {
                Some(v) => settings::set(&mut tx, &k, v).await?,
                None => settings::remove(&mut tx, &k).await?,
            }
            let now = new_value.unwrap_or(if part == "subject" { t.subject } else { t.body });
            if old_value != now {
                changes.push(FieldChange::new(&k, old_value, now));
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
        let after = settings::all(&mut tx).await?;
        crate::directory::commit(tx).await?;
        Ok(out(&after, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_template_renders_with_its_sample_values() {
        for t in TEMPLATES {
            let vars: Vec<(&'static str, String)> = t
                .variables
                .iter()
                .map(|(k, v)| (*k, (*v).to_owned()))
                .collect();
            let (subject, body) = render(&[], t.name, &vars).unwrap();
            assert!(!subject.is_empty() && !subject.contains('\n'), "{}", t.name);
            assert!(body.contains(t.variables[1].1), "{}: {body}", t.name);
        }
    }

    #[test]
    fn a_stored_template_replaces_the_built_in_one_and_never_breaks_a_subject_line() {
        let all = vec![(
            key("ticket_solved", "subject"),
            "Solved:\n{{ ticket_subject }}\r\nBcc: x@y".to_owned(),
        )];
        let vars = vec![
            ("recipient_name", "Ana".to_owned()),
            ("ticket_id", "7".to_owned()),
            ("ticket_subject", "Printer".to_owned()),
            ("status_label", "solved".to_owned()),
            ("link", "l".to_owned()),
        ];
        let (subject, body) = render(&all, "ticket_solved", &vars).unwrap();
        assert_eq!(subject, "Solved: Printer Bcc: x@y");
        assert!(body.contains("is solved"), "{body}");
    }
}
