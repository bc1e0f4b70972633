"""Deliver rendered newsletters by email, at most once per seller and week (SPEC §6).

`send_week` reads the week's manifest (written by `render_week`), and for each seller:
checks `ops.newsletter_outbox` first (a `sent` row means skip, unless `force`), builds a
multipart message (plain text + HTML, PDF attached), hands it to the transport, and
records the attempt. Sending is the one side effect that cannot be undone, so the outbox
row is written right after each message, and one seller's failure never stops the others.

Transports: SMTP when `CXN_SMTP_URL` is set (`smtp://user:pass@host:587?starttls=true`,
`smtps://...` for implicit TLS), otherwise `.eml` files in `{out}/outbox/`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from pipeline.context import ACCOUNT_LABELS
from pipeline.errors import CxnError
from pipeline.newsletter import read_manifest, template_env, week_sellers, write_atomic
from pipeline.settings import Settings, mask_url
from pipeline.warehouse import first_row, open_warehouse
from pipeline.weeks import IsoWeek

log = logging.getLogger(__name__)


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...
    def close(self) -> None: ...


class EmlOutbox:
    """Writes each message as `{week}_{seller}.eml` in a folder (the embedded default)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        name = message["X-CXN-Newsletter"].replace("/", "_")
        write_atomic(self.folder / f"{name}.eml", message.as_bytes())

    def close(self) -> None:
        pass


class SmtpTransport:
    """One SMTP connection, opened on first use and reused for every seller."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise CxnError(
                f"CXN_SMTP_URL={mask_url(url)!r} is not like smtp://user:pass@host:587?starttls=true"
            )
        query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
        self.host = parts.hostname
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.implicit_tls = parts.scheme == "smtps"
        self.starttls = query.get("starttls", "false") in ("1", "true", "yes")
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self._conn is not None:
            return self._conn
        context = ssl.create_default_context()
        conn: smtplib.SMTP
        if self.implicit_tls:
            conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                conn.starttls(context=context)
        if self.user:
            conn.login(self.user, self.password or "")
        self._conn = conn
        return conn

    def send(self, message: EmailMessage) -> None:
        try:
            self._connect().send_message(message)
        except (smtplib.SMTPServerDisconnected, ConnectionError, OSError):
            self.close()  # the next send starts a fresh connection
            raise

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):  # already gone
                self._conn.quit()
            self._conn = None


def make_transport(settings: Settings) -> Transport:
    if settings.smtp_url:
        return SmtpTransport(settings.smtp_url)
    return EmlOutbox(settings.outbox_dir)


def subject_for(entry: dict[str, Any], week: IsoWeek) -> str:
    status = ACCOUNT_LABELS.get(entry["account_status"], entry["account_status"])
    return (
        f"Customer Experience newsletter {week} – {entry['seller_name']} – account {status.lower()}"
    )


def build_message(
    settings: Settings,
    entry: dict[str, Any],
    week: IsoWeek,
    pdf: bytes,
    attempt: int,
    defects_csv: bytes | None = None,
) -> EmailMessage:
    """The multipart message for one seller: text and HTML alternatives, PDF attached,
    and the full list of defective orders as CSV when there are any."""
    env = template_env()
    context = {
        **entry,
        "week": str(week),
        "account_status_label": ACCOUNT_LABELS.get(
            entry["account_status"], entry["account_status"]
        ),
    }
    msg = EmailMessage()
    msg["Subject"] = subject_for(entry, week)
    msg["From"] = settings.mail_from
    msg["To"] = ", ".join(formataddr(("", a)) for a in entry["recipients"])
    msg["Date"] = format_datetime(datetime.now(UTC))
    digest = hashlib.sha256(f"{week}/{entry['seller_id']}/{attempt}".encode()).hexdigest()[:16]
    msg["Message-ID"] = f"<cxn.{week}.{entry['seller_id']}.{digest}@newsletter.cxn>"
    msg["X-CXN-Newsletter"] = f"{week}_{entry['seller_id']}"
    msg.set_content(env.get_template("email.txt.j2").render(**context))
    msg.add_alternative(env.get_template("email.html.j2").render(**context), subtype="html")
    msg.add_attachment(
        pdf,
        maintype="application",
        subtype="pdf",
        filename=f"customer-experience-{week}-{entry['seller_id']}.pdf",
    )
    if defects_csv is not None:
        msg.add_attachment(
            defects_csv,
            maintype="text",
            subtype="csv",
            filename=f"defective-orders-{week}-{entry['seller_id']}.csv",
        )
    return msg


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one seller's message, and when to stop trying the server at all.

    Transient failures (connection refused or dropped, time-outs, 4xx replies) are retried
    up to `attempts` times with exponential backoff; permanent ones (5xx replies, a seller
    without an address) are recorded at once. After `breaker` sellers in a row failed to
    reach the server at all, the rest are recorded as not attempted instead of each
    retrying against a server that is down.
    """

    attempts: int = 3
    backoff_seconds: float = 2.0
    breaker: int = 3


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying: the connection, or a 4xx reply."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, smtplib.SMTPServerDisconnected | OSError)


