#!/usr/bin/env python3
"""A fake Zendesk account for the importer's tests, written from Zendesk's documented shapes
(developer.zendesk.com, zenpy's recorded responses; see docs in
/work/shared/reference/vendor-apis-and-email.md §1) — none of Ferrodesk's extras (no
`internal_group_ids`/`all_groups` on statuses, no `key` on ticket fields, no `sharing`, no
`organization_ids` on users, no `internal_group_id` on tickets).

    python3 fake_zendesk.py PORT        prints "ready" once it listens on 127.0.0.1:PORT

Behaviour, all deterministic:
* Basic `EMAIL/token:TOKEN` (ADMIN_EMAIL, TOKEN below) or 401 {"error":"Couldn't authenticate you"}.
* Every 7th authenticated request answers 429 with `Retry-After: 1`.
* The first request for the second page of the incremental ticket export answers 500 once.
* FAKE_BREAK_AFTER=N: after N ticket comment requests were answered, every request answers 503
  (an outage the importer cannot wait out), so an import fails part-way.
* FAKE_LOG=FILE: one line per request, "STATUS PATH?QUERY".
* Cursor lists (organizations, users, memberships) honour page[size] up to PAGE_CAP (smaller than
  Zendesk's 100 so that the importer's page[size]=100 still gets several pages); the incremental
  export gives at most 10 tickets a page whatever per_page asks; comments come 2 a page
  (offset pages) — a server may always give fewer than asked.
* The incremental export is Zendesk's: it includes a deleted ticket (status "deleted") unless
  exclude_deleted=true, and one ticket twice (it changed while the export ran).
"""

import base64
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

ADMIN_EMAIL = "ada.admin@zfake.example"
TOKEN = "zd-fake-token-0123456789"
PAGE_CAP = 2
EXPORT_CAP = 10
COMMENTS_PER_PAGE = 2

BREAK_AFTER = int(os.environ["FAKE_BREAK_AFTER"]) if os.environ.get("FAKE_BREAK_AFTER") else None
LOG = os.environ.get("FAKE_LOG")


def ts(y, mo, d, h=9, mi=0):
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, mo, d, h, mi, 0)


# ---------------------------------------------------------------------------- the account

GROUPS = [
    {"id": 20001, "name": "Support", "description": "First line", "default": True,
     "deleted": False, "is_public": True, "created_at": ts(2016, 1, 4), "updated_at": ts(2016, 1, 4)},
    {"id": 20002, "name": "Billing", "description": "", "default": False,
     "deleted": False, "is_public": True, "created_at": ts(2016, 2, 1), "updated_at": ts(2017, 5, 3)},
]

GROUP_MEMBERSHIPS = [
    {"id": 21001, "user_id": 900001, "group_id": 20001, "default": True},
    {"id": 21002, "user_id": 900002, "group_id": 20001, "default": True},
    {"id": 21003, "user_id": 900002, "group_id": 20002, "default": False},
    {"id": 21004, "user_id": 900003, "group_id": 20002, "default": True},
]


def status(sid, category, agent, end_user, default, description=""):
    return {"id": sid, "status_category": category, "agent_label": agent,
            "raw_agent_label": agent, "end_user_label": end_user,
            "raw_end_user_label": end_user, "description": description,
            "raw_description": description, "end_user_description": "",
            "raw_end_user_description": "", "active": True, "default": default,
            "created_at": ts(2022, 6, 1), "updated_at": ts(2022, 6, 1)}


# Zendesk's five defaults, and one an admin added.
CUSTOM_STATUSES = [
    status(30001, "new", "New", "Open", True, "Ticket is awaiting assignment to an agent"),
    status(30002, "open", "Open", "Open", True, "Staff is working on the ticket"),
    status(30003, "pending", "Pending", "Awaiting your reply", True,
           "Staff is waiting for the requester to reply"),
    status(30004, "hold", "On-hold", "Open", True,
           "Staff is waiting for a third party"),
    status(30005, "solved", "Solved", "Solved", True, "The ticket has been solved"),
    status(30006, "pending", "Waiting on vendor", "Waiting on a supplier", False,
           "The vendor has the ball"),
]


