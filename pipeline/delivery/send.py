"""Deliver rendered newsletters by email, at most once per seller and week (SPEC §6).

`send_week` reads the week's manifest (written by `render_week`) and the seller's email
addresses as the warehouse knows them now, and for each seller:
checks `ops.newsletter_outbox` first (a `sent` row means skip, unless `force`), builds a
multipart message (plain text + HTML, PDF attached), claims it (`sending`), hands it to
the transport, and records the outcome (`sent` or `failed`). Sending is the one side
effect that cannot be undone:

* the claim is committed before the SMTP conversation starts and `sent` only after the
  server accepted the message, so a run killed in between leaves `sending`, which a
  rerun reports and resends only with `force` (the message may have gone out);
* one seller's failure (no rendered PDF, an invalid or refused address, a 5xx reply) is
  recorded as that seller's, and every other seller is still tried;
* a configuration error (AUTH not offered, login refused, a TLS mismatch) is reported as
  such and stops the run: no other seller could get through either.

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

from pipeline.errors import CxnError
from pipeline.newsletter.context import ACCOUNT_LABELS
from pipeline.newsletter.render import known_sellers, read_manifest, template_env, write_atomic
from pipeline.paths import UnsafeNameError, child
from pipeline.progress import Step
from pipeline.schema import invalid_address
from pipeline.settings import Settings, mask_url
from pipeline.warehouse import first_row, open_warehouse
from pipeline.weeks import IsoWeek

log = logging.getLogger(__name__)


# Recipients the server refused while it accepted the message for others:
# address -> (code, reply), as smtplib reports them.
Refused = dict[str, tuple[int, bytes]]


class Transport(Protocol):
    def send(self, message: EmailMessage, recipients: list[str]) -> Refused: ...
    def close(self) -> None: ...


class SmtpConfigError(CxnError):
    """The SMTP settings do not fit the server: no seller's message can get through."""


