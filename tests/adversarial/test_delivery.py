"""Delivery under attack and accident: interrupted sends, refused and invalid addresses,
SMTP settings that do not fit the server, seller ids that cannot name a file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from aiosmtpd.smtp import AuthResult

from pipeline.delivery.send import send_week
from pipeline.models.build import build
from pipeline.models.snapshot import publish_snapshot
from pipeline.newsletter.render import render_week
from pipeline.settings import Settings
from tests.adversarial.conftest import SUNDAY, WEEK, query, run_cli
from tests.smtp import FlakyInbox, Inbox, free_port, smtp_server

ROOT = Path(__file__).resolve().parents[2]


def outbox(settings: Settings) -> dict[str, tuple[str, int, str | None]]:
    return {
        r[0]: (r[1], r[2], r[3])
        for r in query(
            settings.warehouse,
            "select seller_id, status, attempts, error from ops.newsletter_outbox",
        )
    }


class KillingInbox(Inbox):
    """Takes the first message, then kills the sender before it can hear the 250."""

    pid = 0

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        if len(self.messages) == 1:
            os.kill(self.pid, signal.SIGKILL)
        return reply


def test_a_send_killed_after_the_server_took_the_message_is_not_sent_again(
    rendered_week, capsys, monkeypatch
):
    with smtp_server(KillingInbox("127.0.0.1", free_port())) as inbox:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "CXN_SMTP_URL": inbox.url,
            "CXN_WAREHOUSE": str(rendered_week.warehouse),
            "CXN_OUT_DIR": str(rendered_week.out_dir),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "send", "--week", str(WEEK)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        inbox.pid = proc.pid
        assert proc.wait(timeout=120) == -signal.SIGKILL
        assert len(inbox.messages) == 1  # S1's newsletter went out; the sender never knew
        assert outbox(rendered_week) == {"S1": ("sending", 0, None)}

        monkeypatch.setenv("CXN_SMTP_URL", inbox.url)
        rerun = run_cli(capsys, rendered_week, "send", "--week", str(WEEK))
        assert rerun.code == 1
        assert "1 left in sending" in rerun.out
        assert "left in sending by an interrupted run" in rerun.err and "S1" in rerun.err
        assert [m["X-CXN-Newsletter"] for m in inbox.messages] == [
            "2026-W47_S1",
            "2026-W47_S2",
            "2026-W47_S3",
        ]
        assert outbox(rendered_week)["S1"] == ("sending", 0, None)

        forced = run_cli(
            capsys, rendered_week, "send", "--week", str(WEEK), "--seller", "S1", "--force"
        )
        assert forced.code == 0, forced.err
        assert len(inbox.messages) == 4
        assert outbox(rendered_week)["S1"] == ("sent", 1, None)


def test_a_recipient_the_server_refuses_is_recorded_and_the_others_get_it(rendered_week):
    con = duckdb.connect(str(rendered_week.warehouse))
    con.execute(
        "update raw.sellers set email = 's2@example.com; gone@example.com' where seller_id = 'S2'"
    )
    con.close()
    render_week(rendered_week, WEEK, ["S2"])
    inbox = FlakyInbox("127.0.0.1", free_port(), refuse=("gone@example.com",))
    with smtp_server(inbox):
        result = send_week(
            rendered_week.__class__(**{**rendered_week.__dict__, "smtp_url": inbox.url}),
            WEEK,
        )
    assert result.sent == ["S1", "S2", "S3"]
    assert inbox.envelopes[1][1] == ["s2@example.com"]
    status, _, error = outbox(rendered_week)["S2"]
    assert status == "sent"
    assert error.startswith("refused by the server: gone@example.com (550 5.1.1")


def test_an_invalid_address_in_an_old_warehouse_fails_that_seller_only(rendered_week):
    """A warehouse loaded before addresses were checked: the sender checks again."""
    con = duckdb.connect(str(rendered_week.warehouse))
    con.execute("update raw.sellers set email = 'bob@@bad..example' where seller_id = 'S2'")
    con.close()
    render_week(rendered_week, WEEK, ["S2"])
    with smtp_server() as inbox:
        result = send_week(
            rendered_week.__class__(**{**rendered_week.__dict__, "smtp_url": inbox.url}),
            WEEK,
        )
    assert result.failed == {"S2": "invalid email address 'bob@@bad..example'"}
    assert [rcpt for _, rcpt in inbox.envelopes] == [["s1@example.com"], ["s3@example.com"]]


def _with_smtp(settings: Settings, url: str) -> Settings:
    return settings.__class__(**{**settings.__dict__, "smtp_url": url})


def test_starttls_asked_of_a_server_without_it_is_a_configuration_error(rendered_week):
    with smtp_server() as inbox:
        result = send_week(_with_smtp(rendered_week, inbox.url + "?starttls=true"), WEEK)
    assert result.config_error is not None
    assert "does not offer STARTTLS" in result.config_error
    assert set(result.failed) == {"S1", "S2", "S3"}
    assert result.failed["S2"].startswith("not attempted: SMTP configuration:")
    assert outbox(rendered_week)["S1"][:2] == ("failed", 1)


def test_implicit_tls_against_a_plain_port_is_a_configuration_error(rendered_week):
    with smtp_server() as inbox:
        url = inbox.url.replace("smtp://", "smtps://")
        result = send_week(_with_smtp(rendered_week, url), WEEK)
    assert result.config_error is not None
    assert "TLS with 127.0.0.1" in result.config_error
    assert "smtps:// (TLS at once)" in result.config_error


def _refuse_everyone(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=False, handled=False)


def test_a_refused_login_is_a_configuration_error(rendered_week):
    with smtp_server(authenticator=_refuse_everyone, auth_require_tls=False) as inbox:
        url = inbox.url.replace("smtp://", "smtp://cx:wrong-password@")
        result = send_week(_with_smtp(rendered_week, url), WEEK)
    assert result.config_error is not None
    assert "refused the login of user 'cx' (535)" in result.config_error
    assert "wrong-password" not in result.config_error
    assert inbox.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_server_that_requires_a_login_says_so(rendered_week):
    with smtp_server(
        authenticator=_refuse_everyone, auth_require_tls=False, auth_required=True
    ) as inbox:
        result = send_week(_with_smtp(rendered_week, inbox.url), WEEK)
    assert result.config_error is not None
    assert "requires a login (530)" in result.config_error


def test_a_seller_id_from_an_old_warehouse_cannot_name_a_file(rendered_week, tmp_path):
    """Defence in depth: the loader refuses such ids now; the renderer checks again."""
    evil = "../../../../escaped"
    con = duckdb.connect(str(rendered_week.warehouse))
    con.execute(
        "insert into raw.sellers select ?, 'Evil', 'e@example.com', 'US', "
        "date '2026-01-01', timestamp '2026-11-22 01:00:00', ?, 'x', 99, null",
        [evil, SUNDAY],
    )
    con.close()
    build(rendered_week, SUNDAY)
    publish_snapshot(rendered_week)
    result = render_week(rendered_week, WEEK)
    assert sorted(result.failed) == [evil]
    assert "is not a plain file name" in result.failed[evil]
    assert sorted(r.seller_id for r in result.newsletters) == ["S1", "S2", "S3"]
    root = rendered_week.out_dir.parent
    assert not list(root.parent.rglob("escaped*")), "written outside the output folder"
    sent = send_week(rendered_week, WEEK)
    assert sent.sent == ["S1", "S2", "S3"]


@pytest.mark.parametrize(
    "command",
    [
        ["build", "--as-of", str(SUNDAY)],
        ["publish"],
        ["render", "--week", str(WEEK)],
        ["send", "--week", str(WEEK)],
        ["export", "--seller", "S1", "--as-of", str(SUNDAY)],
    ],
    ids=lambda c: c[0],
)
def test_only_load_run_and_demo_create_a_warehouse(rendered_week, capsys, command):
    typo = rendered_week.warehouse.with_name("warehuose.duckdb")
    run = run_cli(capsys, rendered_week, "--warehouse", str(typo), *command)
    assert run.code == 1
    (line,) = run.err.strip().splitlines()
    assert line == (
        f"cxn: error: {typo}: no warehouse there; check --warehouse or CXN_WAREHOUSE "
        "(only `cxn load`, `cxn run` and `cxn demo` create a warehouse)"
    )
    assert not typo.exists()
    assert not list(typo.parent.glob("warehuose*"))
