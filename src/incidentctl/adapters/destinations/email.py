"""Email over SMTP (smtplib, email.message): the rendered email/ template to [email]
to (or --to), with bcc for customer lists.

The Subject is the text's first line ("Subject: ..." or the line itself), the
Message-ID is derived from the delivery's event id (one message, one ID, whatever
the retries), and Date is when it was prepared. The session runs step by step so
each error is classed by its step: anything before the message's final dot (a
refused connection, STARTTLS, AUTH, a refused sender or recipient, a 4xx/5xx to
DATA, a write cut short) is failed, safe to retry; no reply to the final dot is in
doubt: the server may have taken it, and SMTP cannot be asked.
"""

from __future__ import annotations

from typing import Any

from incidentctl.adapters.destinations import (
    DELIVERED,
    FAILED,
    IN_DOUBT,
    Destination,
    Job,
    Prepared,
    Result,
    Secret,
)


def subject_and_body(text: str) -> tuple[str, str]:
    first, _, rest = text.strip("\n").partition("\n")
    subject = first.removeprefix("Subject:").strip()
    return subject, rest.lstrip("\n")


class Email(Destination):
    name = "email"
    label = "Email (SMTP)"
    section = "email"
    audience = "customers"

    def problems(self, settings: Any, secret: Secret) -> list[str]:
        from email.utils import parseaddr

        found = []
        if not settings.smtp_host.strip():
            found.append("email.smtp_host: empty (the SMTP server's name)")
        if "@" not in parseaddr(settings.from_)[1]:
            found.append(f"email.from: {settings.from_!r} is not an address")
        for key in ("username_env", "password_env"):
            env = getattr(settings, key)
            if env and not secret(env):
                found.append(
                    f'email.{key}: ${env} is not set; set it, or add {env} = "..." to '
                    "credentials.toml in the user config dir"
                )
        for addr in [*settings.to, *settings.bcc]:
            if "@" not in parseaddr(addr)[1]:
                found.append(f"email.to/bcc: {addr!r} is not an address")
        return found

    def prepare(self, job: Job, settings: Any) -> Prepared:
        from email.utils import format_datetime, parseaddr

        to = list(job.options.get("to") or settings.to)
        if not to:
            raise ValueError("no recipient: set [email] to, or pass --to ADDR")
        for addr in to:
            if "@" not in parseaddr(addr)[1]:
                raise ValueError(f"--to {addr!r} is not an address")
        subject, body = subject_and_body(job.text)
        domain = parseaddr(settings.from_)[1].rpartition("@")[2] or "incidentctl.invalid"
        message_id = f"<{job.event_id}@{domain}>"  # the event id: one message, one ID
        request = {
            "from": settings.from_,
            "to": to,
            "bcc": list(settings.bcc),
            "subject": subject,
            "body": body,
            "message_id": message_id,
            "date": format_datetime(job.now),
        }
        secrets = {}
        if settings.username_env:
            secrets["username"] = settings.username_env
        if settings.password_env:
            secrets["password"] = settings.password_env
        return Prepared(
            destination=self.name,
            action="send",
            key=message_id,
            request=request,
            secrets=secrets,
            summary=f"{job.template} to {', '.join(to)}" + (" (+bcc)" if settings.bcc else ""),
            target=", ".join(to),
            stream="",
        )

    def message(self, prepared: Prepared):
        from email.message import EmailMessage

        r = prepared.request
        msg = EmailMessage()
        msg["From"] = r["from"]
        msg["To"] = ", ".join(r["to"])
        msg["Subject"] = r["subject"]
        msg["Date"] = r["date"]
        msg["Message-ID"] = r["message_id"]
        msg.set_content(r["body"])
        return msg

    def _session(self, settings: Any, secret: Secret, prepared: Prepared | None = None):
        """Connect, EHLO, STARTTLS, AUTH: (smtp, '') or (None, the problem)."""
        import smtplib
        import ssl

        timeout = settings.timeout.total_seconds()
        try:
            if settings.ssl:
                conn = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=timeout)
            else:
                conn = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
            conn.ehlo()
            if settings.starttls and not settings.ssl:
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if settings.username_env:
                user = secret(settings.username_env)
                password = secret(settings.password_env) if settings.password_env else ""
                conn.login(user, password)
        except (OSError, smtplib.SMTPException) as exc:
            return None, f"cannot reach {settings.smtp_host}:{settings.smtp_port}: {_reason(exc)}"
        return conn, ""

    def send(self, prepared: Prepared, settings: Any, secret: Secret) -> Result:
        import smtplib

        conn, problem = self._session(settings, secret)
        if conn is None:
            return Result(FAILED, problem)
        r = prepared.request
        from email import policy

        data = self.message(prepared).as_bytes(policy=policy.SMTP)  # CRLF line ends
        try:
            try:
                code, reply = conn.mail(_addr(r["from"]))
                if code != 250:
                    return Result(FAILED, f"sender refused: {code} {_text(reply)}", code)
                for addr in [*r["to"], *r["bcc"]]:
                    code, reply = conn.rcpt(_addr(addr))
                    if code not in (250, 251):
                        return Result(FAILED, f"{addr} refused: {code} {_text(reply)}", code)
                code, reply = conn.docmd("DATA")
                if code != 354:
                    return Result(FAILED, f"DATA refused: {code} {_text(reply)}", code)
                q = smtplib._quote_periods(data)
                if not q.endswith(b"\r\n"):
                    q += b"\r\n"
                conn.send(q + b".\r\n")
            except (OSError, smtplib.SMTPException) as exc:
                return Result(FAILED, f"not sent: {_reason(exc)}")
            # the whole message is out: only the reply says whether it was taken
            try:
                code, reply = conn.getreply()
            except (OSError, smtplib.SMTPException) as exc:
                return Result(IN_DOUBT, f"sent, but no reply: {_reason(exc)} (it may have arrived)")
            if code == 250:
                return Result(DELIVERED, _text(reply), code, {"message_id": r["message_id"]})
            return Result(FAILED, f"message refused: {code} {_text(reply)}", code)
        finally:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                conn.close()

    def probe(self, settings: Any, secret: Secret) -> str:
        conn, problem = self._session(settings, secret)
        if conn is None:
            return problem + " (check [email] smtp_host and smtp_port)"
        try:
            conn.quit()
        except OSError:
            conn.close()
        return ""

    def dry_run(self, prepared: Prepared, settings: Any, secret: Secret) -> str:
        from incidentctl.adapters.http import mask

        r = prepared.request
        auth = (
            f"AUTH as ${settings.username_env} (password ********)" if settings.username_env else ""
        )
        head = [
            f"SMTP {settings.smtp_host}:{settings.smtp_port}"
            + (" STARTTLS" if settings.starttls and not settings.ssl else "")
            + (" TLS" if settings.ssl else ""),
            *([auth] if auth else []),
            f"MAIL FROM:<{_addr(r['from'])}>",
            *[f"RCPT TO:<{_addr(a)}>" for a in [*r["to"], *r["bcc"]]],
            "DATA",
        ]
        secrets = [secret(env) for env in prepared.secrets.values()]
        text = self.message(prepared).as_string()
        return mask("\n".join(head) + "\n" + text, secrets)


def _addr(value: str) -> str:
    from email.utils import parseaddr

    return parseaddr(value)[1]


def _text(reply: Any) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = getattr(exc, "strerror", None) or str(exc)
    return text or type(exc).__name__


DESTINATION = Email()