class EmlOutbox:
    """Writes each message as `{week}_{seller}.eml` in a folder (the embedded default)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage, recipients: list[str]) -> Refused:
        write_atomic(child(self.folder, f"{message['X-CXN-Newsletter']}.eml"), message.as_bytes())
        return {}

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

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"

    def _connect(self) -> smtplib.SMTP:
        if self._conn is not None:
            return self._conn
        context = ssl.create_default_context()
        conn: smtplib.SMTP | None = None
        try:
            if self.implicit_tls:
                conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.starttls:
                    conn.starttls(context=context)
            if self.user:
                conn.login(self.user, self.password or "")
        except (smtplib.SMTPException, OSError) as exc:
            if conn is not None:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    conn.close()
            config = self._config_problem(exc)
            if config:
                raise SmtpConfigError(f"SMTP configuration: {config}") from exc
            raise
        self._conn = conn
        return conn

    def _config_problem(self, exc: BaseException) -> str | None:
        """What is wrong with the settings, when `exc` says the settings are wrong."""
        reason = _describe(exc)
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            if "STARTTLS" in str(exc).upper():
                return (
                    f"the server {self.server} does not offer STARTTLS; remove starttls=true "
                    "from CXN_SMTP_URL, or use smtps:// if the port expects TLS at once"
                )
            if "AUTH" in str(exc).upper():
                return (
                    f"the server {self.server} does not offer AUTH, but CXN_SMTP_URL has a "
                    "user and password; add starttls=true if it offers AUTH only over TLS, "
                    "or remove the credentials"
                )
            return f"the server {self.server} does not support what was asked ({reason})"
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return (
                f"the server {self.server} refused the login of user {self.user!r} "
                f"({exc.smtp_code}); check the user and password"
            )
        if isinstance(exc, ssl.SSLCertVerificationError):
            return f"the TLS certificate of {self.server} is not trusted ({exc.verify_message})"
        if isinstance(exc, ssl.SSLError):
            mode = "smtps:// (TLS at once)" if self.implicit_tls else "STARTTLS"
            return (
                f"TLS with {self.server} failed ({reason}); CXN_SMTP_URL asks for {mode}: "
                "check that the port expects it"
            )
        return None

    def send(self, message: EmailMessage, recipients: list[str]) -> Refused:
        try:
            return self._connect().send_message(message, to_addrs=recipients)
        except smtplib.SMTPSenderRefused as exc:
            if exc.smtp_code == 530:  # 5.7.0 authentication required
                raise SmtpConfigError(
                    f"SMTP configuration: the server {self.server} requires a login "
                    f"({exc.smtp_code}); put user:password in CXN_SMTP_URL"
                ) from exc
            raise
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            if not isinstance(exc, smtplib.SMTPResponseException):
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
    recipients: list[str],
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
    msg["To"] = ", ".join(formataddr(("", a)) for a in recipients)
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
    return _unreachable(exc)


def _unreachable(exc: BaseException) -> bool:
    """The server could not be reached, or dropped the connection (as opposed to answering
    with an error). smtplib's own errors are OSErrors too: only the disconnect counts."""
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException | ssl.SSLError)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def send_with_retry(
    transport: Transport,
    message: EmailMessage,
    recipients: list[str],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[int, BaseException | None, Refused]:
    """Send one message; returns (attempts made, the last error or None when sent, the
    recipients refused while others accepted it). A `SmtpConfigError` propagates."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return attempt, None, transport.send(message, recipients)
        except (smtplib.SMTPException, OSError) as exc:
            if not is_transient(exc) or attempt == policy.attempts:
                return attempt, exc, {}
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
    # Claimed by an earlier run that did not finish: perhaps sent, so not sent again
    # without `force`.
    in_doubt: list[str] = field(default_factory=list)
    # Recipients the server refused while it accepted the message for the others.
    refused: dict[str, str] = field(default_factory=dict)
    # Set when the SMTP settings do not fit the server (the run stopped there).
    config_error: str | None = None


_OUTBOX_UPSERT = (
    "insert or replace into ops.newsletter_outbox values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


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
    `ops.newsletter_outbox`: `sending` (committed) before the SMTP conversation, then
    `sent` or `failed` after the seller's last attempt (`attempts` counts every try,
    across runs). Idempotent without `force`: a rerun sends nothing new, retries only
    what failed, and leaves what is still `sending` (an interrupted run) to the operator.
    """
    policy = policy or RetryPolicy()
    manifest = {e["seller_id"]: e for e in read_manifest(settings, week)}
    folder = settings.newsletter_dir(str(week))
    result = SendResult(week)
    unreachable_in_a_row = 0
    stop_reason: str | None = None
    transport = transport or make_transport(settings)
    try:
        with open_warehouse(settings.warehouse) as con:
            # Every id asked for must be a seller of that week: a typo is an error, not a row.
            wanted = known_sellers(con, week, sellers) if sellers else sorted(manifest)
            for i, seller_id in enumerate(wanted, 1):
                previous = first_row(
                    con,
                    "select status, attempts from ops.newsletter_outbox "
                    "where seller_id = ? and week = ?",
                    [seller_id, str(week)],
                )
                status = previous[0] if previous else None
                if status == "sent" and not force:
                    result.skipped.append(seller_id)
                    continue
                if status == "sending" and not force:
                    result.in_doubt.append(seller_id)
                    log.warning(
                        "left in sending seller=%s week=%s: an earlier run stopped during its "
                        "send; check the mail server's log, resend with force",
                        seller_id,
                        week,
                    )
                    continue
                attempts = int(previous[1]) if previous else 0
                entry = manifest.get(seller_id)
                if entry is not None:
                    # The addresses known now, not when the newsletter was rendered.
                    entry = {**entry, "recipients": latest_recipients(con, seller_id)}
                row = _OutboxRow(seller_id, week, entry, attempts, folder)
                if stop_reason:
                    row.fail(con, stop_reason)
                elif entry is None:
                    row.fail(
                        con,
                        f"no newsletter rendered for seller {seller_id} in {week}; "
                        f"run `cxn render --week {week} --seller {seller_id}`",
                    )
                elif not entry["recipients"]:
                    row.fail(con, f"seller {seller_id} has no email address", tried=True)
                elif bad := invalid_address(";".join(entry["recipients"])):
                    row.fail(con, f"invalid email address {bad!r}", tried=True)
                else:
                    try:
                        message = _message_for(settings, folder, entry, week, attempts + 1)
                    except (OSError, UnsafeNameError) as exc:
                        row.fail(con, _missing_file(exc, week, seller_id))
                    else:
                        row.claim(con, message["Message-ID"])
                        try:
                            tries, failure, refused = send_with_retry(
                                transport, message, entry["recipients"], policy, sleep
                            )
                        except SmtpConfigError as exc:
                            row.fail(con, str(exc), tries=1)
                            result.config_error = str(exc)
                            stop_reason = f"not attempted: {exc}"
                        else:
                            if failure is None:
                                row.sent(con, tries, refused)
                                unreachable_in_a_row = 0
                                if refused:
                                    result.refused[seller_id] = row.error or ""
                            else:
                                row.fail(con, _describe(failure), tries=tries)
                                if _unreachable(failure):
                                    unreachable_in_a_row += 1
                                    if unreachable_in_a_row >= policy.breaker:
                                        stop_reason = (
                                            "not attempted: the SMTP server was unreachable "
                                            f"({_describe(failure)})"
                                        )
                                else:
                                    unreachable_in_a_row = 0
                if row.status == "sent":
                    result.sent.append(seller_id)
                else:
                    result.failed[seller_id] = row.error or ""
                    log.warning(
                        "send failed seller=%s week=%s error=%s", seller_id, week, row.error
                    )
                if progress:
                    progress(Step(i, len(wanted), "send", f"{row.status} {seller_id}"))
    finally:
        transport.close()
    log.info(
        "sent week=%s sent=%d skipped=%d failed=%d in_doubt=%d",
        week,
        len(result.sent),
        len(result.skipped),
        len(result.failed),
        len(result.in_doubt),
    )
    return result


def latest_recipients(con: Any, seller_id: str) -> list[str]:
    """The seller's newest email addresses (delivery uses the latest known, not the as-of)."""
    row = first_row(
        con,
        "select email from raw.sellers where seller_id = ? "
        "order by last_updated_at desc, _load_date desc, _line desc limit 1",
        [seller_id],
    )
    if not row or not row[0]:
        return []
    return [a.strip() for a in row[0].split(";") if a.strip()]


def _message_for(
    settings: Settings, folder: Path, entry: dict[str, Any], week: IsoWeek, attempt: int
) -> EmailMessage:
    """The seller's message, from the files the render wrote (names checked)."""
    pdf = child(folder, entry["pdf"]).read_bytes()
    csv_name = entry.get("defective_orders_csv")
    defects_csv = child(folder, csv_name).read_bytes() if csv_name else None
    return build_message(settings, entry, entry["recipients"], week, pdf, attempt, defects_csv)


def _missing_file(exc: BaseException, week: IsoWeek, seller_id: str) -> str:
    if isinstance(exc, OSError):
        return (
            f"{exc.filename}: rendered newsletter missing; "
            f"run `cxn render --week {week} --seller {seller_id}` again"
        )
    return str(exc)


@dataclass
class _OutboxRow:
    """One seller's row of `ops.newsletter_outbox` for the week, written as it changes."""

    seller_id: str
    week: IsoWeek
    entry: dict[str, Any] | None
    attempts: int
    folder: Path
    status: str = ""
    message_id: str | None = None
    error: str | None = None

    def claim(self, con: Any, message_id: str) -> None:
        """`sending`, committed before the SMTP conversation starts."""
        self.message_id = message_id
        self._write(con, "sending", None)

    def sent(self, con: Any, tries: int, refused: Refused) -> None:
        self.attempts += tries
        error = None
        if refused:
            error = "refused by the server: " + ", ".join(
                f"{addr} ({code} {reply.decode(errors='replace')})"
                for addr, (code, reply) in sorted(refused.items())
            )
        self._write(con, "sent", error, sent_at=datetime.now(UTC).replace(tzinfo=None))

    def fail(self, con: Any, error: str, *, tries: int = 0, tried: bool = False) -> None:
        self.attempts += tries or int(tried)
        self._write(con, "failed", error)

    def _write(self, con: Any, status: str, error: str | None, sent_at: Any = None) -> None:
        self.status, self.error = status, error
        entry = self.entry or {}
        con.execute(
            _OUTBOX_UPSERT,
            [
                self.seller_id,
                str(self.week),
                self.week.as_of,
                ";".join(entry.get("recipients") or []),
                status,
                self.attempts,
                self.message_id,
                str(self.folder / entry["pdf"]) if entry.get("pdf") else None,
                entry.get("pdf_sha256"),
                sent_at,
                error,
            ],
        )


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
    """How the week's newsletters stand: sent, failed, left in `sending` by an
    interrupted run (perhaps sent: resend only with force), or not attempted at all."""
    with open_warehouse(settings.warehouse, read_only=True) as con:
        wanted = known_sellers(con, week, sellers)
        rows = dict(
            con.execute(
                "select seller_id, status from ops.newsletter_outbox where week = ?",
                [str(week)],
            ).fetchall()
        )
    counts = {"sellers": len(wanted), "sent": 0, "failed": 0, "sending": 0, "missing": 0}
    undelivered = []
    for seller_id in wanted:
        status = rows.get(seller_id) or "missing"
        counts[status if status in counts else "failed"] += 1
        if status != "sent":
            undelivered.append(seller_id)
    return OutboxStatus(counts, undelivered)


def send_overview(
    settings: Settings,
    week: IsoWeek,
    html_path: Path,
    pdf_path: Path,
    *,
    force: bool = False,
    transport: Transport | None = None,
) -> str:
    """Email the week's marketplace overview to `CXN_OPERATOR_EMAIL`, once per week unless
    `force` (a marker beside the PDF records it). Returns what happened, in words."""
    if not settings.operator_email:
        return "not emailed (CXN_OPERATOR_EMAIL is not set)"
    if bad := invalid_address(settings.operator_email):
        raise CxnError(f"CXN_OPERATOR_EMAIL: invalid email address {bad!r}")
    marker = pdf_path.with_suffix(".sent")
    if marker.is_file() and not force:
        return f"already emailed to {settings.operator_email} (--force to send it again)"
    recipients = [a.strip() for a in settings.operator_email.split(";") if a.strip()]
    msg = EmailMessage()
    msg["Subject"] = f"Marketplace overview {week}"
    msg["From"] = settings.mail_from
    msg["To"] = ", ".join(formataddr(("", a)) for a in recipients)
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = f"<cxn.{week}.overview.{int(time.time())}@newsletter.cxn>"
    # "+" is in no seller id, so the outbox file cannot collide with a seller's.
    msg["X-CXN-Newsletter"] = f"{week}+overview"
    msg.set_content(
        f"The marketplace overview of {week} is attached as a PDF: sellers by account "
        "status, the sellers newly at risk or critical and why, the metrics behind most "
        "problems, and the week's deliveries.\n"
    )
    msg.add_alternative(html_path.read_text(encoding="utf-8"), subtype="html")
    msg.add_attachment(
        pdf_path.read_bytes(),
        maintype="application",
        subtype="pdf",
        filename=f"marketplace-overview-{week}.pdf",
    )
    transport = transport or make_transport(settings)
    try:
        refused = transport.send(msg, recipients)
    finally:
        transport.close()
    write_atomic(marker, datetime.now(UTC).isoformat().encode())
    note = f" (refused: {', '.join(refused)})" if refused else ""
    return f"emailed to {settings.operator_email}{note}"
