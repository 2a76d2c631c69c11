//! The JSON shapes of the API (`*In` for requests, `*Out` for answers), separate from the
//! stored records so that the API can stay stable while storage changes. Requests refuse
//! unknown fields.

use std::collections::BTreeMap;

use ferrodesk_core::{Channel, Priority, Role, Sharing, StatusCategory, TicketScope, UserAccess};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// Deserializes a field that may be absent (outer `None`), `null` (`Some(None)`) or a value.
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// RFC 3339 text of a stored timestamp.
pub fn rfc3339(micros: i64) -> String {
    jiff::Timestamp::from_microsecond(micros)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A count.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountOut {
    /// How many.
    pub count: i64,
}

// ---------------------------------------------------------------- auth

/// Password sign-in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    /// Email address.
    pub email: String,
    /// Password.
    pub password: String,
    /// With two-factor sign-in: the 6-digit code of the authenticator app, or a recovery code.
    #[serde(default)]
    pub code: Option<String>,
}

/// A two-factor set-up in progress: add the secret to an authenticator app, then confirm a code.
#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorSetupOut {
    /// The shared secret, base32 (for typing in).
    pub secret: String,
    /// The `otpauth://` link (for a QR code).
    pub otpauth_uri: String,
}

/// Where the caller's two-factor sign-in stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorStatusOut {
    /// Sign-in and new API tokens ask for a code.
    pub enabled: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: usize,
    /// An admin requires it of agents and admins, and the caller is one.
    pub required: bool,
}

/// A code from the authenticator app (or a recovery code).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TwoFactorCodeIn {
    /// The code.
    pub code: String,
}

/// Two-factor sign-in is on: the recovery codes, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodesOut {
    /// Each works once, in place of an app code.
    pub recovery_codes: Vec<String>,
}

/// A request for an API token.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIn {
    /// A name to recognise the token by.
    #[serde(default)]
    pub name: Option<String>,
    /// Days until the token stops working (1 to 3650); none: until revoked.
    #[serde(default)]
    pub expires_in_days: Option<i64>,
    /// With two-factor sign-in: a current code (or a recovery code).
    #[serde(default)]
    pub code: Option<String>,
}

/// An API token as its owner sees it: never the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenInfoOut {
    /// Token id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last used (RFC 3339; marked at most once a minute).
    pub last_used_at: Option<String>,
    /// When it stops working (RFC 3339), if it expires.
    pub expires_at: Option<String>,
}

/// A new API token: shown once, stored only as a hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    /// Token id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The secret, for `Authorization: Bearer …`.
    pub token: String,
}

// ---------------------------------------------------------------- users

/// A user as the API shows it. Fields that do not apply to the role are left out.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Email; left out when an end user looks at someone else.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Role.
    #[schema(value_type = String, example = "agent")]
    pub role: Role,
    /// Agents: `global`, `group` or `assigned`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub ticket_scope: Option<TicketScope>,
    /// End users: `requested` or `organization`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub access: Option<UserAccess>,
    /// Suspended.
    pub suspended: bool,
    /// Agents: whether an admin let them manage organization memberships and access.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manages_memberships: Option<bool>,
    /// End users' organizations.
    pub organization_ids: Vec<i64>,
    /// End users' default organization.
    pub default_organization_id: Option<i64>,
    /// Agents' groups.
    pub group_ids: Vec<i64>,
    /// The user's own time zone (an IANA name such as `Europe/Berlin`) in which pages show
    /// times to them; null: the desk's time zone (settings). Left out when someone other
    /// than staff looks at another user.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "Europe/Berlin")]
    pub time_zone: Option<Option<String>>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last changed (RFC 3339).
    pub updated_at: String,
}

/// A new user.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    /// Name.
    pub name: String,
    /// Email (unique, case-insensitive).
    pub email: String,
    /// Role; `end_user` when left out.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
    /// Agents' scope; `global` when left out.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub ticket_scope: Option<TicketScope>,
    /// End users' access; `requested` when left out.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub access: Option<UserAccess>,
    /// Password (8 characters or more), for users who sign in.
    #[serde(default)]
    pub password: Option<String>,
    /// End users: organizations to join.
    #[serde(default)]
    pub organization_ids: Vec<i64>,
    /// End users: the default one (one of `organization_ids`; the first when left out).
    #[serde(default)]
    pub default_organization_id: Option<i64>,
    /// Agents: groups to join.
    #[serde(default)]
    pub group_ids: Vec<i64>,
}

