"""An everyday zenpy (2.0.57) integration against Ferrodesk's Zendesk-compatible API
(`/zendesk/api/v2`), as an admin (email/token) and as an end user (email/token).

Environment: FD_BASE (http://127.0.0.1:PORT), FD_ADMIN_EMAIL, FD_ADMIN_TOKEN,
FD_CUSTOMER_EMAIL, FD_CUSTOMER_TOKEN, and optionally FD_ADMIN_PASSWORD (the admin's sign-in
password, to check that password Basic auth is refused) and FD_DEMO_TICKETS_AGE_SECONDS (see
below). Run by tests/vendor_clients.rs.
"""

import json
import os
import sys
import time
from urllib.parse import urlparse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import Checks, env, expect_raises, unique_word  # noqa: E402

BASE = env("FD_BASE").rstrip("/")
ADMIN_EMAIL = env("FD_ADMIN_EMAIL")
ADMIN_TOKEN = env("FD_ADMIN_TOKEN")
CUSTOMER_EMAIL = env("FD_CUSTOMER_EMAIL")
CUSTOMER_TOKEN = env("FD_CUSTOMER_TOKEN")
ADMIN_PASSWORD = os.environ.get("FD_ADMIN_PASSWORD")
# Set when the demo's tickets were dated this many seconds back (more than the minute the
# incremental export leaves out): then the export must return every one of them.
DEMO_TICKETS_AGE = os.environ.get("FD_DEMO_TICKETS_AGE_SECONDS")

# zenpy always builds https://{subdomain}.{domain}/api/v2; these two variables (read on every
# request, zenpy/lib/api.py _build_url/base_url) point it at the server and its /zendesk prefix.
_url = urlparse(BASE)
os.environ["ZENPY_FORCE_SCHEME"] = _url.scheme
os.environ["ZENPY_FORCE_NETLOC"] = _url.netloc + "/zendesk"

from zenpy import Zenpy  # noqa: E402
from zenpy.lib.api_objects import Comment, Request, Ticket, TicketAudit  # noqa: E402
from zenpy.lib.exception import APIException, RecordNotFoundException  # noqa: E402

c = Checks("zenpy_everyday")
S = c.state


def client(**auth):
    z = Zenpy(subdomain="ferrodesk", **auth)
    c.watch(z.users.session)  # one session shared by every API of this client
    return z


admin = client(email=ADMIN_EMAIL, token=ADMIN_TOKEN)
customer = client(email=CUSTOMER_EMAIL, token=CUSTOMER_TOKEN)
WORD = unique_word("zenpy")  # in the subject of the ticket created below, for search
OTHER_WORD = unique_word("zenpy")


def status_of(e):
    return e.response.status_code if getattr(e, "response", None) is not None else None


def ids_of(objects):
    ids = [o.id for o in objects]
    assert all(isinstance(i, int) for i in ids), "ids are integers: %r" % ids[:10]
    assert len(ids) == len(set(ids)), "nothing twice: %d ids, %d distinct" % (len(ids), len(set(ids)))
    return ids


# -- as the admin --------------------------------------------------------------------------------


def me():
    user = admin.users.me()
    assert user.email.lower() == ADMIN_EMAIL.lower(), "me is the admin: %r" % user.email
    assert user.role == "admin", "role admin: %r" % user.role
    S.admin_id = user.id
    return "id %s, role %s" % (user.id, user.role)


def bearer_token():
    user = client(oauth_token=ADMIN_TOKEN).users.me()
    assert user.email.lower() == ADMIN_EMAIL.lower(), user.email
    return "Authorization: Bearer TOKEN is accepted too"


def wrong_token_refused():
    z = client(email=ADMIN_EMAIL, token="not-a-token")
    e = expect_raises(APIException, z.users.me, "users.me() with a wrong token")
    assert status_of(e) == 401, "401, got %s: %s" % (status_of(e), e)
    return "401: %s" % e