def system_field(fid, ftype, title, position):
    return {"id": fid, "type": ftype, "title": title, "raw_title": title,
            "description": "", "raw_description": "", "position": position, "active": True,
            "required": ftype == "subject", "collapsed_for_agents": False,
            "regexp_for_validation": None, "title_in_portal": title,
            "raw_title_in_portal": title, "visible_in_portal": True,
            "editable_in_portal": ftype in ("subject", "description"),
            "required_in_portal": False, "tag": None, "removable": False,
            "agent_description": None, "created_at": ts(2016, 1, 4), "updated_at": ts(2016, 1, 4)}


TICKET_FIELDS = [
    system_field(40101, "subject", "Subject", 1),
    system_field(40102, "description", "Description", 2),
    dict(system_field(40103, "status", "Status", 3), system_field_options=[
        {"name": "Open", "value": "open"}, {"name": "Pending", "value": "pending"},
        {"name": "Solved", "value": "solved"}]),
    system_field(40104, "custom_status", "Ticket status", 4),
    system_field(40105, "tickettype", "Type", 5),
    system_field(40106, "priority", "Priority", 6),
    system_field(40107, "group", "Group", 7),
    system_field(40108, "assignee", "Assignee", 8),
    dict(system_field(40001, "tagger", "Product line", 9), removable=True,
         custom_field_options=[
             {"id": 41001, "name": "Printers", "raw_name": "Printers",
              "value": "product_printers", "default": False},
             {"id": 41002, "name": "Scanners", "raw_name": "Scanners",
              "value": "product_scanners", "default": False},
             {"id": 41003, "name": "Copiers::Colour", "raw_name": "Copiers::Colour",
              "value": "product_copiers_colour", "default": False},
         ]),
    dict(system_field(40002, "text", "Serial number", 10), removable=True),
]

ORGANIZATIONS = [
    # shared_tickets, shared_comments: false/false, true/false, true/true.
    {"id": 50001, "name": "Acme Printing", "shared_tickets": False, "shared_comments": False,
     "domain_names": ["acme.example"], "details": "Key account since 2016", "notes": "",
     "tags": ["key_account"]},
    {"id": 50002, "name": "Globex", "shared_tickets": True, "shared_comments": False,
     "domain_names": ["globex.example"], "details": "", "notes": "Call before 5pm", "tags": []},
    {"id": 50003, "name": "Initech", "shared_tickets": True, "shared_comments": True,
     "domain_names": [], "details": None, "notes": None, "tags": ["tps"]},
]
for _o in ORGANIZATIONS:
    _o.update({"external_id": None, "group_id": None, "organization_fields": {},
               "created_at": ts(2016, 3, 1), "updated_at": ts(2018, 7, 2)})

ORGANIZATION_MEMBERSHIPS = [
    {"id": 60001, "user_id": 900004, "organization_id": 50001, "default": True},
    {"id": 60002, "user_id": 900005, "organization_id": 50002, "default": True},
    {"id": 60003, "user_id": 900006, "organization_id": 50002, "default": None},
    {"id": 60004, "user_id": 900006, "organization_id": 50003, "default": True},
    {"id": 60005, "user_id": 900008, "organization_id": 50001, "default": True},
]
for _m in ORGANIZATION_MEMBERSHIPS:
    _m.update({"created_at": ts(2016, 4, 1), "updated_at": ts(2016, 4, 1),
               "organization_name": next(o["name"] for o in ORGANIZATIONS
                                         if o["id"] == _m["organization_id"])})