/// Changes to a user; fields left out stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// Role.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
    /// Agents' scope.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub ticket_scope: Option<TicketScope>,
    /// End users' access.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub access: Option<UserAccess>,
    /// Suspend (true) or reinstate (false); suspending ends sessions and tokens at once.
    #[serde(default)]
    pub suspended: Option<bool>,
    /// New password.
    #[serde(default)]
    pub password: Option<String>,
    /// Default organization (null clears).
    #[serde(default, deserialize_with = "double_option")]
    pub default_organization_id: Option<Option<i64>>,
    /// Agents: whether they may add customers to organizations, remove them and give them
    /// organization access (admins only).
    #[serde(default)]
    pub manages_memberships: Option<bool>,
    /// The user's own time zone, an IANA name (`Europe/Berlin`); null or empty: the desk's
    /// time zone. Admins set anyone's, everyone their own; an unknown name is refused (422).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = "Europe/Berlin")]
    pub time_zone: Option<Option<String>>,
}

// ---------------------------------------------------------------- organizations

/// An organization as agents see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationOut {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Email domains.
    pub domain_names: Vec<String>,
    /// Details (agents only; holds the sharing log lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Notes (agents only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Sharing mode.
    #[schema(value_type = String, example = "own_only")]
    pub sharing: Sharing,
    /// Sharing may not be enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing_blocked: Option<bool>,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing_blocked_reason: Option<String>,
    /// New end users with a matching domain join automatically.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_join_by_domain: Option<bool>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last changed (RFC 3339).
    pub updated_at: String,
}

/// A new organization, or changes to one (every field optional on PATCH).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationIn {
    /// Name (unique).
    #[serde(default)]
    pub name: Option<String>,
    /// Email domains.
    #[serde(default)]
    pub domain_names: Option<Vec<String>>,
    /// Details.
    #[serde(default)]
    pub details: Option<String>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Block sharing.
    #[serde(default)]
    pub sharing_blocked: Option<bool>,
    /// Why it is blocked.
    #[serde(default)]
    pub sharing_blocked_reason: Option<String>,
    /// Auto-join by domain.
    #[serde(default)]
    pub auto_join_by_domain: Option<bool>,
    /// Refused: sharing changes only through the sharing workflow.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub sharing: Option<Sharing>,
}

/// Adds a member: optionally as their default organization.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipIn {
    /// Make this the user's default organization.
    #[serde(default)]
    pub default: bool,
}

// ---------------------------------------------------------------- groups

/// A group of agents.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupOut {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Member agents.
    pub agent_ids: Vec<i64>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last changed (RFC 3339).
    pub updated_at: String,
}

/// A new group, or changes to one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupIn {
    /// Name (unique).
    #[serde(default)]
    pub name: Option<String>,
    /// Members (on create).
    #[serde(default)]
    pub agent_ids: Vec<i64>,
}

// ---------------------------------------------------------------- statuses

/// A status with its mapped internal groups.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusOut {
    /// Id.
    pub id: i64,
    /// Name agents see.
    pub name: String,
    /// Label customers see.
    pub customer_label: String,
    /// Category.
    #[schema(value_type = String, example = "open")]
    pub category: StatusCategory,
    /// Built in (cannot be deleted, renamed or mapped).
    pub built_in: bool,
    /// Order.
    pub position: i64,
    /// Groups that may be a ticket's internal group in this status.
    pub internal_group_ids: Vec<i64>,
    /// Every group, including ones created later.
    pub all_groups: bool,
}

// ---------------------------------------------------------------- tickets

