//! The rules pages (admins only): the list of rules, a new rule, a rule's page, and the
//! simulate form. A rule is edited as JSON that shows its warnings before saving — "Check"
//! shows them without saving, and "Save" stops at them and asks to confirm.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use ferrodesk_app::{App, AppError};
use serde::Deserialize;

use super::admin::admin_only;
use super::view::{Layout, Opt};
use super::{PagePath, Post, Session, UiError, html, html_status};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/admin/rules", get(rules).post(create_rule))
        .route("/admin/rules/simulate", post(simulate))
        .route("/admin/rules/{id}", get(edit_rule).post(save_rule))
}

struct RuleRow {
    id: i64,
    name: String,
    active: bool,
    position: i64,
}

/// The outcome of a simulation, as lines for people.
struct SimRun {
    rule: String,
    lines: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SimulateForm {
    ticket_id: String,
    event: String,
    performed_by: String,
}

#[derive(Template)]
#[template(path = "admin_rules.html")]
struct RulesPage {
    layout: Layout,
    tab: &'static str,
    rows: Vec<RuleRow>,
    /// The new rule's JSON and its problems.
    json: String,
    problems: Vec<String>,
    sim: SimulateForm,
    sim_problems: Vec<String>,
    sim_runs: Option<Vec<SimRun>>,
    performers: Vec<Opt>,
    /// The new rule's warnings (after a check, before saving).
    warnings: Vec<String>,
    /// The new rule was checked (and not saved).
    checked: bool,
}

#[derive(Template)]
#[template(path = "admin_rule.html")]
struct RulePage {
    layout: Layout,
    tab: &'static str,
    id: i64,
    name: String,
    json: String,
    problems: Vec<String>,
    warnings: Vec<String>,
    /// The JSON shown was checked (and not saved): `warnings` are its warnings.
    checked: bool,
}

const NEW_RULE: &str = r#"{
  "name": "",
  "active": true,
  "events": [{"type": "comment_added", "public": true}],
  "performed_by": "end_user",
  "conditions": {"all": [{"field": "status", "operator": "is", "value": "Pending"}], "any": []},
  "actions": [{"field": "status", "value": "Open"}]
}"#;

fn rule_json(r: &ferrodesk_app::dto::RuleOut) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "name": r.name,
        "active": r.active,
        "position": r.position,
        "events": r.events,
        "performed_by": r.performed_by,
        "conditions": r.conditions,
        "actions": r.actions,
    }))
    .unwrap_or_default()
}

/// Problems of a rule save, as lines (`field: message`).
fn problem_lines(e: AppError) -> Result<Vec<String>, UiError> {
    match e {
        AppError::Invalid(list) => Ok(list
            .into_iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect()),
        AppError::Conflict { message, .. } => Ok(vec![message]),
        e => Err(e.into()),
    }
}

fn parse_rule(json: &str) -> Result<ferrodesk_app::dto::RuleIn, Vec<String>> {
    serde_json::from_str(json).map_err(|e| vec![format!("The JSON could not be read: {e}")])
}

fn performers(selected: &str) -> Vec<Opt> {
    ["agent", "end_user", "system", "anyone"]
        .into_iter()
        .map(|v| Opt::new(v, v.replace('_', " "), v == selected))
        .collect()
}

async fn rules_page(app: &App, s: &Session) -> Result<RulesPage, UiError> {
    let rows = app
        .list_rules(&s.p)
        .await?
        .into_iter()
        .map(|r| RuleRow {
            id: r.id,
            name: r.name,
            active: r.active,
            position: r.position,
        })
        .collect();
    Ok(RulesPage {
        layout: s.layout("Rules", "admin"),
        tab: "rules",
        rows,
        json: NEW_RULE.into(),
        problems: Vec::new(),
        sim: SimulateForm {
            ticket_id: String::new(),
            event: r#"{"type": "comment_added", "public": true}"#.into(),
            performed_by: "end_user".into(),
        },
        sim_problems: Vec::new(),
        sim_runs: None,
        performers: performers("end_user"),
        warnings: Vec::new(),
        checked: false,
    })
}