def user(uid, name, email, role, restriction, org=None, suspended=False):
    return {"id": uid, "name": name, "email": email, "role": role,
            "role_type": None, "custom_role_id": None,
            "ticket_restriction": restriction, "organization_id": org,
            "restricted_agent": role != "end-user" and restriction is not None,
            "only_private_comments": False, "moderator": role == "admin",
            "suspended": suspended, "active": True, "verified": email is not None,
            "shared": False, "shared_agent": False, "default_group_id": None,
            "phone": "+15555550107" if email is None else None, "alias": "",
            "details": "", "notes": "", "signature": None, "tags": [], "user_fields": {},
            "time_zone": "Europe/Berlin", "iana_time_zone": "Europe/Berlin",
            "locale": "en-US", "locale_id": 1, "external_id": None, "photo": None,
            "two_factor_auth_enabled": False, "report_csv": role == "admin",
            "last_login_at": ts(2023, 1, 5), "created_at": ts(2016, 1, 4),
            "updated_at": ts(2023, 1, 5)}


USERS = [
    user(900001, "Ada Admin", ADMIN_EMAIL, "admin", None),
    user(900002, "Greg Global", "greg.global@zfake.example", "agent", None),
    user(900003, "Gina Groups", "gina.groups@zfake.example", "agent", "groups"),
    user(900004, "Alice Acme", "Alice@Acme.example", "end-user", "requested", 50001),
    user(900005, "Olga Globex", "olga@globex.example", "end-user", "organization", 50002),
    user(900006, "Ivan Initech", "ivan@initech.example", "end-user", "organization", 50003),
    user(900007, "Nora Phone", None, "end-user", "requested"),
    user(900008, "Sam Suspended", "sam@acme.example", "end-user", "requested", 50001, True),
    user(900009, "Pat Public", "pat@mail.example", "end-user", "requested"),
    # An address Ferrodesk refuses: the importer's page of users falls back to one by one.
    user(900010, "Bea Broken", "bea broken@zfake", "end-user", "requested"),
]

USER_BY_ID = {u["id"]: u for u in USERS}

# ---------------------------------------------------------------------------- tickets

TAGGER, SERIAL = 40001, 40002