/// A ticket. End users get no internal fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketOut {
    /// Id.
    pub id: i64,
    /// Subject.
    pub subject: String,
    /// Requester.
    pub requester_id: i64,
    /// Organization.
    pub organization_id: Option<i64>,
    /// Status name (end users: the customer label).
    pub status: String,
    /// Status id.
    pub status_id: i64,
    /// Status category.
    #[schema(value_type = String)]
    pub status_category: StatusCategory,
    /// Priority.
    #[schema(value_type = String, example = "normal")]
    pub priority: Priority,
    /// Group (agents only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<Option<i64>>,
    /// Assignee.
    pub assignee_id: Option<i64>,
    /// Internal group (agents only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_group_id: Option<Option<i64>>,
    /// Internal agent (agents only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_agent_id: Option<Option<i64>>,
    /// CC'd users.
    pub cc_ids: Vec<i64>,
    /// Tags (agents only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Custom fields by key.
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    /// How it came in.
    #[schema(value_type = String)]
    pub channel: Channel,
    /// The sharing pre-checks recorded on this ticket (agents only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing_check: Option<serde_json::Value>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last changed (RFC 3339).
    pub updated_at: String,
    /// Version for `If-Match`.
    pub version: i64,
}

/// A new ticket.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketIn {
    /// Subject.
    pub subject: String,
    /// The first comment.
    pub description: String,
    /// Whether the description is public (agents only; default true).
    #[serde(default)]
    pub public: Option<bool>,
    /// Requester (agents; end users are always the requester).
    #[serde(default)]
    pub requester_id: Option<i64>,
    /// Organization (one the requester belongs to; their default when left out).
    #[serde(default)]
    pub organization_id: Option<i64>,
    /// Status by name.
    #[serde(default)]
    pub status: Option<String>,
    /// Status by id.
    #[serde(default)]
    pub status_id: Option<i64>,
    /// Priority.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub priority: Option<Priority>,
    /// Group.
    #[serde(default)]
    pub group_id: Option<i64>,
    /// Assignee.
    #[serde(default)]
    pub assignee_id: Option<i64>,
    /// Internal group.
    #[serde(default)]
    pub internal_group_id: Option<i64>,
    /// Internal agent.
    #[serde(default)]
    pub internal_agent_id: Option<i64>,
    /// CC'd users.
    #[serde(default)]
    pub cc_ids: Option<Vec<i64>>,
    /// Tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Custom fields by key.
    #[serde(default)]
    pub custom_fields: Option<BTreeMap<String, serde_json::Value>>,
    /// Files to attach to the description: tokens of `POST /uploads`.
    #[serde(default)]
    pub upload_tokens: Option<Vec<String>>,
}

/// Changes to a ticket; fields left out stay, `null` clears.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    /// Subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// Requester.
    #[serde(default)]
    pub requester_id: Option<i64>,
    /// Organization.
    #[serde(default, deserialize_with = "double_option")]
    pub organization_id: Option<Option<i64>>,
    /// Status by name.
    #[serde(default)]
    pub status: Option<String>,
    /// Status by id.
    #[serde(default)]
    pub status_id: Option<i64>,
    /// Priority.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub priority: Option<Priority>,
    /// Group.
    #[serde(default, deserialize_with = "double_option")]
    pub group_id: Option<Option<i64>>,
    /// Assignee.
    #[serde(default, deserialize_with = "double_option")]
    pub assignee_id: Option<Option<i64>>,
    /// Internal group.
    #[serde(default, deserialize_with = "double_option")]
    pub internal_group_id: Option<Option<i64>>,
    /// Internal agent.
    #[serde(default, deserialize_with = "double_option")]
    pub internal_agent_id: Option<Option<i64>>,
    /// CC'd users (replaces the list).
    #[serde(default)]
    pub cc_ids: Option<Vec<i64>>,
    /// Tags (replaces the list).
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Custom fields to set (null clears one).
    #[serde(default)]
    pub custom_fields: Option<BTreeMap<String, serde_json::Value>>,
}

/// The same change to several tickets (agents and admins); each ticket is changed on its
/// own, so one refused leaves the others changed.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkTicketsIn {
    /// The tickets, 1 to 100.
    pub ids: Vec<i64>,
    /// What to set on each (as `PATCH /tickets/{id}`).
    #[serde(default)]
    pub changes: TicketPatch,
    /// Tags to add to each ticket's own tags.
    #[serde(default)]
    pub add_tags: Vec<String>,
    /// Tags to remove from each ticket's own tags.
    #[serde(default)]
    pub remove_tags: Vec<String>,
}

