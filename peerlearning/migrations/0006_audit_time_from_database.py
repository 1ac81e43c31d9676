"""The database, not the application, says when an audit event happened.

`at` defaults to the statement's time; on PostgreSQL a trigger refuses an INSERT that names
any other time, and one whose actor e-mail is not the e-mail of the account it names. What the
database cannot check (that the named actor really acted) is in docs/security.md, S18.
"""

import django.db.models.functions.datetime
from django.db import migrations, models

# STATEMENT_TIMESTAMP() is what Django's Now() gives the column default on PostgreSQL; inside
# the same INSERT the trigger sees the same value, so only a row left to the default passes.
CREATE = """
CREATE OR REPLACE FUNCTION peerlearning_audit_stamped_by_database() RETURNS trigger AS $$
BEGIN
    IF NEW.at IS DISTINCT FROM statement_timestamp() THEN
        RAISE EXCEPTION 'audit events are timed by the database (a given time is refused)';
    END IF;
    IF NEW.actor_id IS NOT NULL AND NEW.actor_email IS DISTINCT FROM
            (SELECT email FROM peerlearning_user WHERE id = NEW.actor_id) THEN
        RAISE EXCEPTION 'audit event actor e-mail is not the e-mail of account %', NEW.actor_id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER peerlearning_auditevent_stamped_by_database
    BEFORE INSERT ON peerlearning_auditevent
    FOR EACH ROW EXECUTE FUNCTION peerlearning_audit_stamped_by_database();
"""

DROP = """
DROP TRIGGER IF EXISTS peerlearning_auditevent_stamped_by_database ON peerlearning_auditevent;
DROP FUNCTION IF EXISTS peerlearning_audit_stamped_by_database();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("peerlearning", "0005_api_tokens")]
    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="at",
            field=models.DateTimeField(
                db_default=django.db.models.functions.datetime.Now(),
                db_index=True,
                editable=False,
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