def ticket(tid, subject, requester, day, **kw):
    """A ticket created on 2019-03-DAY, with its comments as (author, public, body); its
    updated_at is set by the export's order (_build)."""
    month, d = 3, day
    created = ts(2019, month, d, 8, 30)
    req = USER_BY_ID[requester]
    comments = kw.pop("comments", None) or [(requester, True, "Hello, %s." % subject.lower())]
    fields = kw.pop("fields", {})
    status_word, custom_status = kw.pop("status", ("open", 30002))
    t = {
        "id": tid, "external_id": None, "type": kw.pop("type", None),
        "subject": subject, "raw_subject": subject,
        "description": comments[0][2], "priority": kw.pop("priority", "normal"),
        "status": status_word, "custom_status_id": custom_status,
        "recipient": None, "requester_id": requester, "submitter_id": requester,
        "assignee_id": kw.pop("assignee", None),
        "organization_id": kw.pop("org", req["organization_id"]),
        "group_id": kw.pop("group", None),
        "collaborator_ids": kw.pop("ccs", []), "follower_ids": [], "email_cc_ids": [],
        "forum_topic_id": None, "problem_id": None, "has_incidents": False,
        "is_public": any(c[1] for c in comments), "due_at": None,
        "tags": kw.pop("tags", []),
        "custom_fields": [{"id": TAGGER, "value": fields.get(TAGGER)},
                          {"id": SERIAL, "value": fields.get(SERIAL)}],
        "satisfaction_rating": None, "sharing_agreement_ids": [], "followup_ids": [],
        "ticket_form_id": 360000001, "brand_id": 360000002,
        "allow_channelback": False, "allow_attachments": True, "from_messaging_channel": False,
        "via": {"channel": kw.pop("channel", "web"), "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": created, "updated_at": created, "generated_timestamp": 0,
    }
    t["fields"] = t["custom_fields"]
    assert not kw, kw
    thread = []
    for n, (author, public, body) in enumerate(comments):
        cid = tid * 100 + n + 1
        plain = body.replace("**", "")
        thread.append({
            "id": cid, "type": "Comment", "author_id": author, "body": body,
            "html_body": "<div class=\"zd-comment\" dir=\"auto\"><p>%s</p></div>" % plain,
            "plain_body": plain, "public": public, "attachments": [], "audit_id": cid * 10,
            "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
            "metadata": {"system": {"client": "Mozilla/5.0", "ip_address": "192.0.2.7"},
                         "custom": {}},
            "created_at": ts(2019, month, d, 8 + n, 30 + n),
        })
    return t, thread


ALICE, OLGA, IVAN, NORA, SAM, PAT = 900004, 900005, 900006, 900007, 900008, 900009
GREG, GINA, ADA = 900002, 900003, 900001

_SPECIAL = {
    1002: dict(subject="Printer jams on tray 2", requester=ALICE,
               tags=["printer", "jam"], ccs=[GREG, SAM], priority="high",
               group=20001, assignee=GREG, channel="email",
               fields={TAGGER: "product_printers", SERIAL: "SN-2002-77"},
               comments=[(ALICE, True, "Tray 2 jams on every **second** page."),
                         (GREG, True, "Could you send a photo of the tray?"),
                         (GREG, False, "Internal: known defect, see RMA list."),
                         (ALICE, True, "Photo attached, thanks."),
                         (GINA, False, "Billing: warranty still valid until 2020.")]),
    1003: dict(subject="Call me back", requester=NORA, channel="voice",
               comments=[(NORA, True, "Voicemail transcript: please call back.")]),
    1004: dict(subject="Colour copier quote", requester=OLGA,
               fields={TAGGER: "product_copiers_colour"}, tags=["quote"],
               group=20002, assignee=GINA),
    1005: dict(subject="Waiting for spare part", requester=ALICE, status=("hold", 30004),
               comments=[(ALICE, True, "When does the part arrive?"),
                         (GREG, False, "Part ordered, ETA two weeks.")]),
    1007: dict(subject="Scanner driver crash", requester=IVAN, status=("pending", 30006),
               fields={TAGGER: "product_scanners", SERIAL: "SC-7"}, tags=["driver"],
               comments=[(IVAN, True, "The driver crashes on Windows 10."),
                         (GREG, True, "We asked the vendor for a fix."),
                         (GREG, False, "Vendor ticket V-1234.")]),
    1008: dict(subject="Invoice question", requester=IVAN, org=50002,
               group=20002, assignee=GINA, ccs=[OLGA]),
    1009: dict(subject="Old toner order", requester=SAM, status=("closed", 30005)),
    1011: dict(subject="New ticket nobody answered", requester=PAT, status=("new", 30001),
               priority=None),
    1012: dict(subject="Password reset", requester=PAT, status=("solved", 30005),
               priority="low"),
    1014: dict(subject="Please wait for us", requester=OLGA, status=("pending", 30003)),
}

_ROTATION = [ALICE, OLGA, IVAN, PAT]


def _build():
    tickets, comments = [], {}
    for tid in range(1001, 1026):
        spec = dict(_SPECIAL.get(tid) or dict(subject="Question number %d" % (tid - 1000),
                                             requester=_ROTATION[tid % 4]))
        subject, requester = spec.pop("subject"), spec.pop("requester")
        t, thread = ticket(tid, subject, requester, tid - 1000, **spec)
        tickets.append(t)
        comments[tid] = thread
    # 1025 was deleted in Zendesk: the export still lists it.
    tickets[-1]["status"] = "deleted"
    # The export is ordered by updated_at; 1004 changed while it ran and comes again.
    for i, t in enumerate(tickets):
        t["updated_at"] = ts(2020, 1 + i // 28, 1 + i % 28, 12)
    again = dict(tickets[3], updated_at=ts(2021, 2, 2, 12))
    tickets.append(again)
    return tickets, comments


TICKETS, COMMENTS = _build()

# ---------------------------------------------------------------------------- the server


class State:
    lock = threading.Lock()
    requests = 0
    comment_requests = 0
    failed_once = False
    broken = False


def log(status, target):
    if LOG:
        with State.lock, open(LOG, "a") as f:
            f.write("%d %s\n" % (status, target))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, code, body, headers=()):
        raw = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        if code < 300:
            self.send_header("X-Rate-Limit", "700")
            self.send_header("X-Rate-Limit-Remaining", "650")
            self.send_header("ratelimit-limit", "700")
            self.send_header("ratelimit-remaining", "650")
            self.send_header("ratelimit-reset", "42")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)
        log(code, self.path)

    def base(self):
        return "http://%s/api/v2" % (self.headers.get("Host") or self.server_address_text)

    def authorized(self):
        want = "Basic " + base64.b64encode(
            ("%s/token:%s" % (ADMIN_EMAIL, TOKEN)).encode()).decode()
        return self.headers.get("Authorization") == want

    def do_GET(self):
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        path = url.path
        if path.endswith(".json"):
            path = path[:-5]
        if not path.startswith("/api/v2/"):
            return self.send_json(404, {"error": "InvalidEndpoint", "description": "Not found"})
        path = path[len("/api/v2"):]
        if not self.authorized():
            return self.send_json(401, {"error": "Couldn't authenticate you"})
        is_comments = path.startswith("/tickets/") and path.endswith("/comments")
        with State.lock:
            State.requests += 1
            n = State.requests
            if BREAK_AFTER is not None and State.comment_requests >= BREAK_AFTER:
                State.broken = True
            broken = State.broken
        if broken:
            return self.send_json(503, {"error": "ServiceUnavailable",
                                        "description": "Service temporarily unavailable"})
        if n % 7 == 0:
            return self.send_json(429, {"error": "APIRateLimitExceeded",
                                        "description": "Number of allowed API requests per minute exceeded"},
                                  [("Retry-After", "1")])
        if path == "/incremental/tickets/cursor" and q.get("cursor") == self.cursor_for(EXPORT_CAP):
            with State.lock:
                first = not State.failed_once
                State.failed_once = True
            if first:
                return self.send_json(500, {"error": "InternalError",
                                            "description": "Something went wrong"})
        if is_comments:
            with State.lock:
                State.comment_requests += 1
        return self.route(path, q)

    # -- routes

    def route(self, path, q):
        b = self.base()
        if path == "/users/me":
            return self.send_json(200, {"user": self.with_url(USERS[0], "users")})
        if path == "/groups":
            return self.cursor_list("groups", GROUPS, q, "groups")
        if path == "/group_memberships":
            return self.cursor_list("group_memberships", GROUP_MEMBERSHIPS, q,
                                    "group_memberships")
        if path == "/custom_statuses":
            return self.send_json(200, {"custom_statuses": [
                self.with_url(s, "custom_statuses") for s in CUSTOM_STATUSES]})
        if path == "/ticket_fields":
            return self.send_json(200, {"ticket_fields": [
                self.with_url(f, "ticket_fields") for f in TICKET_FIELDS],
                "next_page": None, "previous_page": None, "count": len(TICKET_FIELDS)})
        if path == "/organizations":
            return self.cursor_list("organizations", ORGANIZATIONS, q, "organizations")
        if path == "/organization_memberships":
            return self.cursor_list("organization_memberships", ORGANIZATION_MEMBERSHIPS, q,
                                    "organization_memberships")
        if path == "/users":
            return self.cursor_list("users", USERS, q, "users")
        if path == "/incremental/tickets/cursor":
            return self.export(q)
        if path.startswith("/tickets/") and path.endswith("/comments"):
            tid = path[len("/tickets/"):-len("/comments")]
            if not tid.isdigit() or int(tid) not in COMMENTS:
                return self.send_json(404, {"error": "RecordNotFound", "description": "Not found"})
            return self.offset_list("tickets/%s/comments" % tid, COMMENTS[int(tid)], q,
                                    "comments")
        return self.send_json(404, {"error": "InvalidEndpoint", "description": "Not found"})

    def with_url(self, obj, kind):
        return dict(obj, url="%s/%s/%d.json" % (self.base(), kind, obj["id"]))

    def cursor_list(self, endpoint, items, q, key):
        size = int(q.get("page[size]", "100"))
        if size > 100:
            return self.send_json(400, {"error": "InvalidPaginationParameter",
                                        "description": "page[size] is limited to 100"})
        size = min(size, PAGE_CAP)
        after = q.get("page[after]")
        start = int(base64.b64decode(after).decode()) if after else 0
        page = items[start:start + size]
        more = start + size < len(items)
        after_cursor = base64.b64encode(str(start + size).encode()).decode() if page else None
        before_cursor = base64.b64encode(str(start).encode()).decode() if page else None
        link = lambda params: "%s/%s.json?%s" % (self.base(), endpoint, urlencode(params))
        # Records of their own endpoint carry their url; comments have none.
        return self.send_json(200, {
            key: [i if "/" in endpoint else self.with_url(i, endpoint) for i in page],
            "meta": {"has_more": more, "after_cursor": after_cursor,
                     "before_cursor": before_cursor},
            "links": {"next": link({"page[after]": after_cursor, "page[size]": size}) if more else None,
                      "prev": link({"page[before]": before_cursor, "page[size]": size})
                      if start > 0 else None},
        })

    def offset_list(self, endpoint, items, q, key):
        if "page[size]" in q:
            return self.cursor_list(endpoint, items, q, key)
        per_page = min(int(q.get("per_page", "100")), COMMENTS_PER_PAGE)
        page = int(q.get("page", "1"))
        start = (page - 1) * per_page
        link = lambda p: "%s/%s.json?%s" % (self.base(), endpoint,
                                            urlencode({"page": p, "per_page": per_page}))
        return self.send_json(200, {
            key: items[start:start + per_page],
            "next_page": link(page + 1) if start + per_page < len(items) else None,
            "previous_page": link(page - 1) if page > 1 else None,
            "count": len(items),
        })

    @staticmethod
    def cursor_for(offset):
        return base64.b64encode(("%d.0||%d" % (offset, offset)).encode()).decode()

    def export(self, q):
        if "cursor" in q:
            try:
                start = int(base64.b64decode(q["cursor"]).decode().split("||")[1])
            except Exception:
                return self.send_json(400, {"error": "InvalidValue",
                                            "description": "Invalid cursor"})
        elif "start_time" in q:
            start = 0  # every ticket of the fake changed after any start_time it gets
        else:
            return self.send_json(400, {"error": "InvalidValue",
                                        "description": "start_time or cursor is required"})
        per_page = min(int(q.get("per_page", "1000")), 1000, EXPORT_CAP)
        stream = [t for t in TICKETS
                  if not (q.get("exclude_deleted") == "true" and t["status"] == "deleted")]
        page = stream[start:start + per_page]
        end = start + per_page
        cursor = self.cursor_for(min(end, len(stream)))
        return self.send_json(200, {
            "tickets": [self.with_url(t, "tickets") for t in page],
            "after_url": "%s/incremental/tickets/cursor.json?%s"
                         % (self.base(), urlencode({"cursor": cursor})),
            "after_cursor": cursor,
            "before_url": None if start == 0 else "%s/incremental/tickets/cursor.json?%s"
                         % (self.base(), urlencode({"cursor": self.cursor_for(start)})),
            "before_cursor": None if start == 0 else self.cursor_for(start),
            "end_of_stream": end >= len(stream),
        })


def main():
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.server_address_text = "127.0.0.1:%d" % port
    Handler.server_address_text = server.server_address_text
    print("ready", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