/// A comment as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentOut {
    /// Id.
    pub id: i64,
    /// Ticket.
    pub ticket_id: i64,
    /// Author.
    pub author_id: i64,
    /// Author's name.
    pub author_name: String,
    /// Text.
    pub body: String,
    /// Public reply or private note.
    pub public: bool,
    /// How it came in.
    #[schema(value_type = String)]
    pub channel: Channel,
    /// Created (RFC 3339).
    pub created_at: String,
    /// The inbound message it came in as (staff: `GET /mail/inbound/{id}/original`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_message_id: Option<i64>,
    /// Its files.
    pub attachments: Vec<AttachmentOut>,
}

/// A file of a comment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentOut {
    /// Id.
    pub id: i64,
    /// File name.
    pub file_name: String,
    /// Content type.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// Where to download it (`/api/v1/attachments/{id}`); none once redacted.
    pub url: Option<String>,
    /// Redacted: who and when, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redacted: Option<String>,
}

/// An upload waiting for its comment.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadOut {
    /// Give it in `upload_tokens` of a comment or ticket (by the same user, within a day).
    pub token: String,
    /// The file name as stored (made safe).
    pub file_name: String,
    /// Content type.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
}

/// A new comment.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentIn {
    /// Text.
    pub body: String,
    /// Public reply (default) or private note (agents only).
    #[serde(default)]
    pub public: Option<bool>,
    /// Files to attach: the tokens `POST /uploads` gave the same user (within a day).
    #[serde(default)]
    pub upload_tokens: Option<Vec<String>>,
}

/// One event of a ticket's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    /// Id.
    pub id: i64,
    /// Who: a user, a rule or the system.
    pub actor: ActorOut,
    /// Channel.
    pub via: String,
    /// When (RFC 3339).
    pub at: String,
    /// What happened.
    pub action: String,
    /// Each changed field, before and after.
    pub changes: Vec<ChangeOut>,
    /// Why, when nobody asked for the change directly.
    pub reason: Option<String>,
}

/// Who made a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActorOut {
    /// `user`, `rule` or `system`.
    pub kind: String,
    /// The user or rule id.
    pub id: Option<i64>,
    /// The user's or the rule's name.
    pub name: Option<String>,
}

/// One field's change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeOut {
    /// Field.
    pub field: String,
    /// Before.
    pub from: serde_json::Value,
    /// After.
    pub to: serde_json::Value,
    /// Before, in words, where `from` is an id or a list of ids: the name of the user,
    /// organization, group or status (names joined with ", " for a list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_label: Option<String>,
    /// After, in words (as `from_label`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_label: Option<String>,
}

// ---------------------------------------------------------------- settings

/// Account settings (admins).
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsOut {
    /// IANA time zone of the account (dates in sharing log lines).
    pub time_zone: String,
    /// The public base URL (links to tickets).
    pub public_base_url: String,
    /// The confirmation comment added by a sharing change (minijinja template).
    pub sharing_confirmation_template: String,
    /// Whether agents and admins must use two-factor sign-in: those without it can only set
    /// it up (or sign out) until they do.
    pub require_two_factor_for_staff: bool,
    /// Mail from an address no user has: `create` a new end user (default) or `refuse` it
    /// with a notice.
    pub mail_unknown_senders: String,
    /// An agent's email reply becomes a `public` reply (default) or a `private` note.
    pub mail_agent_replies: String,
    /// Addresses in Cc of a message that opens a ticket become its CCs.
    pub mail_copy_ccs: bool,
    /// Messages one sender may send a minute; more are kept but not taken in.
    pub mail_sender_limit_per_minute: i64,
    /// The SMTP server outgoing mail goes through, without its password (set with
    /// `FERRODESK_SMTP_URL`; read only here); none when mail stays queued.
    pub mail_smtp_server: Option<String>,
    /// The sender of outgoing mail (`FERRODESK_MAIL_FROM`; read only here).
    pub mail_from: String,
    /// Whether the MTA may hand over inbound mail (`FERRODESK_MAIL_INBOUND_TOKEN` is set).
    pub mail_inbound_enabled: bool,
}

