"""How the vendor clients meet Ferrodesk's rate limit, against a server started with a low
per-credential limit (FERRODESK_RATE_PER_CREDENTIAL=1: one request a second, bursts of 2):
zenpy waits out a 429 (its integer Retry-After) and retries until it succeeds; python-freshdesk
raises FreshdeskRateLimited. No successful answer carries Retry-After (node-zendesk turns any
answer with Retry-After into an error).

Environment: FD_BASE, FD_ADMIN_EMAIL, FD_ADMIN_TOKEN. Run by tests/vendor_clients.rs.
"""

import os
import sys
import time
from urllib.parse import urlparse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import Checks, env, expect_raises  # noqa: E402

BASE = env("FD_BASE").rstrip("/")
ADMIN_EMAIL = env("FD_ADMIN_EMAIL")
ADMIN_TOKEN = env("FD_ADMIN_TOKEN")

_url = urlparse(BASE)
os.environ["ZENPY_FORCE_SCHEME"] = _url.scheme
os.environ["ZENPY_FORCE_NETLOC"] = _url.netloc + "/zendesk"

from freshdesk.api import API  # noqa: E402
from freshdesk.v2.errors import FreshdeskRateLimited  # noqa: E402
from zenpy import Zenpy  # noqa: E402

c = Checks("rate_limits")
# Calls until the limit answers 429 (two or three at 1/s, bursts of 2, unless the machine is
# very slow), and at most this many.
MAX_CALLS = 30


def zenpy_waits_and_retries():
    z = Zenpy(subdomain="ferrodesk", email=ADMIN_EMAIL, token=ADMIN_TOKEN)
    c.watch(z.users.session)
    n = len(c.all_statuses)
    started = time.monotonic()
    calls = 0
    while calls < MAX_CALLS and not any(s == 429 for (_, _, s, _) in c.all_statuses[n:]):
        user = z.users.me()  # a 429 is waited out and retried inside zenpy
        calls += 1
        assert user.email.lower() == ADMIN_EMAIL.lower(), "call %d: %r" % (calls, user.email)
    took = time.monotonic() - started
    answers = c.all_statuses[n:]
    limited = [(url, h) for (_, url, status, h) in answers if status == 429]
    assert limited, "%d calls in %.1f s at 1/s (burst 2) met no 429: %r" % (calls, took, [s for (_, _, s, _) in answers])
    assert answers[-1][2] == 200, "the retried call succeeded: %r" % [s for (_, _, s, _) in answers]
    for url, h in limited:
        retry = {k.lower(): v for k, v in h.items()}.get("retry-after")
        assert retry is not None and retry.isdigit() and int(retry) >= 1, "429 from %s carries integer Retry-After: %r" % (url, retry)
    return "%d calls, all answered; zenpy slept on Retry-After after %d 429(s); %.1f s; statuses %r" % (
        calls,
        len(limited),
        took,
        [s for (_, _, s, _) in answers],
    )


def freshdesk_raises_rate_limited():
    api = API("ferrodesk.freshdesk.com", ADMIN_TOKEN)
    api._api_prefix = BASE + "/freshdesk/api/v2/"
    c.watch(api._session)

    def hammer():
        for _ in range(MAX_CALLS):
            api.agents.currently_authenticated_agent()

    e = expect_raises(FreshdeskRateLimited, hammer, "%d quick calls at 1/s (burst 2)" % MAX_CALLS)
    return str(e)


def no_retry_after_on_success():
    bad = [(m, url, s) for (m, url, s, h) in c.all_statuses if 200 <= s < 300 and any(k.lower() == "retry-after" for k in h)]
    assert not bad, "successful answers with Retry-After: %r" % bad
    ok = sum(1 for (_, _, s, _) in c.all_statuses if 200 <= s < 300)
    return "%d successful answers, none with Retry-After" % ok


c.check("zenpy waits on 429 and retries", zenpy_waits_and_retries)
c.check("python-freshdesk raises FreshdeskRateLimited", freshdesk_raises_rate_limited)
c.check("no Retry-After on a successful answer", no_retry_after_on_success)
c.finish()
