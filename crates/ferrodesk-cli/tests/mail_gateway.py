"""A mail server for the end-to-end mail test (tests/mail.rs): aiosmtpd hands each message
for the support address (support@…, support+anything@…) to `ferrodesk mail ingest`, as a
Postfix pipe transport or an Exim pipe router would, and keeps every other message in a
Maildir. The command's exit code becomes the SMTP answer: 0 → 250, 75 → 451 (the sender
tries again later), anything else → 554.

    PYTHONPATH=tests python -m aiosmtpd -n -l 127.0.0.1:PORT \
        -c mail_gateway.Gateway MAILDIR SUPPORT_LOCAL_PART FERRODESK_BINARY

`ferrodesk mail ingest` reads FERRODESK_URL and FERRODESK_MAIL_INBOUND_TOKEN from the
environment this process is started with.
"""

import asyncio

from aiosmtpd.handlers import Mailbox


class Gateway(Mailbox):
    def __init__(self, mail_dir, support, binary):
        super().__init__(mail_dir)
        self.support = support.lower()
        self.command = [binary, "mail", "ingest"]

    def ours(self, rcpt):
        local = rcpt.split("@")[0].lower()
        return local.split("+")[0] == self.support

    async def handle_DATA(self, server, session, envelope):
        ours = [r for r in envelope.rcpt_tos if self.ours(r)]
        others = [r for r in envelope.rcpt_tos if not self.ours(r)]
        if ours:
            proc = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            _, err = await proc.communicate(envelope.original_content or envelope.content)
            if proc.returncode == 75:
                return "451 4.3.0 the help desk cannot take mail now; try again later"
            if proc.returncode != 0:
                why = err.decode(errors="replace").strip().splitlines() or ["refused"]
                return "554 5.6.0 " + why[-1][:200]
        if others:
            message = self.prepare_message(session, envelope)
            del message["X-RcptTo"]
            message["X-RcptTo"] = ", ".join(others)
            self.handle_message(message)
        return "250 OK"

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 3:
            parser.error("Gateway takes MAILDIR SUPPORT_LOCAL_PART FERRODESK_BINARY")
        return cls(*args)


class Busy(Mailbox):
    """Answers 451 (busy, try again later) to the first TIMES deliveries of each message, by
    Message-ID, then keeps it in the Maildir: an SMTP server with a temporary problem.

        python -m aiosmtpd -n -l 127.0.0.1:PORT -c mail_gateway.Busy MAILDIR TIMES
    """

    def __init__(self, mail_dir, times):
        super().__init__(mail_dir)
        self.times = int(times)
        self.seen = {}

    async def handle_DATA(self, server, session, envelope):
        message = self.prepare_message(session, envelope)
        key = message.get("Message-ID", "")
        tried = self.seen.get(key, 0)
        self.seen[key] = tried + 1
        if tried < self.times:
            return "451 4.3.2 the server is busy; try again later"
        self.handle_message(message)
        return "250 OK"

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 2:
            parser.error("Busy takes MAILDIR TIMES")
        return cls(*args)