/// Changes to the settings.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    /// IANA time zone, e.g. `Europe/Berlin`.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// `https://desk.example.com`.
    #[serde(default)]
    pub public_base_url: Option<String>,
    /// Template; variables: requester_name, organization_name, sharing, sharing_label,
    /// enabled, ticket_id, date, admin_name.
    #[serde(default)]
    pub sharing_confirmation_template: Option<String>,
    /// Make two-factor sign-in mandatory for agents and admins (the admin turning it on must
    /// use it already).
    #[serde(default)]
    pub require_two_factor_for_staff: Option<bool>,
    /// `create` or `refuse`.
    #[serde(default)]
    pub mail_unknown_senders: Option<String>,
    /// `public` or `private`.
    #[serde(default)]
    pub mail_agent_replies: Option<String>,
    /// Whether Cc addresses of a new ticket's message become CCs.
    #[serde(default)]
    pub mail_copy_ccs: Option<bool>,
    /// 1 to 10000.
    #[serde(default)]
    pub mail_sender_limit_per_minute: Option<i64>,
}

// ---------------------------------------------------------------- sharing

/// A request to change an organization's sharing, tied to the customer's request ticket.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SharingChangeIn {
    /// The ticket in which the customer asked for the change.
    pub ticket_id: i64,
    /// The new mode.
    #[schema(value_type = String, example = "read_only")]
    pub sharing: Sharing,
    /// The public comment in which a member confirmed the type.
    #[serde(default)]
    pub type_confirmed_comment_id: Option<i64>,
    /// The public comment in which a member approved the risk (enabling only; may be the same).
    #[serde(default)]
    pub risk_approved_comment_id: Option<i64>,
}

/// A recorded sharing change.
#[derive(Debug, Serialize, ToSchema)]
pub struct SharingChangeOut {
    /// Id.
    pub id: i64,
    /// Organization.
    pub organization_id: i64,
    /// The request ticket.
    pub ticket_id: i64,
    /// Its agent URL.
    pub ticket_url: String,
    /// Mode before.
    #[schema(value_type = String)]
    pub sharing_before: Sharing,
    /// Mode after.
    #[schema(value_type = String)]
    pub sharing_after: Sharing,
    /// Evidence: the type confirmation.
    pub type_confirmed_comment_id: i64,
    /// Who confirmed.
    pub type_confirmed_by: i64,
    /// Evidence: the risk approval.
    pub risk_approved_comment_id: Option<i64>,
    /// Who approved.
    pub risk_approved_by: Option<i64>,
    /// The checking admin.
    pub admin_id: i64,
    /// The line appended to the organization's details.
    pub details_line: String,
    /// When (RFC 3339).
    pub created_at: String,
}

/// One organization that shares.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterEntryOut {
    /// Organization.
    pub organization_id: i64,
    /// Its name.
    pub organization_name: String,
    /// Its mode.
    #[schema(value_type = String)]
    pub sharing: Sharing,
    /// Since when (RFC 3339), when set through the workflow.
    pub since: Option<String>,
    /// As per which ticket.
    pub ticket_id: Option<i64>,
    /// Its agent URL.
    pub ticket_url: Option<String>,
    /// The admin who made the change.
    pub admin_id: Option<i64>,
    /// When the mode arrived with an import and no workflow change followed: from where
    /// ("imported from Zendesk (acme.zendesk.com)"); `since` is then the import's time.
    pub imported: Option<String>,
}

/// What a sharing change would do, before anyone makes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SharingPreviewOut {
    /// Organization.
    pub organization_id: i64,
    /// Mode now.
    #[schema(value_type = String)]
    pub sharing_from: Sharing,
    /// Mode previewed.
    #[schema(value_type = String)]
    pub sharing_to: Sharing,
    /// End users who would see tickets they cannot see today.
    pub users_gaining_access: i64,
    /// Distinct tickets they would newly see.
    pub tickets_newly_visible: i64,
    /// End users who would lose sight of tickets they see today.
    pub users_losing_access: i64,
    /// Distinct tickets they would no longer see.
    pub tickets_no_longer_visible: i64,
    /// End users who would be able to comment on colleagues' tickets they can only read today.
    pub users_gaining_comment: i64,
    /// Up to 10 affected users, with how many tickets change for each.
    pub sample: Vec<PreviewUserOut>,
}

/// One affected user in a preview.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewUserOut {
    /// User.
    pub user_id: i64,
    /// Name.
    pub name: String,
    /// Tickets newly visible (positive) or no longer visible (negative).
    pub tickets: i64,
}

// ---------------------------------------------------------------- access