async fn rules(State(app): State<App>, s: Session) -> Result<Response, UiError> {
    admin_only(&s)?;
    Ok(html(&rules_page(&app, &s).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RuleForm {
    rule: String,
    /// `check` (warnings only, nothing saved), `confirm` (save despite the warnings) or
    /// anything else: save unless the check finds warnings, which are then shown first.
    intent: String,
}

/// What a rule form's submit led to before saving.
enum Checked {
    /// Not valid: the problems, as lines.
    Problems(Vec<String>),
    /// Valid, with these warnings; the parsed rule to save.
    Ok(ferrodesk_app::dto::RuleIn, Vec<String>),
}

/// Parses and checks a rule (the same validation and warnings as saving, without saving).
async fn check(app: &App, s: &Session, json: &str) -> Result<Checked, UiError> {
    let input = match parse_rule(json) {
        Err(p) => return Ok(Checked::Problems(p)),
        Ok(i) => i,
    };
    // The use case takes the rule by value; parse again for the save.
    let again = parse_rule(json).map_err(|_| UiError::BadForm)?;
    match app.check_rule(&s.p, again).await {
        Ok(w) => Ok(Checked::Ok(
            input,
            w.into_iter().map(|w| w.message).collect(),
        )),
        Err(e) => Ok(Checked::Problems(problem_lines(e)?)),
    }
}

async fn create_rule(
    State(app): State<App>,
    Post { s, form }: Post<RuleForm>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let mut page = rules_page(&app, &s).await?;
    let problems = match check(&app, &s, &form.rule).await? {
        Checked::Problems(p) => p,
        Checked::Ok(input, warnings) => {
            if form.intent == "check" || (form.intent != "confirm" && !warnings.is_empty()) {
                // Shown before saving; "Save anyway" confirms.
                page.json = form.rule;
                page.warnings = warnings;
                page.checked = true;
                return Ok(html(&page));
            }
            match app.save_rule(&s.p, None, input).await {
                Ok(r) => {
                    return rule_response(&s, &r, Vec::new(), Some("Rule created.".into()), None);
                }
                Err(e) => problem_lines(e)?,
            }
        }
    };
    page.json = form.rule;
    page.problems = problems;
    Ok(html_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

fn rule_response(
    s: &Session,
    r: &ferrodesk_app::dto::RuleOut,
    problems: Vec<String>,
    notice: Option<String>,
    json: Option<String>,
) -> Result<Response, UiError> {
    let mut layout = s.layout(format!("Rule {}", r.name), "admin");
    layout.notice = notice;
    let failed = !problems.is_empty();
    let page = RulePage {
        layout,
        tab: "rules",
        id: r.id,
        name: r.name.clone(),
        json: json.unwrap_or_else(|| rule_json(r)),
        problems,
        warnings: r.warnings.iter().map(|w| w.message.clone()).collect(),
        checked: false,
    };
    Ok(if failed {
        html_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
    } else {
        html(&page)
    })
}

async fn find_rule(
    app: &App,
    s: &Session,
    id: i64,
) -> Result<ferrodesk_app::dto::RuleOut, UiError> {
    app.list_rules(&s.p)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(UiError::App(AppError::NotFound("rule")))
}

async fn edit_rule(
    State(app): State<App>,
    s: Session,
    PagePath(id): PagePath<i64>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let r = find_rule(&app, &s, id).await?;
    rule_response(&s, &r, Vec::new(), None, None)
}

async fn save_rule(
    State(app): State<App>,
    PagePath(id): PagePath<i64>,
    Post { s, form }: Post<RuleForm>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let current = find_rule(&app, &s, id).await?;
    let problems = match check(&app, &s, &form.rule).await? {
        Checked::Problems(p) => p,
        Checked::Ok(input, warnings) => {
            if form.intent == "check" || (form.intent != "confirm" && !warnings.is_empty()) {
                let mut layout = s.layout(format!("Rule {}", current.name), "admin");
                layout.notice = None;
                return Ok(html(&RulePage {
                    layout,
                    tab: "rules",
                    id,
                    name: current.name,
                    json: form.rule,
                    problems: Vec::new(),
                    warnings,
                    checked: true,
                }));
            }
            match app.save_rule(&s.p, Some(id), input).await {
                Ok(r) => {
                    return rule_response(&s, &r, Vec::new(), Some("Rule saved.".into()), None);
                }
                Err(e) => problem_lines(e)?,
            }
        }
    };
    let mut shown = current;
    shown.warnings.clear();
    rule_response(&s, &shown, problems, None, Some(form.rule))
}

async fn simulate(
    State(app): State<App>,
    Post { s, form }: Post<SimulateForm>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let mut problems = Vec::new();
    let ticket_id = form.ticket_id.trim().parse::<i64>().ok();
    if ticket_id.is_none() {
        problems.push("ticket: enter a ticket number".to_owned());
    }
    let event = serde_json::from_str(&form.event)
        .map_err(|e| problems.push(format!("event: the JSON could not be read: {e}")))
        .ok();
    let performed_by = serde_json::from_value(serde_json::Value::String(form.performed_by.clone()))
        .map_err(|_| problems.push("performed by: choose one of the listed values".to_owned()))
        .ok();
    let mut runs = None;
    if let (Some(ticket_id), Some(event)) = (ticket_id, event) {
        let input = ferrodesk_app::dto::SimulateIn {
            ticket_id,
            event,
            performed_by,
        };
        match app.simulate_rules(&s.p, input).await {
            Ok(out) => {
                let mut list: Vec<SimRun> = out
                    .runs
                    .into_iter()
                    .map(|r| {
                        let mut lines: Vec<String> = r
                            .changes
                            .iter()
                            .map(|c| format!("{}: {} → {}", c.field, c.from, c.to))
                            .collect();
                        lines.extend(r.notes.iter().map(|n| format!("adds a private note: {n}")));
                        lines.extend(r.notifications.iter().map(|n| format!("notifies: {n}")));
                        if let Some(e) = r.error {
                            lines.push(format!("refused: {e}"));
                        }
                        SimRun {
                            rule: format!("{} (pass {})", r.rule_name, r.pass),
                            lines,
                        }
                    })
                    .collect();
                if !out.stopped.is_empty() {
                    list.push(SimRun {
                        rule: "Loop stopped".into(),
                        lines: vec![format!("rules {:?} would have fired again", out.stopped)],
                    });
                }
                runs = Some(list);
            }
            Err(AppError::NotFound(_)) => problems.push("ticket: no such ticket".into()),
            Err(e) => problems.extend(problem_lines(e)?),
        }
    }
    let mut page = rules_page(&app, &s).await?;
    page.performers = performers(&form.performed_by);
    page.sim = form;
    let failed = !problems.is_empty();
    page.sim_problems = problems;
    page.sim_runs = runs;
    Ok(if failed {
        html_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
    } else {
        html(&page)
    })
}
