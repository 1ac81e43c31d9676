"""On PostgreSQL the database itself refuses to change or remove audit events."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION peerlearning_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER peerlearning_auditevent_append_only
    BEFORE UPDATE OR DELETE ON peerlearning_auditevent
    FOR EACH ROW EXECUTE FUNCTION peerlearning_audit_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS peerlearning_auditevent_append_only ON peerlearning_auditevent;
DROP FUNCTION IF EXISTS peerlearning_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("peerlearning", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