/// One user who may see a ticket, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessEntryOut {
    /// User.
    pub user_id: i64,
    /// Name.
    pub name: String,
    /// Role.
    #[schema(value_type = String)]
    pub role: Role,
    /// May they comment?
    pub can_comment: bool,
    /// The row of the policy that applies (`requester`, `organization_read_only`, …).
    pub reason: String,
    /// The same, for people.
    pub explanation: String,
}

/// The answer for one user and one ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainOut {
    /// User.
    pub user_id: i64,
    /// Ticket.
    pub ticket_id: i64,
    /// May they view it?
    pub can_view: bool,
    /// May they comment?
    pub can_comment: bool,
    /// The policy row, when they may view.
    pub reason: Option<String>,
    /// Why, for people.
    pub explanation: String,
}

/// A new custom status, or changes to a status (every field optional on PATCH).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusIn {
    /// Name agents see (unique).
    #[serde(default)]
    pub name: Option<String>,
    /// Label customers see (the name when left out).
    #[serde(default)]
    pub customer_label: Option<String>,
    /// `open`, `pending` or `resolved`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub category: Option<StatusCategory>,
    /// Order in lists.
    #[serde(default)]
    pub position: Option<i64>,
    /// Groups that may own tickets in this status internally.
    #[serde(default)]
    pub internal_group_ids: Option<Vec<i64>>,
    /// Every group, including ones created later.
    #[serde(default)]
    pub all_groups: Option<bool>,
}

// ---------------------------------------------------------------- rules

/// A rule as sent by admins (every field optional on PATCH).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleIn {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Inactive rules never fire (default true).
    #[serde(default)]
    pub active: Option<bool>,
    /// Order of evaluation (default: last).
    #[serde(default)]
    pub position: Option<i64>,
    /// Events: `{"type": "comment_added", "public": true}`, `{"type": "field_changed", "field": "status", "to": "Pending"}`, …
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub events: Option<Vec<ferrodesk_core::rules::EventSpec>>,
    /// `anyone`, `agent`, `end_user` or `system`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub performed_by: Option<ferrodesk_core::rules::PerformedBy>,
    /// `{"all": [{"field", "operator", "value"}], "any": [...]}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub conditions: Option<ferrodesk_core::rules::Conditions>,
    /// `[{"field": "status", "value": "Open"}, …]`.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub actions: Option<Vec<ferrodesk_core::rules::Action>>,
}

/// A warning about a saved rule.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleWarning {
    /// `removes_shared_ownership`.
    pub code: String,
    /// For people.
    pub message: String,
    /// The groups whose tickets the rule would take from their internal owner.
    pub group_ids: Vec<i64>,
}

/// A rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleOut {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Active.
    pub active: bool,
    /// Order.
    pub position: i64,
    /// Events.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<ferrodesk_core::rules::EventSpec>,
    /// Performer.
    #[schema(value_type = String)]
    pub performed_by: ferrodesk_core::rules::PerformedBy,
    /// Conditions.
    #[schema(value_type = Object)]
    pub conditions: ferrodesk_core::rules::Conditions,
    /// Actions.
    #[schema(value_type = Vec<Object>)]
    pub actions: Vec<ferrodesk_core::rules::Action>,
    /// Warnings (on save): e.g. the rule would remove shared ownership.
    pub warnings: Vec<RuleWarning>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last changed (RFC 3339).
    pub updated_at: String,
}

/// A simulation request: a ticket and an event.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateIn {
    /// The ticket.
    pub ticket_id: i64,
    /// The event, as in a rule: `{"type": "comment_added", "public": true}`,
    /// `{"type": "field_changed", "field": "status", "from": "Open", "to": "Pending"}`.
    #[schema(value_type = Object)]
    pub event: ferrodesk_core::rules::EventSpec,
    /// Who performs it (default `agent`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub performed_by: Option<ferrodesk_core::rules::PerformedBy>,
}

/// What one rule did (or would do).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleRunOut {
    /// Rule.
    pub rule_id: i64,
    /// Its name.
    pub rule_name: String,
    /// The pass in which it fired (1 = reacting to the original change).
    pub pass: i64,
    /// Field changes.
    #[schema(value_type = Vec<Object>)]
    pub changes: Vec<ferrodesk_core::audit::FieldChange>,
    /// Private notes it adds.
    pub notes: Vec<String>,
    /// Notifications it queues.
    #[schema(value_type = Vec<Object>)]
    pub notifications: Vec<serde_json::Value>,
    /// Why its change was refused, when it was (nothing of it applied).
    pub error: Option<String>,
}

