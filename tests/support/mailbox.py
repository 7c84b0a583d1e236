"""A small SMTP server on 127.0.0.1 that keeps the messages it is given, for tests
whose application runs in another process (tests/support/servers.py): the server is
started with EMAIL_HOST/EMAIL_PORT pointing here and sends its emails as in
production, through Django's SMTP backend, with no setting switched for the tests.

It speaks the part of SMTP (RFC 5321) that backend uses without TLS nor login:
EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

from __future__ import annotations

import email
import email.policy
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any


class Mailbox:
    def __init__(self) -> None:
        self._messages: list[EmailMessage] = []
        self._lock = threading.Condition()
        mailbox = self

        class Session(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode("ascii") + b"\r\n")

            def handle(self) -> None:
                self.reply("220 tremma-tests ESMTP")
                recipients: list[str] = []
                while line := self.rfile.readline():
                    verb = line[:4].upper()
                    if verb == b"EHLO":
                        self.wfile.write(b"250-tremma-tests\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                    elif verb in (b"HELO", b"NOOP", b"MAIL"):
                        self.reply("250 OK")
                    elif verb == b"RSET":
                        recipients = []
                        self.reply("250 OK")
                    elif verb == b"RCPT":
                        recipients.append(line.split(b":", 1)[1].split(b">", 1)[0].strip(b" <").decode())
                        self.reply("250 OK")
                    elif verb == b"DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        body = bytearray()
                        while (part := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                            body += part[1:] if part.startswith(b"..") else part  # dot-stuffing undone
                        mailbox.keep(bytes(body), recipients)
                        recipients = []
                        self.reply("250 OK: kept")
                    elif verb == b"QUIT":
                        self.reply("221 Bye")
                        return
                    else:
                        self.reply("502 Command not implemented")

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Session)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]

    def keep(self, data: bytes, recipients: list[str]) -> None:
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        message["X-Envelope-To"] = ", ".join(recipients)
        with self._lock:
            self._messages.append(message)
            self._lock.notify_all()

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._messages)

    def wait_for(self, to: str, *, subject_has: str = "", timeout: float = 20) -> EmailMessage:
        """The first message to ``to`` (whose subject contains ``subject_has``), waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for message in self._messages:
                    if to.lower() in str(message["X-Envelope-To"]).lower() and subject_has in str(message["Subject"]):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(str(m["X-Envelope-To"]), str(m["Subject"])) for m in self._messages]
                    raise AssertionError(f"no email to {to} ({subject_has!r}) within {timeout} s; seen: {seen}")
                self._lock.wait(left)

    def env(self) -> dict[str, str]:
        """The variables that make a server (tests/support/servers.py) send its emails here."""
        return {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(self.port), "EMAIL_USE_TLS": "false"}

    def serve(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.serve()
    try:
        yield box
    finally:
        box.close()


def text_of(message: EmailMessage) -> str:
    """The plain-text body of ``message``."""
    part: Any = message.get_body(preferencelist=("plain",))
    return str(part.get_content()) if part is not None else ""
