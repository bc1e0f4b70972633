"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class Inbox:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(msg)  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FlakyInbox(Inbox):
    """Fails the first `fail_data` DATA commands with `reply` (or by dropping the
    connection when `reply` is None), and refuses recipients in `refuse` with a 550."""

    def __init__(
        self,
        host: str,
        port: int,
        fail_data: int = 0,
        reply: str | None = "451 4.3.0 Busy",
        refuse: tuple[str, ...] = (),
    ) -> None:
        super().__init__(host, port)
        self.fail_data = fail_data
        self.reply = reply
        self.refuse = refuse
        self.data_commands = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_commands += 1
        if self.fail_data > 0:
            self.fail_data -= 1
            if self.reply is None:
                server.transport.close()  # drop the connection mid-conversation
                return "421 closing"
            return self.reply
        return await super().handle_DATA(server, session, envelope)


@contextmanager
def smtp_server(inbox: Inbox | None = None, **options: object) -> Iterator[Inbox]:
    """A server on loopback; `options` go to aiosmtpd's SMTP (authenticator, auth_…)."""
    inbox = inbox or Inbox("127.0.0.1", free_port())
    controller = Controller(inbox, hostname=inbox.host, port=inbox.port, **options)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def pdf_attachment(message: EmailMessage) -> bytes:
    for part in message.iter_attachments():
        if part.get_content_type() == "application/pdf":
            return part.get_content()  # type: ignore[no-any-return]
    raise AssertionError("the message has no PDF attachment")