/// A simulation's result: nothing was saved.
#[derive(Debug, Serialize, ToSchema)]
pub struct SimulateOut {
    /// Each rule that fired, in order.
    pub runs: Vec<RuleRunOut>,
    /// Rules that would have fired again and were stopped (a loop).
    pub stopped: Vec<i64>,
}

// ---------------------------------------------------------------- custom fields

/// A custom ticket field.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldOut {
    /// Id.
    pub id: i64,
    /// Key used in `custom_fields`.
    pub key: String,
    /// Title.
    pub title: String,
    /// `text`, `number`, `checkbox`, `dropdown` or `date`.
    pub field_type: String,
    /// Dropdown options.
    pub options: Vec<String>,
    /// Inactive fields accept no new values.
    pub active: bool,
    /// Order.
    pub position: i64,
}

/// A new custom field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldIn {
    /// Key: lowercase letters, digits and `_`, starting with a letter.
    pub key: String,
    /// Title.
    pub title: String,
    /// `text`, `number`, `checkbox`, `dropdown` or `date`.
    pub field_type: String,
    /// Dropdown options.
    #[serde(default)]
    pub options: Vec<String>,
}

// ---------------------------------------------------------------- views

/// How a view sorts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewSort {
    /// `updated_at` or `created_at`.
    pub by: String,
    /// `asc` or `desc`.
    pub order: String,
}

/// A new view, or changes to one (every field optional on PATCH).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewIn {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// `personal` (default), `group` or `everyone` (admins).
    #[serde(default)]
    pub visibility: Option<String>,
    /// The group of a `group` view.
    #[serde(default)]
    pub group_id: Option<i64>,
    /// `{"all": [...], "any": [...]}` with `{field, operator, value}`; values may be `me` and `my_groups`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub conditions: Option<ferrodesk_core::rules::Conditions>,
    /// Sort.
    #[serde(default)]
    pub sort: Option<ViewSort>,
    /// Columns to show.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
}

/// A view.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewOut {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// `personal`, `group` or `everyone`.
    pub visibility: String,
    /// Owner (personal views).
    pub owner_id: Option<i64>,
    /// Group (group views).
    pub group_id: Option<i64>,
    /// One of the default views.
    pub built_in: bool,
    /// Conditions.
    #[schema(value_type = Object)]
    pub conditions: ferrodesk_core::rules::Conditions,
    /// Sort.
    pub sort: ViewSort,
    /// Columns.
    pub columns: Vec<String>,
}

/// A view's ticket count.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewCountOut {
    /// View.
    pub view_id: i64,
    /// Its name.
    pub name: String,
    /// Tickets in it that the caller may see.
    pub count: i64,
}

/// A new macro, or changes to one (every field optional on PATCH; `null` clears a property
/// to set). Applying a macro fills the reply and the properties for review: nothing is
/// written until the agent sends.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MacroIn {
    /// Name, 1 to 100 characters.
    #[serde(default)]
    pub name: Option<String>,
    /// `personal` (default), `group` or `everyone` (admins).
    #[serde(default)]
    pub visibility: Option<String>,
    /// The group of a `group` macro (who may use it).
    #[serde(default)]
    pub group_id: Option<i64>,
    /// The reply or note text, 1 to 65,536 characters.
    #[serde(default)]
    pub body: Option<String>,
    /// A public reply (default) or a private note (`false`).
    #[serde(default)]
    pub public: Option<bool>,
    /// Status to set.
    #[serde(default, deserialize_with = "double_option")]
    pub set_status_id: Option<Option<i64>>,
    /// Priority to set: `low`, `normal`, `high` or `urgent`.
    #[serde(default, deserialize_with = "double_option")]
    pub set_priority: Option<Option<String>>,
    /// Group to assign the ticket to.
    #[serde(default, deserialize_with = "double_option")]
    pub set_group_id: Option<Option<i64>>,
    /// Internal group to share the ticket with (mapped to `set_status_id` when both are set).
    #[serde(default, deserialize_with = "double_option")]
    pub set_internal_group_id: Option<Option<i64>>,
    /// Tags to add to the ticket's tags (at most 20).
    #[serde(default)]
    pub add_tags: Option<Vec<String>>,
}