def password_refused():
    z = Zenpy(subdomain="ferrodesk", email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
    c.watch(z.users.session)
    e = expect_raises(APIException, z.users.me, "users.me() with email:password Basic auth")
    assert status_of(e) == 401, "401, got %s: %s" % (status_of(e), e)
    return "401 for the admin's real password"


def customer_me():
    user = customer.users.me()
    assert user.email.lower() == CUSTOMER_EMAIL.lower(), user.email
    assert user.role == "end-user", "role end-user: %r" % user.role
    S.customer_id = user.id
    S.customer_org_id = user.organization_id
    return "id %s, organization %s, ticket_restriction %r" % (
        user.id,
        user.organization_id,
        getattr(user, "ticket_restriction", "(absent)"),
    )


def list_tickets_before():
    S.tickets_before = ids_of(list(admin.tickets()))
    assert S.tickets_before, "the demo has tickets"
    return "%d tickets (page[size]=100)" % len(S.tickets_before)


def list_tickets_small_pages():
    n = len(c.all_statuses)
    ids = ids_of(list(admin.tickets(cursor_pagination=7)))
    pages = len(c.all_statuses) - n
    assert sorted(ids) == sorted(S.tickets_before), "page[size]=7 gives the same tickets (%d vs %d)" % (
        len(ids),
        len(S.tickets_before),
    )
    if len(ids) > 7:
        assert pages >= 2, "several pages were fetched: %d" % pages
    return "%d tickets in %d pages of 7 (links.next followed while meta.has_more)" % (len(ids), pages)


def list_users():
    users = list(admin.users())
    emails = {(u.email or "").lower(): u for u in users}
    assert ADMIN_EMAIL.lower() in emails and CUSTOMER_EMAIL.lower() in emails, "admin and customer listed"
    roles = {u.role for u in users}
    assert roles <= {"end-user", "agent", "admin"}, "Zendesk role names: %r" % roles
    customer_user = emails[CUSTOMER_EMAIL.lower()]
    assert customer_user.id == S.customer_id, "the customer's id as the admin sees it"
    # Someone the customer must not see: an end user of another organization.
    others = [
        u
        for u in users
        if u.role == "end-user" and u.organization_id is not None and u.organization_id != S.customer_org_id
    ]
    assert others, "an end user of another organization exists (demo data)"
    S.other_user_id = others[0].id
    return "%d users, roles %s; other-organization end user %s" % (len(users), sorted(roles), others[0].email)


def list_organizations():
    orgs = list(admin.organizations())
    ids = [o.id for o in orgs]
    assert S.customer_org_id in ids, "the customer's organization %s is listed: %r" % (S.customer_org_id, ids)
    for o in orgs:
        assert isinstance(o.shared_tickets, bool) and isinstance(o.shared_comments, bool), (
            "shared_tickets/shared_comments are booleans on %s" % o.name
        )
    return "%d organizations: %s" % (len(orgs), ", ".join(o.name for o in orgs))


def create_ticket():
    audit = admin.tickets.create(
        Ticket(
            subject="Printer %s is jammed" % WORD,
            description="The printer on floor 2 shows error 42.",
            requester_id=S.customer_id,
        )
    )
    assert isinstance(audit, TicketAudit), "create answers ticket + audit: %r" % audit
    t = audit.ticket
    assert isinstance(t.id, int), t.id
    assert WORD in t.subject, t.subject
    assert t.requester_id == S.customer_id, "requester %r" % t.requester_id
    assert t.status in ("new", "open"), "status new/open: %r" % t.status
    S.ticket_id = t.id
    return "ticket %s (status %s, audit %s)" % (t.id, t.status, getattr(audit.audit, "id", None))


def create_ticket_for_other_organization():
    audit = admin.tickets.create(
        Ticket(
            subject="Contract %s for another company" % OTHER_WORD,
            description="Not for the customer's eyes.",
            requester_id=S.other_user_id,
        )
    )
    S.other_ticket_id = audit.ticket.id
    return "ticket %s for user %s" % (audit.ticket.id, S.other_user_id)


def lazy_requester():
    admin.purge_cache("ticket")
    admin.purge_cache("user")  # so that ticket.requester asks the server
    t = admin.tickets(id=S.ticket_id)
    assert t.id == S.ticket_id
    assert t.requester.email.lower() == CUSTOMER_EMAIL.lower(), "ticket.requester: %r" % t.requester.email
    return "tickets(id=) then ticket.requester (GET users/{id}) -> %s" % t.requester.email


def list_tickets_after():
    ids = ids_of(list(admin.tickets()))
    created = {S.ticket_id, S.other_ticket_id}
    assert len(ids) == len(S.tickets_before) + 2, "before %d + 2 created = %d, listed %d" % (
        len(S.tickets_before),
        len(S.tickets_before) + 2,
        len(ids),
    )
    assert created <= set(ids), "the created tickets are listed"
    return "%d tickets = %d + 2" % (len(ids), len(S.tickets_before))


def private_comment():
    t = admin.tickets(id=S.ticket_id)
    t.comment = Comment(body="Internal: replaced the fuser unit.", public=False)
    audit = admin.tickets.update(t)
    assert isinstance(audit, TicketAudit), "update answers ticket + audit: %r" % audit
    assert audit.ticket.id == S.ticket_id
    S.ticket = t
    return "PUT with comment {public: false}"


def status_pending():
    t = S.ticket
    t.status = "pending"
    audit = admin.tickets.update(t)
    assert audit.ticket.status == "pending", "status after update: %r" % audit.ticket.status
    admin.purge_cache("ticket")
    again = admin.tickets(id=S.ticket_id)
    assert again.status == "pending", "status read back: %r" % again.status
    return "status pending (custom_status_id %s)" % getattr(again, "custom_status_id", None)


def read_comments():
    comments = list(admin.tickets.comments(ticket=S.ticket_id))
    seen = [(cm.body, cm.public) for cm in comments]
    assert len(comments) == 2, "description + private note: %r" % seen
    assert "error 42" in comments[0].body and comments[0].public is True, "first: the public description %r" % (seen[0],)
    assert "fuser" in comments[1].body and comments[1].public is False, "second: the private note %r" % (seen[1],)
    return "%r" % seen


def search():
    results = list(admin.search(WORD, type="ticket"))
    ids = [r.id for r in results]
    assert ids == [S.ticket_id], "search %r finds exactly the created ticket: %r" % (WORD, ids)
    assert isinstance(results[0], Ticket), type(results[0]).__name__
    return "search(%r, type='ticket') -> %r" % (WORD, ids)


def incremental_export():
    n = len(c.all_statuses)
    seen = []
    for t in admin.tickets.incremental(start_time=0, per_page=20):
        assert isinstance(t, Ticket) and isinstance(t.id, int), "a ticket with an id: %r" % t
        seen.append(t.id)
        assert len(seen) <= 10 * (len(S.tickets_before) + 10), "the export does not end"
    pages = len(c.all_statuses) - n
    known = set(S.tickets_before) | {S.ticket_id, S.other_ticket_id}
    assert set(seen) <= known, "only known tickets: %r" % sorted(set(seen) - known)
    if DEMO_TICKETS_AGE:
        # Zendesk leaves out the last minute's changes; the demo tickets were dated back, so
        # every one of them is due, over several pages of 20.
        missing = set(S.tickets_before) - set(seen)
        why = ""
        try:
            end_time = json.loads(c.last_text or "{}").get("end_time")
        except ValueError:
            end_time = None
        if missing and end_time:
            why = (
                "; the last page carried end_time=%s (%d s ago) and zenpy stops following pages whose"
                " end_time is less than 5 minutes old (zenpy/lib/generator.py"
                " ZendeskResultGenerator.get_next_page); Zendesk's cursor export has no end_time"
                % (end_time, time.time() - int(end_time))
            )
        assert not missing, "all %d tickets last changed %s s ago are exported: %d missing after %d page(s) of 20%s" % (
            len(S.tickets_before),
            DEMO_TICKETS_AGE,
            len(missing),
            pages,
            why,
        )
    return "%d tickets in %d page(s) of 20, to the end of the stream" % (len(seen), pages)


def custom_statuses():
    statuses = list(admin.custom_statuses())
    cats = {s.status_category for s in statuses}
    assert cats <= {"new", "open", "pending", "hold", "solved"}, "Zendesk categories: %r" % cats
    assert {"open", "pending", "solved"} <= cats, "open, pending and solved exist: %r" % cats
    for s in statuses:
        assert s.agent_label and s.end_user_label is not None, "labels on %r" % s.id
    return ", ".join("%s (%s)" % (s.agent_label, s.status_category) for s in statuses)


def ticket_fields():
    fields = list(admin.ticket_fields())
    for f in fields:
        assert isinstance(f.id, int) and f.type and f.title, "id, type and title on %r" % f.to_dict()
    return "%d fields: %s" % (len(fields), ", ".join("%s (%s)" % (f.title, f.type) for f in fields))


def sharing_not_by_put():
    org = admin.organizations(id=S.customer_org_id)
    was = org.shared_comments
    org.shared_comments = not was
    e = expect_raises(APIException, lambda: admin.organizations.update(org), "PUT organization shared_comments")
    assert status_of(e) == 422, "422, got %s" % status_of(e)
    assert "sharing-changes" in str(e), "the error points at sharing-changes: %s" % e
    admin.purge_cache("organization")
    assert admin.organizations(id=S.customer_org_id).shared_comments == was, "unchanged"
    return "422: %s" % str(e)[:200]


def missing_ticket():
    expect_raises(RecordNotFoundException, lambda: admin.tickets(id=987654321), "tickets(id=987654321)")
    return "RecordNotFoundException"


# -- as the end user -----------------------------------------------------------------------------


def customer_requests():
    ids = ids_of(list(customer.requests()))
    assert S.ticket_id in ids, "the ticket created for the customer is one of their requests: %r" % ids
    assert S.other_ticket_id not in ids, "not the other organization's ticket"
    S.customer_requests = ids
    return "%d requests, including %s" % (len(ids), S.ticket_id)


def customer_sees_no_private_note():
    comments = list(customer.requests.comments(S.ticket_id))
    bodies = [cm.body for cm in comments]
    assert any("error 42" in b for b in bodies), "the public description is shown: %r" % bodies
    assert not any("fuser" in b for b in bodies), "the agent's private note is not shown: %r" % bodies
    return "comments on request %s: %r" % (S.ticket_id, bodies)


def customer_creates_request():
    r = customer.requests.create(
        Request(subject="Badge %s stopped working" % OTHER_WORD[::-1], comment=Comment(body="My door badge is dead."))
    )
    assert isinstance(r, Request), "a request: %r" % r
    assert isinstance(r.id, int), r.id
    assert r.requester_id == S.customer_id, "requester is the customer: %r" % r.requester_id
    S.request = r
    return "request %s (status %s)" % (r.id, r.status)


def customer_comments_on_request():
    r = S.request
    r.comment = Comment(body="Tried another door, same thing.")
    customer.requests.update(r)
    bodies = [cm.body for cm in customer.requests.comments(r.id)]
    assert len(bodies) == 2 and "badge is dead" in bodies[0] and "another door" in bodies[1], bodies
    admin.purge_cache("ticket")
    t = admin.tickets(id=r.id)
    assert t.requester_id == S.customer_id and t.subject == r.subject, "the agent sees it as a ticket"
    return "comments %r" % bodies


def customer_cannot_list_tickets():
    e = expect_raises(APIException, lambda: list(customer.tickets()), "end user GET /tickets.json")
    assert not isinstance(e, RecordNotFoundException) and status_of(e) == 403, "403, got %s: %s" % (status_of(e), e)
    return "403: %s" % str(e)[:200]


def customer_cannot_see_other_ticket():
    expect_raises(
        RecordNotFoundException,
        lambda: customer.requests(id=S.other_ticket_id),
        "end user GET /requests/%s.json (another organization's ticket)" % S.other_ticket_id,
    )
    e = expect_raises(
        APIException,
        lambda: customer.tickets(id=S.other_ticket_id),
        "end user GET /tickets/%s.json" % S.other_ticket_id,
    )
    assert status_of(e) in (403, 404), "403 or 404, got %s" % status_of(e)
    return "requests(id=%s) -> RecordNotFoundException; tickets(id=) -> %s" % (S.other_ticket_id, status_of(e))


c.check("admin: users.me()", me)
c.check("admin: Bearer token", bearer_token)
c.check("wrong API token refused", wrong_token_refused)
if ADMIN_PASSWORD:
    c.check("email:password Basic auth refused", password_refused)
c.check("customer: users.me()", customer_me)
c.check("admin: list all tickets", list_tickets_before)
c.check("admin: list all tickets, small cursor pages", list_tickets_small_pages, needs=("tickets_before",))
c.check("admin: list users", list_users, needs=("customer_id",))
c.check("admin: list organizations", list_organizations, needs=("customer_org_id",))
c.check("admin: create ticket", create_ticket, needs=("customer_id",))
c.check("admin: create ticket for another organization", create_ticket_for_other_organization, needs=("other_user_id",))
c.check("admin: ticket.requester (lazy user)", lazy_requester, needs=("ticket_id",))
c.check(
    "admin: list all tickets again, count grew by 2",
    list_tickets_after,
    needs=("tickets_before", "ticket_id", "other_ticket_id"),
)
c.check("admin: update with private comment", private_comment, needs=("ticket_id",))
c.check("admin: change status to pending", status_pending, needs=("ticket",))
c.check("admin: read comments", read_comments, needs=("ticket",))
c.check("admin: search by a word of the subject", search, needs=("ticket_id",))
c.check("admin: incremental export to the end", incremental_export, needs=("tickets_before", "ticket_id", "other_ticket_id"))
c.check("admin: custom statuses", custom_statuses)
c.check("admin: ticket fields", ticket_fields)
c.check("admin: organization sharing cannot be changed by PUT", sharing_not_by_put, needs=("customer_org_id",))
c.check("admin: missing ticket", missing_ticket)
c.check("customer: list my requests", customer_requests, needs=("ticket_id", "other_ticket_id"))
c.check("customer: no private note on their request", customer_sees_no_private_note, needs=("ticket",))
c.check("customer: create a request", customer_creates_request, needs=("customer_id",))
c.check("customer: comment on the request", customer_comments_on_request, needs=("request",))
c.check("customer: agent-only ticket list is refused", customer_cannot_list_tickets)
c.check("customer: another organization's ticket is not found", customer_cannot_see_other_ticket, needs=("other_ticket_id",))
c.finish()
