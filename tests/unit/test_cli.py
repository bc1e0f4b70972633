"""The command line as a user meets it: one clear line per error, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipeline.cli import main
from tests.extracts import order, seller, write_extract


def test_missing_day_is_one_line_and_exit_1(tmp_path, capsys):
    code = main(
        [
            "--landing",
            str(tmp_path),
            "--warehouse",
            str(tmp_path / "w.duckdb"),
            "load",
            "--date",
            "2026-11-20",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith("cxn: error: ") and "dt=2026-11-20: no extracts for 2026-11-20" in err
    assert "Traceback" not in err


def test_bad_arguments_are_usage_errors(capsys):
    try:
        main(["render", "--week", "2026-47"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "is not an ISO week like 2026-W47" in capsys.readouterr().err


def test_load_build_render_send_through_the_cli(tmp_path: Path):
    landing = tmp_path / "landing"
    write_extract(landing, "2026-11-22", "sellers", [seller("S1")])
    write_extract(landing, "2026-11-22", "orders", [order("O1", "2026-10-01")])
    base = [
        sys.executable,
        "-m",
        "pipeline",
        "--landing",
        str(landing),
        "--warehouse",
        str(tmp_path / "w.duckdb"),
        "--out",
        str(tmp_path / "out"),
    ]
    for args, expect in [
        (["load", "--date", "2026-11-22"], "loaded 2026-11-22: 2 rows, 0 rejected"),
        (["build", "--as-of", "2026-11-22"], "built as of 2026-11-22"),
        (["render", "--week", "2026-W47"], "rendered 1 newsletter for 2026-W47"),
        (["send", "--week", "2026-W47"], "2026-W47: 1 sent to"),
        (["send", "--week", "2026-W47"], "0 sent to"),
    ]:
        done = subprocess.run(base + args, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert expect in done.stdout
    assert (tmp_path / "out" / "outbox" / "2026-W47_S1.eml").is_file()


def test_build_before_load_names_the_fix(tmp_path, capsys):
    from pipeline.warehouse import open_warehouse

    with open_warehouse(tmp_path / "w.duckdb", create=True):
        pass  # a warehouse where another day was loaded, say
    code = main(["--warehouse", str(tmp_path / "w.duckdb"), "build", "--as-of", "2026-11-20"])
    assert code == 1
    assert "run `cxn load --date 2026-11-20` first" in capsys.readouterr().err


def test_bare_cxn_prints_the_help(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: cxn")
    for command in ("demo", "generate", "load", "build", "run", "render", "send", "export"):
        assert f"    {command} " in out, command
    assert "examples:" in out


def test_global_options_work_after_the_command(tmp_path, capsys):
    landing = tmp_path / "elsewhere"
    code = main(
        [
            "load",
            "--date",
            "2026-11-20",
            "--landing",
            str(landing),
            "--warehouse",
            str(tmp_path / "w.duckdb"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "unrecognized arguments" not in err
    assert f"{landing}/dt=2026-11-20: no extracts" in err
    # Given before the command and not repeated after it, an option keeps its value.
    warehouse = str(tmp_path / "w.duckdb")  # never the default in the working copy
    code = main(
        ["--landing", str(landing), "--warehouse", warehouse, "load", "--date", "2026-11-20", "-v"]
    )
    assert code == 1 and f"{landing}/dt=2026-11-20" in capsys.readouterr().err


def test_every_option_has_help_and_every_command_an_example():
    import argparse

    from pipeline.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(commands.choices) >= {"demo", "generate", "load", "build", "run", "render"}
    for name, sub in commands.choices.items():
        assert "examples:\n  cxn " + name in (sub.epilog or ""), name
        for action in sub._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"{name} {action.option_strings[0]} has no help"
        text = sub.format_help()
        if name == "generate":
            assert "--sellers SELLERS     number of sellers (default: 40)" in text


def test_advice_in_an_unknown_seller_error_names_the_known_ones(tmp_path, capsys):
    landing = tmp_path / "landing"
    write_extract(landing, "2026-11-22", "sellers", [seller("S1"), seller("S2")])
    write_extract(landing, "2026-11-22", "orders", [order("O1", "2026-10-01")])
    base = ["--landing", str(landing), "--warehouse", str(tmp_path / "w.duckdb")]
    assert main([*base, "load", "--date", "2026-11-22"]) == 0
    assert main([*base, "build", "--as-of", "2026-11-22"]) == 0
    capsys.readouterr()
    assert main([*base, "render", "--week", "2026-W47", "--seller", "S9"]) == 1
    err = capsys.readouterr().err
    assert "seller S9 is not known as of 2026-11-22; the 2 sellers of 2026-W47 are S1, S2" in err
