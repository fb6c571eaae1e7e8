"""A real SMTP server (aiosmtpd) on 127.0.0.1 that logs each message it takes, by
Message-ID. `script` scripts the next messages' DATA replies: "ok", an SMTP reply
("451 4.3.0 Try again later", "550 5.7.1 Rejected"), or "silent" (take the message, log
it, then answer only after the client has given up: in doubt)."""

from __future__ import annotations

import asyncio
from email import message_from_bytes
from typing import Any

from aiosmtpd.controller import Controller

from servers.httpbase import free_port


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        step = self.server.script.pop(0) if self.server.script else "ok"
        message = message_from_bytes(envelope.original_content or envelope.content)
        record = {
            "from": envelope.mail_from,
            "rcpt": list(envelope.rcpt_tos),
            "message_id": message["Message-ID"],
            "subject": message["Subject"],
            "date": message["Date"],
            "to": message["To"],
            "bcc": message["Bcc"],
            "body": message.get_payload(decode=True).decode("utf-8"),
        }
        self.server.attempts.append(record)
        if step == "ok":
            self.server.messages.append(record)
            return "250 2.0.0 OK: queued"
        if step == "silent":
            self.server.messages.append(record)  # taken; the reply comes too late
            await asyncio.sleep(self.server.silent_seconds)
            return "250 2.0.0 OK: queued"
        return step


class SmtpServer:
    def __init__(self, silent_seconds: float = 5.0) -> None:
        self.script: list[str] = []
        self.messages: list[dict[str, Any]] = []  # taken (delivered)
        self.attempts: list[dict[str, Any]] = []  # every DATA received
        self.silent_seconds = silent_seconds
        self.port = free_port()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()

    def config(self, extra: str = "") -> str:
        """The [email] table of an incidentctl.toml that sends here (plain SMTP), from
        and to WAOOAW's addresses, then `extra` lines."""
        return (
            f'\n[email]\nsmtp_host = "127.0.0.1"\nsmtp_port = {self.port}\nstarttls = false\n'
            + 'from = "WAOOAW Status <status@waooaw.example>"\nto = ["customers@waooaw.example"]\n'
            + extra
        )

    def __enter__(self) -> SmtpServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
