"""Small SMTP servers for the tests of the task engine, in a thread of the test
process, on 127.0.0.1: the workers (other processes) send to them over TCP.

- ``SmtpServer``: enough of SMTP for Django's backend without TLS or login
  (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT). It keeps every message it
  accepted; ``hold_data`` makes it wait before answering the end of DATA (a
  slow server, during which a test kills the worker); ``refuse`` makes it
  refuse every recipient.
- ``HangingSmtpServer``: accepts TCP connections and never says a word."""

from __future__ import annotations

import email
import email.policy
import select
import socket
import socketserver
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from tests.components import free_port


@dataclass(frozen=True)
class Received:
    mail_from: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        owner = self.server.owner
        self._say("220 tests.localhost ESMTP")
        mail_from, recipients = "", []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line[:4].upper()
            if verb == "EHLO":
                self._say("250-tests.localhost")
                self._say("250 8BITMIME")
            elif verb == "HELO":
                self._say("250 tests.localhost")
            elif verb == "MAIL":
                mail_from, recipients = line.partition(":")[2].strip(), []
                self._say("250 OK")
            elif verb == "RCPT":
                if owner.refuse:
                    self._say("550 mailbox unavailable")
                else:
                    recipients.append(line.partition(":")[2].strip().strip("<>"))
                    self._say("250 OK")
            elif verb == "DATA":
                self._say("354 end with <CRLF>.<CRLF>")
                data = self._data()
                if data is None:
                    return
                message = email.message_from_bytes(data, policy=email.policy.default)
                assert isinstance(message, EmailMessage)
                received = Received(mail_from, recipients, message)
                owner._arrived(received)
                if owner.hold_data.is_set():
                    owner.released.wait(timeout=120)
                    if self._peer_gone():
                        return  # the sender died while we held its message: not accepted
                self._say("250 OK queued")
                owner._accepted(received)
                mail_from, recipients = "", []
            elif verb == "RSET":
                mail_from, recipients = "", []
                self._say("250 OK")
            elif verb == "NOOP":
                self._say("250 OK")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("502 not implemented")

    def _peer_gone(self) -> bool:
        readable, _writable, _failed = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _data(self) -> bytes | None:
        lines: list[bytes] = []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return None
            if raw in (b".\r\n", b".\n"):
                return b"".join(lines)
            lines.append(raw[1:] if raw.startswith(b"..") else raw)


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port: int, owner: Any) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", port), _Handler)


class SmtpServer:
    """An SMTP server on ``port`` (a free one by default), started at once; ``stop()`` closes it."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.arrived: list[Received] = []  # every message whose DATA ended, answered or not
        self.accepted: list[Received] = []  # the ones we said 250 to
        self.refuse = False
        self.hold_data = threading.Event()
        self.released = threading.Event()
        self._lock = threading.Lock()
        self._server = _Server(self.port, self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def _arrived(self, received: Received) -> None:
        with self._lock:
            self.arrived.append(received)

    def _accepted(self, received: Received) -> None:
        with self._lock:
            self.accepted.append(received)

    def accepted_to(self, address: str) -> list[Received]:
        with self._lock:
            return [received for received in self.accepted if address in received.recipients]

    def stop(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()


class HangingSmtpServer:
    """Accepts connections on ``port`` and never answers (an SMTP server stuck, or a firewall)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.connections = 0
        self._sockets: list[socket.socket] = []
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", self.port))
        self._listener.listen(64)
        self._listener.settimeout(0.1)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._sockets.append(connection)  # kept open, never written to

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        for connection in self._sockets:
            connection.close()
        self._listener.close()
