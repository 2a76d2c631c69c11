//! Demo data: a small helpdesk to look around in (`ferrodesk demo`, `serve --demo`).
//! Everything is created through the use cases, so it is validated and audited like
//! anything a person does.

use ferrodesk_core::{Priority, Role, TicketScope, UserAccess};

use crate::dto::{CommentIn, GroupIn, OrganizationIn, TicketIn, TicketPatch, UserIn};
use crate::{App, Principal, Result};

/// Sign-in details of the demo's people.
#[derive(Debug, Clone)]
pub struct DemoLogins {
    /// Admin email.
    pub admin_email: String,
    /// Agent email.
    pub agent_email: String,
    /// End user email.
    pub customer_email: String,
    /// The password all three share.
    pub password: String,
}

/// The password of the demo's sign-in users.
pub const DEMO_PASSWORD: &str = "ferrodesk-demo";

const SUBJECTS: &[&str] = &[
    "Invoice shows the wrong VAT number",
    "Cannot reset my password",
    "Printer on floor 3 is offline",
    "Refund for duplicate charge",
    "Contract renewal questions",
    "Export to CSV times out",
    "Add two seats to our plan",
    "SSO login loops back to the start page",
    "Data processing agreement needed",
    "Email notifications arrive late",
];

const REPLIES: &[&str] = &[
    "Thanks for reaching out, we are looking into it.",
    "Could you send us a screenshot of the error?",
    "Here is the screenshot you asked for.",
    "We have passed this on to the team that owns it.",
    "That fixed it for us, thank you!",
    "It is still happening this morning.",
];

impl App {
    /// Whether the database has no users yet.
    pub async fn is_empty(&self) -> Result<bool> {
        let mut c = self.store().read().await?;
        let n = ferrodesk_store::directory::list_users(
            &mut c,
            &ferrodesk_store::directory::UserFilter {
                limit: 1,
                ..Default::default()
            },
        )
        .await?;
        Ok(n.is_empty())
    }

