"""One summary of every benchmark run by bench/run_all.sh: var/bench/summary.md.

    .venv/bin/python bench/http/summary.py [--logs var/bench/logs] [--out var/bench/summary.md]

The HTTP figures come from var/bench/http/latest.json (a table with the goals); the app
benches' own tables are copied from their logs as they printed them, each with its run time
and the load average before and after it (other engineers' test runs share the machine).
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

BENCHES = [
    ("reminders", "Mid-month reminder for 5,000 radiologists, and the monitoring dashboard"),
    ("tat", "TAT import, 1,000,000 rows: time and peak memory"),
    ("anonymize", "Anonymizer against dicognito and a plain pydicom read/write"),
    ("queue", "Champion queue with 50,000 submissions (test client)"),
    ("reports", "ACR and OPPE reports, leader dashboard (large department)"),
]


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except FileNotFoundError:
        commit = "?"
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"commit {commit} (plus uncommitted work)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=Path, default=ROOT / "var" / "bench" / "logs")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "summary.md")
    args = parser.parse_args()
    args.out = args.out.resolve()

    now = datetime.datetime.now().astimezone().isoformat(timespec="minutes")
    parts = [f"# Benchmark summary, {now}", "", machine(), ""]
    latest = ROOT / "var" / "bench" / "http" / "latest.json"
    if latest.exists():
        from run import markdown

        report = json.loads(latest.read_text(encoding="utf-8"))
        counts = report["seed"]["counts"]
        parts += [
            "## Pages under load (bench/http/run.py)",
            "",
            "Large department: "
            + ", ".join(f"{label.split('.')[1]} {n:,}" for label, n in counts.items())
            + ".",
            "",
            markdown(report),
        ]
    else:
        parts += ["## Pages under load", "", "Not run (var/bench/http/latest.json is missing).", ""]
    for name, title in BENCHES:
        log = args.logs / f"{name}.log"
        parts += [f"## {title} (bench/{name}/run.py)", ""]
        if log.exists():
            # aiosmtpd logs every SMTP conversation of the reminder bench at INFO.
            lines = [
                line
                for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
                if " mail.log " not in line
            ]
            parts += ["```", *lines, "```", ""]
        else:
            parts += ["Not run.", ""]
    text = "\n".join(parts) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"\nSummary written to {args.out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
