"""An everyday python-freshdesk (1.3.9) integration against Ferrodesk's Freshdesk-compatible
API (`/freshdesk/api/v2`), with an admin's API token (Basic TOKEN:anything).

Environment: FD_BASE (http://127.0.0.1:PORT), FD_ADMIN_EMAIL, FD_ADMIN_TOKEN,
FD_CUSTOMER_EMAIL, FD_CUSTOMER_TOKEN. Run by tests/vendor_clients.rs.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import Checks, env, expect_raises, unique_word  # noqa: E402

from freshdesk.api import API  # noqa: E402
from freshdesk.v2.errors import FreshdeskAccessDenied, FreshdeskNotFound, FreshdeskUnauthorized  # noqa: E402
from freshdesk.v2.models import Agent, Comment, Ticket  # noqa: E402

BASE = env("FD_BASE").rstrip("/")
ADMIN_EMAIL = env("FD_ADMIN_EMAIL")
ADMIN_TOKEN = env("FD_ADMIN_TOKEN")
CUSTOMER_EMAIL = env("FD_CUSTOMER_EMAIL")
CUSTOMER_TOKEN = env("FD_CUSTOMER_TOKEN")

c = Checks("freshdesk_everyday")
S = c.state


def client(token):
    # python-freshdesk refuses domains without "freshdesk.com" and always builds
    # https://{domain}/api/v2/; pointing `_api_prefix` at the server is the documented way round.
    a = API("ferrodesk.freshdesk.com", token)
    a._api_prefix = BASE + "/freshdesk/api/v2/"
    c.watch(a._session)
    return a


api = client(ADMIN_TOKEN)
WORD = unique_word("fresh")
OTHER_WORD = unique_word("fresh")


def ids_of(objects):
    ids = [o.id for o in objects]
    assert all(isinstance(i, int) for i in ids), "ids are integers: %r" % ids[:10]
    assert len(ids) == len(set(ids)), "nothing twice: %d ids, %d distinct" % (len(ids), len(set(ids)))
    return ids


def me():
    agent = api.agents.currently_authenticated_agent()
    assert isinstance(agent, Agent)
    assert agent.contact["email"].lower() == ADMIN_EMAIL.lower(), "agents/me is the admin: %r" % agent.contact
    return "agent %s (%s), ticket_scope %s" % (agent.id, agent.contact["email"], getattr(agent, "ticket_scope", None))


def wrong_token_refused():
    bad = client("not-a-token")
    e = expect_raises(FreshdeskUnauthorized, bad.agents.currently_authenticated_agent, "agents/me with a wrong key")
    return "FreshdeskUnauthorized: %s" % e


def list_contacts():
    contacts = api.contacts.list_contacts()
    ids_of(contacts)
    by_email = {(x.email or "").lower(): x for x in contacts}
    assert CUSTOMER_EMAIL.lower() in by_email, "the customer is a contact"
    me = by_email[CUSTOMER_EMAIL.lower()]
    assert isinstance(me.view_all_tickets, bool), "view_all_tickets is a boolean: %r" % me.view_all_tickets
    S.customer_contact_id = me.id
    S.customer_company_id = me.company_id
    others = [x for x in contacts if x.company_id is not None and x.company_id != me.company_id]
    assert others, "a contact of another company exists (demo data)"
    S.other_contact_id = others[0].id
    return "%d contacts; the customer is %s (company %s, view_all_tickets %s)" % (
        len(contacts),
        me.id,
        me.company_id,
        me.view_all_tickets,
    )


def get_contact():
    x = api.contacts.get_contact(S.customer_contact_id)
    assert x.id == S.customer_contact_id and x.email.lower() == CUSTOMER_EMAIL.lower(), (x.id, x.email)
    return "contact %s: %s" % (x.id, x.name)


def list_companies():
    companies = api.companies.list_companies()
    ids = ids_of(companies)
    assert S.customer_company_id in ids, "the customer's company %s is listed: %r" % (S.customer_company_id, ids)
    one = api.companies.get_company(S.customer_company_id)
    assert one.id == S.customer_company_id
    return "%d companies: %s" % (len(companies), ", ".join(x.name for x in companies))


def list_agents():
    agents = api.agents.list_agents()
    ids_of(agents)
    emails = [a.contact["email"].lower() for a in agents]
    assert ADMIN_EMAIL.lower() in emails, "the admin is an agent: %r" % emails
    scopes = {a.ticket_scope for a in agents}
    assert scopes <= {1, 2, 3}, "ticket_scope 1 global / 2 group / 3 restricted: %r" % scopes
    return "%d agents, ticket scopes %s" % (len(agents), sorted(scopes))


def list_groups():
    groups = api.groups.list_groups()
    ids = ids_of(groups)
    assert groups, "the demo has groups"
    one = api.groups.get_group(ids[0])
    assert one.id == ids[0] and one.name == groups[0].name
    return "%d groups: %s" % (len(groups), ", ".join(g.name for g in groups))


def ticket_fields():
    fields = api.ticket_fields.list_ticket_fields()
    by_name = {f.name: f for f in fields}
    assert "status" in by_name, "a status field: %r" % sorted(by_name)
    choices = by_name["status"].choices
    assert {"2", "3", "4", "5"} <= set(map(str, choices)), "Open 2, Pending 3, Resolved 4, Closed 5: %r" % choices
    return "%d fields; status choices %s" % (len(fields), choices)


def list_tickets_before():
    S.tickets_before = ids_of(api.tickets.list_tickets(filter_name=None))
    assert S.tickets_before, "the demo has tickets"
    return "%d tickets" % len(S.tickets_before)


def list_tickets_small_pages():
    n = len(c.all_statuses)
    ids = ids_of(api.tickets.list_tickets(filter_name=None, per_page=2))
    pages = len(c.all_statuses) - n
    assert sorted(ids) == sorted(S.tickets_before), "per_page=2 gives the same tickets (%d vs %d)" % (
        len(ids),
        len(S.tickets_before),
    )
    assert pages >= 2, "several pages: %d" % pages
    return "%d tickets in %d pages of 2 (page=1,2,… until a short page)" % (len(ids), pages)


def create_ticket():
    t = api.tickets.create_ticket(
        "Scanner %s is offline" % WORD,
        email=CUSTOMER_EMAIL,
        description="The scanner in room 4 shows no network.",
        priority=2,
        status=2,
    )
    assert isinstance(t, Ticket) and isinstance(t.id, int), t
    assert t.status == "open" and t.priority == "medium", "open / medium: %s / %s" % (t.status, t.priority)
    assert t.requester_id == S.customer_contact_id, "requester %r" % t.requester_id
    S.ticket_id = t.id
    return "ticket %s" % t.id


def create_ticket_by_requester_id():
    t = api.tickets.create_ticket(
        "Invoice %s of another company" % OTHER_WORD,
        requester_id=S.other_contact_id,
        description="For the other company only.",
        priority=3,
        status=2,
    )
    assert t.requester_id == S.other_contact_id and t.priority == "high", (t.requester_id, t.priority)
    S.other_ticket_id = t.id
    return "ticket %s for contact %s" % (t.id, S.other_contact_id)


def list_tickets_after():
    ids = ids_of(api.tickets.list_tickets(filter_name=None))
    assert len(ids) == len(S.tickets_before) + 2, "before %d + 2 = %d, listed %d" % (
        len(S.tickets_before),
        len(S.tickets_before) + 2,
        len(ids),
    )
    assert {S.ticket_id, S.other_ticket_id} <= set(ids)
    return "%d tickets" % len(ids)


def get_ticket():
    t = api.tickets.get_ticket(S.ticket_id)
    assert t.id == S.ticket_id and WORD in t.subject, t.subject
    text = getattr(t, "description_text", None) or getattr(t, "description", "")
    assert "room 4" in text, "description: %r" % text
    return "%r, status %s, priority %s" % (t.subject, t.status, t.priority)


def update_status():
    t = api.tickets.update_ticket(S.ticket_id, status=3)
    assert t.status == "pending", "status after update: %s" % t.status
    assert api.tickets.get_ticket(S.ticket_id).status == "pending", "read back"
    return "status 3 (pending)"


def reply():
    r = api.comments.create_reply(S.ticket_id, "We have restarted the scanner.")
    assert isinstance(r, Comment) and r.private is False, "a public reply: private=%r" % r.private
    assert r.ticket_id == S.ticket_id
    return "conversation %s" % r.id


def note():
    n = api.comments.create_note(S.ticket_id, "Internal: cable was loose.", private=True)
    assert isinstance(n, Comment) and n.private is True, "a private note: private=%r" % n.private
    return "conversation %s" % n.id


def list_conversations():
    conv = api.comments.list_comments(S.ticket_id)
    seen = [(x.body_text, x.private) for x in conv]
    texts = {x.body_text: x.private for x in conv}
    assert texts.get("We have restarted the scanner.") is False, "the reply, public: %r" % seen
    assert texts.get("Internal: cable was loose.") is True, "the note, private: %r" % seen
    return "%r" % seen


def filter_tickets():
    found = ids_of(api.tickets.filter_tickets(query="status:3"))
    assert S.ticket_id in found, "search/tickets?query=\"status:3\" finds the pending ticket: %r" % found
    assert S.other_ticket_id not in found, "not the open one"
    for t in api.tickets.filter_tickets(query="status:3"):
        assert t.status == "pending", (t.id, t.status)
    return "%d pending tickets" % len(found)


def missing_ticket():
    expect_raises(FreshdeskNotFound, lambda: api.tickets.get_ticket(987654321), "get_ticket(987654321)")
    return "FreshdeskNotFound"


def customer_key():
    # Freshdesk contacts have no API key; a Ferrodesk end user's token may be refused outright,
    # and must never show another company's ticket.
    a = client(CUSTOMER_TOKEN)
    try:
        ids = ids_of(a.tickets.list_tickets(filter_name=None))
    except FreshdeskAccessDenied as e:
        return "refused (403): %s" % e
    assert S.other_ticket_id not in ids, "an end user's key lists another company's ticket %s" % S.other_ticket_id
    expect_raises(FreshdeskNotFound, lambda: a.tickets.get_ticket(S.other_ticket_id), "end user get_ticket")
    return "lists %d tickets, not the other company's; get_ticket -> FreshdeskNotFound" % len(ids)


c.check("agents/me", me)
c.check("wrong API key refused", wrong_token_refused)
c.check("list contacts", list_contacts)
c.check("get contact", get_contact, needs=("customer_contact_id",))
c.check("list and get companies", list_companies, needs=("customer_company_id",))
c.check("list agents", list_agents)
c.check("list and get groups", list_groups)
c.check("ticket fields", ticket_fields)
c.check("list all tickets", list_tickets_before)
c.check("list all tickets, pages of 2", list_tickets_small_pages, needs=("tickets_before",))
c.check("create ticket by email", create_ticket, needs=("customer_contact_id",))
c.check("create ticket by requester_id", create_ticket_by_requester_id, needs=("other_contact_id",))
c.check("list all tickets again, count grew by 2", list_tickets_after, needs=("tickets_before", "ticket_id", "other_ticket_id"))
c.check("get ticket", get_ticket, needs=("ticket_id",))
c.check("update status to pending", update_status, needs=("ticket_id",))
c.check("reply", reply, needs=("ticket_id",))
c.check("private note", note, needs=("ticket_id",))
c.check("list conversations", list_conversations, needs=("ticket_id",))
c.check("filter tickets by status", filter_tickets, needs=("ticket_id", "other_ticket_id"))
c.check("missing ticket", missing_ticket)
c.check("end user's key", customer_key, needs=("other_ticket_id",))
c.finish()