/// A macro.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MacroOut {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// `personal`, `group` or `everyone`.
    pub visibility: String,
    /// Owner (personal macros).
    pub owner_id: Option<i64>,
    /// Group (group macros).
    pub group_id: Option<i64>,
    /// The reply or note text.
    pub body: String,
    /// A public reply (true) or a private note.
    pub public: bool,
    /// Status to set.
    pub set_status_id: Option<i64>,
    /// Priority to set.
    pub set_priority: Option<String>,
    /// Group to assign the ticket to.
    pub set_group_id: Option<i64>,
    /// Internal group to share the ticket with.
    pub set_internal_group_id: Option<i64>,
    /// Tags to add.
    pub add_tags: Vec<String>,
    /// Whether the caller may change or delete it.
    pub editable: bool,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last changed (RFC 3339).
    pub updated_at: String,
}

/// A message of the outbox, as admins see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxJobOut {
    /// Id.
    pub id: i64,
    /// What it is, in words ("Public reply", "New ticket acknowledgement", …).
    pub message: String,
    /// The ticket it is about.
    pub ticket_id: Option<i64>,
    /// Who it is for, when one person (name), or whom a rule notifies.
    pub recipient: Option<String>,
    /// `pending`, `failed` or `done`.
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Next attempt (pending messages, RFC 3339).
    pub next_attempt_at: Option<String>,
    /// Why the last attempt failed (the SMTP server's answer).
    pub last_error: Option<String>,
    /// Queued (RFC 3339).
    pub created_at: String,
}

/// Outbox listing parameters.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Not delivered yet.
    #[default]
    Pending,
    /// Given up.
    Failed,
    /// Delivered.
    Done,
}

/// What became of an inbound message.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboundOut {
    /// The record of the message (admins and agents open its original).
    pub id: i64,
    /// `created` (a new ticket), `commented` (added to a ticket), `suppressed` (automatic
    /// mail, never answered), `refused` (by the access policy or a setting) or `rejected`.
    pub outcome: String,
    /// Why it was not taken in, in words.
    pub reason: Option<String>,
    /// The ticket it opened or was added to.
    pub ticket_id: Option<i64>,
    /// The comment it became.
    pub comment_id: Option<i64>,
    /// The same message (by Message-ID) was taken in before: nothing was written now.
    pub duplicate: bool,
}

/// An inbound message as admins see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboundMessageOut {
    /// Id.
    pub id: i64,
    /// The sender's address.
    pub from: Option<String>,
    /// Subject.
    pub subject: String,
    /// `created`, `commented`, `suppressed`, `refused` or `rejected`.
    pub outcome: String,
    /// What became of it, in words.
    pub outcome_label: String,
    /// Why it was not taken in, in words.
    pub reason: Option<String>,
    /// Its ticket.
    pub ticket_id: Option<i64>,
    /// The comment it became.
    pub comment_id: Option<i64>,
    /// Bytes.
    pub size: i64,
    /// Received (RFC 3339).
    pub received_at: String,
}

/// Which inbound messages a listing shows.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum InboundFilter {
    /// Suppressed, refused and rejected: what needs a look (default).
    #[default]
    NotTakenIn,
    /// Tickets and comments.
    TakenIn,
    /// All.
    All,
}

/// A mail template, as admins see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MailTemplateOut {
    /// Its name (`public_reply`, `ticket_created`, `ticket_solved`, `internal_owner_removed`,
    /// `rule_notification`, `refusal_notice`).
    pub name: String,
    /// What the message is, in words.
    pub label: String,
    /// The subject (minijinja).
    pub subject: String,
    /// The text (minijinja; the HTML part is this text, escaped).
    pub body: String,
    /// The variables the template may use.
    pub variables: Vec<String>,
    /// Whether an admin changed it (else it is the built-in one).
    pub customized: bool,
}

/// A changed mail template.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailTemplateIn {
    /// The subject (minijinja), 1 to 500 characters.
    pub subject: String,
    /// The text (minijinja), 1 to 20000 characters.
    pub body: String,
}
