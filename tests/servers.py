"""Real servers on loopback ports for channel tests: an SMTP server (aiosmtpd) that keeps
what it receives, and an HTTP server that records requests and answers from a script."""

from __future__ import annotations

import email
import email.policy
import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from juncture.testing import free_port


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return str(body.get_content())


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.sink.refuse:
            return self.sink.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content
        assert isinstance(raw, bytes)
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        sender = envelope.mail_from or ""
        self.sink.mails.append(Mail(sender, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


class SmtpSink:
    """aiosmtpd on 127.0.0.1; ``refuse`` maps a recipient to the reply that refuses it."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.refuse: dict[str, str] = {}
        self.port = free_port()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?starttls=off"

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Mail]:
        """The mails received once there are ``count`` (or ``timeout`` seconds passed): a
        first send can wait seconds for the server's first recommendations on a loaded
        machine; a short ``timeout`` checks that no more come."""
        deadline = time.monotonic() + timeout
        while len(self.mails) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.mails


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    delay: float = 0.0
    content_type: str = "application/json"


@dataclass
class HttpRecorder:
    """A threaded HTTP server on 127.0.0.1 that records every request and answers the next
    scripted :class:`Answer` (then ``default``)."""

    script: list[Answer] = field(default_factory=list)
    default: Answer = field(default_factory=Answer)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                recorder.requests.append(Request("POST", self.path, headers, body))
                answer = recorder.script.pop(0) if recorder.script else recorder.default
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.content_type)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> HttpRecorder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def running(server: HttpRecorder) -> Iterator[HttpRecorder]:
    server.start()
    yield server
    server.stop()
