from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from peerlearning.models import ApiToken, AuditEvent, Membership, OutboundEmail, User
from peerlearning.testing import totp_set_up
from peerlearning.tokens import key_hash

SHARED_SAMPLE = Path(settings.BASE_DIR).parent / "shared" / "samples" / "roster.csv"
KEPT_SAMPLE = Path(__file__).parent / "data" / "roster.csv"
HEADER = "email,first_name,last_name,roles,section,participating\n"


@pytest.fixture
def sample_path() -> Path:
    return SHARED_SAMPLE if SHARED_SAMPLE.exists() else KEPT_SAMPLE


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# import_roster --------------------------------------------------------------------------


def test_import_roster_imports_the_sample(db, sample_path):
    out, _ = run("import_roster", str(sample_path))
    assert "People: 20 new, 0 updated, 0 unchanged. Memberships: 22 new" in out
    assert User.objects.count() == 20 and Membership.objects.count() == 22
    event = AuditEvent.objects.get()
    assert (event.action, event.actor_id, event.detail["source"]) == ("import", None, "command")


def test_import_roster_twice_says_there_is_nothing_to_change(db, sample_path):
    run("import_roster", str(sample_path))
    out, _ = run("import_roster", str(sample_path))
    assert out.startswith("Nothing to change.")
    assert AuditEvent.objects.count() == 1


def test_import_roster_with_a_bad_row_fails_names_the_line_and_writes_nothing(
    db, tmp_path, sample_path
):
    lines = sample_path.read_text().splitlines()
    lines[6] = lines[6].replace("radiologist", "radiographer")
    bad = tmp_path / "roster.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError) as raised:
        run("import_roster", str(bad))
    assert "was not imported; nothing was changed" in str(raised.value)
    assert "Line 7: “radiographer” is not a role" in str(raised.value)
    assert not User.objects.exists() and not AuditEvent.objects.exists()


def test_import_roster_of_a_missing_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match=r"Cannot read .*nowhere\.csv"):
        run("import_roster", str(tmp_path / "nowhere.csv"))


def test_import_roster_dry_run_lists_the_changes_and_writes_nothing(db, sample_path):
    out, _ = run("import_roster", str(sample_path), "--dry-run")
    assert out.startswith("  line 2: new section “Neuroradiology” (neuroradiology)")
    assert "line 16: dev.shah@example-hospital.org joins as PL champion in Neuroradiology" in out
    assert "Dry run, nothing written." in out
    assert not User.objects.exists() and not AuditEvent.objects.exists()


def test_import_roster_names_the_actor_in_the_audit_trail(department, sample_path):
    run("import_roster", str(sample_path), "--actor", department.site_admin.email.upper())
    assert AuditEvent.objects.get(action="import").actor_id == department.site_admin.pk


def test_import_roster_with_an_unknown_actor_is_refused(db, sample_path):
    with pytest.raises(CommandError, match=r"No user has the e-mail address nobody@example\.org"):
        run("import_roster", str(sample_path), "--actor", "nobody@example.org")


def test_import_roster_sync_ends_memberships_the_file_no_longer_lists(department, tmp_path):
    roster = tmp_path / "neuro.csv"
    roster.write_text(HEADER + f"{department.leader.email},Lee,Leader,leader,neuroradiology,yes\n")
    out, _ = run("import_roster", str(roster), "--sync")
    assert "7 ended" in out
    assert list(Membership.objects.current().filter(section=department.neuro)) == [
        Membership.objects.get(user=department.leader)
    ]


def test_import_roster_warns_about_ignored_columns_on_stderr(db, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "email,first_name,last_name,roles,section,participating,npi\n"
        "a@example.org,Ann,Able,trainee,body,yes,123\n"
    )
    out, err = run("import_roster", str(roster))
    assert "The column “npi” is not used and was ignored." in err
    assert "People: 1 new" in out


# create_api_token ------------------------------------------------------------------------


def test_create_api_token_prints_only_the_new_key(department):
    totp_set_up(department.champion)  # the policy asks champions for MFA
    out, err = run("create_api_token", department.champion.email, "--name", "PACS")
    token = ApiToken.objects.get(user=department.champion)
    assert token.key_hash == key_hash(out.strip()) and token.name == "PACS"
    assert err == ""


def test_create_api_token_can_replace_the_old_tokens(department):
    totp_set_up(department.champion)
    old, _ = run("create_api_token", department.champion.email)
    new, _ = run("create_api_token", f"  {department.champion.email.upper()} ", "--replace")
    assert old != new
    usable = ApiToken.objects.filter(user=department.champion).usable()
    assert list(usable.values_list("key_hash", flat=True)) == [key_hash(new.strip())]


def test_create_api_token_refuses_someone_who_lacks_the_mfa_their_role_needs(department):
    with pytest.raises(CommandError, match="requires two-factor authentication"):
        run("create_api_token", department.champion.email)
    assert not ApiToken.objects.exists()


def test_create_api_token_for_an_unknown_email_is_a_command_error(db):
    with pytest.raises(CommandError, match=r"No user has the e-mail address ghost@example\.org"):
        run("create_api_token", "ghost@example.org")
    assert not ApiToken.objects.exists()


def test_create_api_token_refuses_a_deactivated_person(department):
    User.objects.filter(pk=department.outsider.pk).update(is_active=False)
    with pytest.raises(CommandError, match="deactivated"):
        run("create_api_token", department.outsider.email)


# invite_user -----------------------------------------------------------------------------


def test_invite_user_queues_one_invitation_a_day(department):
    out, _ = run("invite_user", department.outsider.email, department.trainee.email)
    assert out.count("Invitation queued") == 2
    again, _ = run("invite_user", department.outsider.email)
    assert "already invited today" in again
    assert OutboundEmail.objects.filter(key__startswith="invitation:").count() == 2


def test_invite_user_refuses_unknown_addresses_before_sending_any(department):
    with pytest.raises(CommandError, match=r"ghost@example\.org"):
        run("invite_user", department.outsider.email, "ghost@example.org")
    assert not OutboundEmail.objects.exists()