def _unreachable(exc: BaseException) -> bool:
    """The server could not be reached at all (as opposed to answering with an error)."""
    return isinstance(exc, smtplib.SMTPServerDisconnected | OSError) and not isinstance(
        exc, smtplib.SMTPResponseException
    )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def send_with_retry(
    transport: Transport,
    message: EmailMessage,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[int, BaseException | None]:
    """Send one message; returns (attempts made, the last error or None when sent)."""
    for attempt in range(1, policy.attempts + 1):
        try:
            transport.send(message)
            return attempt, None
        except (smtplib.SMTPException, OSError) as exc:
            if not is_transient(exc) or attempt == policy.attempts:
                return attempt, exc
            delay = policy.backoff_seconds * 2 ** (attempt - 1)
            log.info("transient send failure (%s); retrying in %.1fs", _describe(exc), delay)
            sleep(delay)
    raise AssertionError("unreachable")


@dataclass
class SendResult:
    week: IsoWeek
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def send_week(
    settings: Settings,
    week: IsoWeek,
    sellers: list[str] | None = None,
    *,
    force: bool = False,
    transport: Transport | None = None,
    progress: Callable[[str], None] | None = None,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SendResult:
    """Send the week's rendered newsletters; skip what was already sent unless `force`.

    Side effects: one email per seller (SMTP or .eml) and its row in
    `ops.newsletter_outbox`, written right after the seller's last attempt (`attempts`
    counts every try, across runs). Idempotent without `force`: a rerun sends nothing
    new, and retries only what failed.
    """
    policy = policy or RetryPolicy()
    unreachable_in_a_row = 0
    breaker_error = ""
    entries = read_manifest(settings, week)
    if sellers:
        wanted = set(sellers)
        missing = sorted(wanted - {e["seller_id"] for e in entries})
        if missing:
            raise CxnError(
                f"no newsletter rendered for seller {missing[0]} in {week}; "
                f"run `cxn render --week {week} --seller {missing[0]}` first"
            )
        entries = [e for e in entries if e["seller_id"] in wanted]
    folder = settings.newsletter_dir(str(week))
    result = SendResult(week)
    transport = transport or make_transport(settings)
    try:
        with open_warehouse(settings.warehouse) as con:
            for i, entry in enumerate(entries, 1):
                seller_id = entry["seller_id"]
                previous = first_row(
                    con,
                    "select status, attempts from ops.newsletter_outbox "
                    "where seller_id = ? and week = ?",
                    [seller_id, str(week)],
                )
                if previous and previous[0] == "sent" and not force:
                    result.skipped.append(seller_id)
                    continue
                attempts = previous[1] if previous else 0
                pdf_path = folder / entry["pdf"]
                error: str | None = None
                message_id = None
                if unreachable_in_a_row >= policy.breaker:
                    error = f"not attempted: the SMTP server was unreachable ({breaker_error})"
                elif not entry["recipients"]:
                    attempts += 1
                    error = f"seller {seller_id} has no email address"
                else:
                    csv_name = entry.get("defective_orders_csv")
                    try:
                        pdf = pdf_path.read_bytes()
                        defects_csv = (folder / csv_name).read_bytes() if csv_name else None
                    except OSError as exc:
                        raise CxnError(
                            f"{exc.filename}: rendered newsletter missing; "
                            f"run `cxn render --week {week}` again"
                        ) from exc
                    message = build_message(settings, entry, week, pdf, attempts + 1, defects_csv)
                    message_id = message["Message-ID"]
                    tries, failure = send_with_retry(transport, message, policy, sleep)
                    attempts += tries
                    if failure is not None:
                        error = _describe(failure)
                        unreachable_in_a_row = (
                            unreachable_in_a_row + 1 if _unreachable(failure) else 0
                        )
                        breaker_error = error
                    else:
                        unreachable_in_a_row = 0
                con.execute(
                    "insert or replace into ops.newsletter_outbox values "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        seller_id,
                        str(week),
                        week.as_of,
                        ";".join(entry["recipients"]),
                        "failed" if error else "sent",
                        attempts,
                        message_id,
                        str(pdf_path),
                        entry["pdf_sha256"],
                        None if error else datetime.now(UTC).replace(tzinfo=None),
                        error,
                    ],
                )
                if error:
                    result.failed[seller_id] = error
                    log.warning("send failed seller=%s week=%s error=%s", seller_id, week, error)
                else:
                    result.sent.append(seller_id)
                if progress:
                    progress(f"[{i}/{len(entries)}] {'failed' if error else 'sent'} {seller_id}")
    finally:
        transport.close()
    log.info(
        "sent week=%s sent=%d skipped=%d failed=%d",
        week,
        len(result.sent),
        len(result.skipped),
        len(result.failed),
    )
    return result


def smtp_url_from_connection(
    *,
    host: str | None,
    port: int | None,
    login: str | None,
    password: str | None,
    extra: dict[str, Any] | None = None,
) -> str:
    """An smtp:// URL from the fields of an Airflow SMTP connection (never logged)."""
    from urllib.parse import quote

    extra = extra or {}
    if not host:
        raise CxnError("the SMTP connection has no host")
    ssl_on = str(extra.get("ssl", extra.get("use_ssl", ""))).lower() in ("1", "true", "yes")
    starttls = str(extra.get("starttls", extra.get("use_tls", ""))).lower() in ("1", "true", "yes")
    scheme = "smtps" if ssl_on else "smtp"
    auth = ""
    if login:
        auth = quote(login, safe="")
        if password:
            auth += ":" + quote(password, safe="")
        auth += "@"
    netloc = f"{auth}{host}" + (f":{port}" if port else "")
    return f"{scheme}://{netloc}" + ("?starttls=true" if starttls else "")


@dataclass(frozen=True)
class OutboxStatus:
    counts: dict[str, int]
    undelivered: list[str]


def outbox_status(
    settings: Settings, week: IsoWeek, sellers: list[str] | None = None
) -> OutboxStatus:
    """How the week's newsletters stand: sent, failed, or not attempted at all."""
    wanted = week_sellers(settings, week, sellers)
    with open_warehouse(settings.warehouse, read_only=True) as con:
        rows = dict(
            con.execute(
                "select seller_id, status from ops.newsletter_outbox where week = ?",
                [str(week)],
            ).fetchall()
        )
    counts = {"sellers": len(wanted), "sent": 0, "failed": 0, "missing": 0}
    undelivered = []
    for seller_id in wanted:
        status = rows.get(seller_id)
        if status == "sent":
            counts["sent"] += 1
            continue
        counts["failed" if status else "missing"] += 1
        undelivered.append(seller_id)
    return OutboxStatus(counts, undelivered)
