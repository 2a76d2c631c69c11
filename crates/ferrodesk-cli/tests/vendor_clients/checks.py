"""What the Python vendor-client scripts share: named checks, a record of the last HTTP
exchanges (printed with a failure, so that it says what was sent and what came back), and the
environment the Rust test (tests/vendor_clients.rs) passes in.

Each check is a function that asserts and returns a short description of what it saw. A check
whose inputs come from an earlier check that failed is reported as skipped. The script exits 1
when any check failed or was skipped.
"""

import collections
import os
import random
import string
import sys
import traceback
import types


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit("%s is not set: this script is run by crates/ferrodesk-cli/tests/vendor_clients.rs" % name)
    return value


def unique_word(prefix):
    """A word that appears nowhere else (letters only, so every search tokenizer keeps it whole)."""
    return prefix + "".join(random.choice(string.ascii_lowercase) for _ in range(10))


def _clip(text, limit=1500):
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "…(%d more characters)" % (len(text) - limit)


class Checks:
    def __init__(self, script):
        self.script = script
        self.passed = []
        self.failed = []
        self.skipped = []
        # What the checks found, for later checks (ids, objects).
        self.state = types.SimpleNamespace()
        self.exchanges = collections.deque(maxlen=3)
        self.all_statuses = []
        self.last_text = None  # the body of the last response

    # -- HTTP record -------------------------------------------------------------------------

    def watch(self, session):
        """Records every response of a `requests` session (the clients' own session)."""
        session.hooks.setdefault("response", []).append(self._record)
        return session

    def _record(self, response, *args, **kwargs):
        req = response.request
        self.all_statuses.append((req.method, req.url, response.status_code, dict(response.headers)))
        self.last_text = response.text
        self.exchanges.append(
            "%s %s%s\n      -> %s %s %s"
            % (
                req.method,
                req.url,
                ("\n      body: " + _clip(req.body, 600)) if req.body else "",
                response.status_code,
                response.headers.get("content-type", "(no content-type)"),
                _clip(response.text),
            )
        )

    # -- checks ------------------------------------------------------------------------------

    def check(self, name, fn, needs=()):
        missing = [n for n in needs if not hasattr(self.state, n)]
        if missing:
            self.skipped.append(name)
            print("SKIP  %s (needs %s from a check that failed)" % (name, ", ".join(missing)), flush=True)
            return
        self.exchanges.clear()
        try:
            detail = fn()
        except Exception as e:  # noqa: BLE001 — every failure is reported the same way
            self.failed.append(name)
            kind = type(e).__name__
            text = _clip(str(e), 2000) or "(no message)"
            print("FAIL  %s: %s: %s" % (name, kind, text), flush=True)
            if not isinstance(e, AssertionError):
                tb = traceback.extract_tb(e.__traceback__)
                here = [f for f in tb if f.filename.endswith(".py") and "site-packages" not in f.filename]
                if here:
                    f = here[-1]
                    print("      at %s:%d: %s" % (os.path.basename(f.filename), f.lineno, f.line), flush=True)
            if self.exchanges:
                print("      last HTTP exchanges (oldest first):", flush=True)
                for x in self.exchanges:
                    print("      " + x, flush=True)
            return
        self.passed.append(name)
        print("ok    %s%s" % (name, (": " + detail) if detail else ""), flush=True)

    def finish(self):
        print(
            "%s: %d checks ok, %d failed, %d skipped"
            % (self.script, len(self.passed), len(self.failed), len(self.skipped)),
            flush=True,
        )
        if self.failed or self.skipped:
            print("%s: failed: %s" % (self.script, "; ".join(self.failed)), flush=True)
            if self.skipped:
                print("%s: skipped: %s" % (self.script, "; ".join(self.skipped)), flush=True)
            sys.exit(1)


def expect_raises(exc_type, fn, what):
    """Calls fn and returns the exception of type exc_type it raised; fails otherwise."""
    try:
        got = fn()
    except exc_type as e:
        return e
    except Exception as e:  # noqa: BLE001
        raise AssertionError("%s: expected %s, got %s: %s" % (what, exc_type.__name__, type(e).__name__, _clip(str(e), 800)))
    raise AssertionError("%s: expected %s, but it succeeded and returned %r" % (what, exc_type.__name__, got))
