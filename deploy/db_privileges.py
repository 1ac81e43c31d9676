"""Give the app's database role what it needs and no more, after `migrate` ran as the owner.

    MIGRATE_DATABASE_URL=postgres://peerlearning_owner:...@host/peerlearning \
    DATABASE_URL=postgres://peerlearning_app:...@host/peerlearning \
    python deploy/db_privileges.py

The owner role runs migrations and owns every table; the app role (web, worker, beat) reads
and writes rows. Not owning `peerlearning_auditevent`, the app role cannot ALTER, TRUNCATE or
DROP it, nor disable the trigger that refuses UPDATE and DELETE on it. Idempotent: run it after
every `migrate`. docs/deployment.md lists the same statements for a DBA to run by hand.
"""

import os
import sys
from pathlib import Path
from urllib.parse import urlparse

import environ
import psycopg
from psycopg import sql

BASE_DIR = Path(__file__).resolve().parent.parent

AUDIT_TABLE = "peerlearning_auditevent"

STATEMENTS = [
    "GRANT USAGE ON SCHEMA public TO {app}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}",
    # Tables that later migrations create get the same rights without waiting for this script.
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public"
    " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {app}",
    # Append-only: the trigger refuses UPDATE and DELETE too; this says so in the grants.
    f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {AUDIT_TABLE} FROM {{app}}",
]


def libpq_url(url: str) -> str:
    """django-environ also accepts pgsql:// and postgis://; libpq knows only postgresql://."""
    return "postgresql://" + url.split("://", 1)[1]


def main() -> int:
    # DATABASE_URL may live in .env, as for settings.py; the environment wins, as there.
    if (BASE_DIR / ".env").exists():
        environ.Env.read_env(BASE_DIR / ".env")
    owner_url = os.environ.get("MIGRATE_DATABASE_URL", "")
    app_url = os.environ.get("DATABASE_URL", "")
    if not owner_url or not app_url:
        print("db_privileges.py: set MIGRATE_DATABASE_URL and DATABASE_URL", file=sys.stderr)
        return 2
    app_role = urlparse(app_url).username
    if not app_role or app_role == urlparse(owner_url).username:
        print("db_privileges.py: the app connects as the owner; nothing to grant", file=sys.stderr)
        return 0
    with psycopg.connect(libpq_url(owner_url), autocommit=False) as conn:
        for statement in STATEMENTS:
            conn.execute(sql.SQL(statement).format(app=sql.Identifier(app_role)))
    print(f"db_privileges.py: granted row access to {app_role}; {AUDIT_TABLE} is insert-only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