    /// Loads the demo data into an empty database.
    pub async fn load_demo(&self) -> Result<DemoLogins> {
        let sys = self.system_principal();
        let user = |name: &str, email: &str, role: Role, password: bool| UserIn {
            name: name.into(),
            email: email.into(),
            role: Some(role),
            ticket_scope: None,
            access: None,
            password: password.then(|| DEMO_PASSWORD.to_owned()),
            organization_ids: Vec::new(),
            default_organization_id: None,
            group_ids: Vec::new(),
        };
        let admin = self
            .create_user(
                &sys,
                user("Ada Admin", "admin@example.com", Role::Admin, true),
            )
            .await?;
        let agent = self
            .create_user(
                &sys,
                user("Sam Support", "agent@example.com", Role::Agent, true),
            )
            .await?;
        let finance_agent = self
            .create_user(
                &sys,
                UserIn {
                    ticket_scope: Some(TicketScope::Group),
                    ..user("Fiona Finance", "fiona@example.com", Role::Agent, false)
                },
            )
            .await?;
        let legal_agent = self
            .create_user(
                &sys,
                UserIn {
                    ticket_scope: Some(TicketScope::Assigned),
                    ..user("Leo Legal", "leo@example.com", Role::Agent, false)
                },
            )
            .await?;
        let mut groups = Vec::new();
        for (name, agents) in [
            ("Support", vec![admin.id, agent.id]),
            ("Finance", vec![finance_agent.id]),
            ("Legal", vec![legal_agent.id]),
            ("Engineering", vec![agent.id]),
        ] {
            groups.push(
                self.create_group(
                    &sys,
                    GroupIn {
                        name: Some(name.into()),
                        agent_ids: agents,
                    },
                )
                .await?,
            );
        }
        let mut orgs = Vec::new();
        for (name, domain) in [
            ("Acme Corp", "acme.example"),
            ("Globex", "globex.example"),
            ("Initech", "initech.example"),
        ] {
            orgs.push(
                self.create_organization(
                    &sys,
                    OrganizationIn {
                        name: Some(name.into()),
                        domain_names: Some(vec![domain.into()]),
                        notes: Some(format!("Key account. Main contact at {domain}.")),
                        ..OrganizationIn::default()
                    },
                )
                .await?,
            );
        }
        let people = [
            ("Alice Archer", "alice@acme.example", 0),
            ("Bob Baker", "bob@acme.example", 0),
            ("Carol Chen", "carol@acme.example", 0),
            ("Dan Diaz", "dan@globex.example", 1),
            ("Erin Evans", "erin@globex.example", 1),
            ("Frank Fox", "frank@initech.example", 2),
            ("Gina Gray", "gina@initech.example", 2),
            ("Hugo Hill", "hugo@personal.example", usize::MAX),
        ];
        let mut customers = Vec::new();
        for (i, (name, email, org)) in people.iter().enumerate() {
            let mut u = user(name, email, Role::EndUser, i == 0);
            if let Some(o) = orgs.get(*org) {
                u.organization_ids = vec![o.id];
            }
            if i == 2 {
                u.access = Some(UserAccess::Organization);
            }
            customers.push(self.create_user(&sys, u).await?);
        }
        let statuses = self.list_statuses(&sys).await?.items;
        let status_named = |n: &str| statuses.iter().find(|s| s.name == n).map(|s| s.id);
        let mut seed: u64 = 0x5eed;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as usize) % n
        };
        for i in 0..50 {
            let requester = &customers[next(customers.len())];
            let group = &groups[next(2)];
            let assignee = group.agent_ids.first().copied();
            let priority = Priority::ALL[next(Priority::ALL.len())];
            let ticket = self
                .create_ticket(
                    &sys,
                    TicketIn {
                        subject: format!("{} (#{})", SUBJECTS[i % SUBJECTS.len()], i + 1),
                        description: format!(
                            "Hello, {}. Regards, {}",
                            SUBJECTS[i % SUBJECTS.len()].to_lowercase(),
                            requester.name
                        ),
                        requester_id: Some(requester.id),
                        priority: Some(priority),
                        group_id: Some(group.id),
                        assignee_id: assignee,
                        ..TicketIn::default()
                    },
                )
                .await?;
            let requester_principal = self.principal_for(requester.id).await?;
            let agent_principal = self.principal_for(agent.id).await?;
            for r in 0..next(4) {
                let (who, public) = if r % 2 == 0 {
                    (&agent_principal, r != 2)
                } else {
                    (&requester_principal, true)
                };
                let body = REPLIES[next(REPLIES.len())].to_owned();
                self.add_comment(
                    who,
                    ferrodesk_core::TicketId(ticket.id),
                    CommentIn {
                        body,
                        public: Some(public),
                        upload_tokens: None,
                    },
                )
                .await?;
            }
            let status = [
                "Open",
                "Pending",
                "Resolved",
                "Closed",
                "Customer Responded",
            ][next(5)];
            let mut patch = TicketPatch {
                status_id: status_named(status),
                ..TicketPatch::default()
            };
            if status == "Customer Responded" && i % 2 == 0 {
                patch.internal_group_id = Some(Some(groups[1].id));
                patch.internal_agent_id = Some(Some(finance_agent.id));
            }
            self.update_ticket(&sys, ferrodesk_core::TicketId(ticket.id), None, patch)
                .await?;
        }
        Ok(DemoLogins {
            admin_email: admin.email.unwrap_or_default(),
            agent_email: agent.email.unwrap_or_default(),
            customer_email: customers[0].email.clone().unwrap_or_default(),
            password: DEMO_PASSWORD.into(),
        })
    }

    /// The principal of a user, for actions taken on their behalf by the demo and tests.
    pub async fn principal_for(&self, id: i64) -> Result<Principal> {
        let mut c = self.store().read().await?;
        self.principal(
            &mut c,
            ferrodesk_core::UserId(id),
            ferrodesk_core::Channel::Api,
        )
        .await?
        .ok_or(crate::AppError::NotFound("user"))
    }
}
