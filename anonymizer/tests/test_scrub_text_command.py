import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "scrub_text", *args],
        input=stdin.encode(),
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_it_prints_the_scrubbed_text_and_exits_0_without_check():
    done = run("-", stdin="Dr. Quist saw MRN 4471203.")
    assert done.returncode == 0
    assert done.stdout.decode() == "Dr. [NAME] saw MRN [ID]."


def test_check_exits_1_with_kinds_and_offsets_but_not_the_text():
    done = run("--check", "-", stdin="Discussed with his wife Elinor on 3/14.")
    assert done.returncode == 1
    err = done.stderr.decode()
    assert "NAME 24-30" in err and "DATE 34-38" in err
    assert "Elinor" not in err and "3/14" not in err


def test_check_exits_0_on_clean_text(tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("No acute intracranial hemorrhage. BI-RADS 4.", encoding="utf-8")
    done = run("--check", str(note))
    assert (done.returncode, done.stderr) == (0, b"")


def test_roster_names_are_replaced(tmp_path):
    roster = tmp_path / "roster.txt"
    roster.write_text("Holly Green\n", encoding="utf-8")
    done = run("--roster", str(roster), "-", stdin="Holly Green read it.")
    assert done.stdout.decode() == "[NAME] read it."


def test_bad_input_gets_a_clear_message(tmp_path):
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("scrub_text", str(binary))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("scrub_text", str(tmp_path / "missing.txt"))
