"""Django-side steps of the fault drills, run in a subprocess against a scratch database.

    python -m tests.faults.actions <name> '<json kwargs>'

The drills' test processes never open the scratch database through Django (pytest-django's
test database is another one, and its transactions are invisible to the worker and the web
server); each step here sets Django up with the drill's environment, does one thing, and
prints its result as one JSON line.
"""

import datetime
import json
import sys


def reminder_section(*, people: int) -> dict:
    """A section of `people` participating radiologists whose reminder is due now."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from peerlearning.models import Membership, Role, Section, User
    from reporting.targets.models import ReminderSettings

    section = Section.objects.create(name="Drill: teleradiology", slug="drill-tele")
    password = make_password(None)
    User.objects.bulk_create(
        [
            User(
                email=f"rad{n:04d}@drill.example.org",
                first_name=f"Rad{n}",
                last_name="Drill",
                password=password,
            )
            for n in range(people)
        ],
        batch_size=1000,
    )
    started = timezone.localdate() - datetime.timedelta(days=400)
    Membership.objects.bulk_create(
        [
            Membership(user=user, section=section, role=Role.RADIOLOGIST, started_on=started)
            for user in User.objects.filter(email__endswith="@drill.example.org")
        ],
        batch_size=1000,
    )
    today = timezone.localdate()
    # Due since midnight today (the day is at most 28): the hourly job sends it at its next run.
    ReminderSettings.objects.create(section=section, day_of_month=min(today.day, 28), hour=0)
    return {"section": section.pk, "people": people}


def periodic_every(*, name_contains: str, seconds: int) -> dict:
    """Run a periodic task every `seconds` instead of its production schedule."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    interval, _ = IntervalSchedule.objects.get_or_create(
        every=seconds, period=IntervalSchedule.SECONDS
    )
    tasks = list(PeriodicTask.objects.filter(name__icontains=name_contains))
    for task in tasks:
        task.crontab = None
        task.interval = interval
        task.save()
    # Everything else stays quiet during the drill.
    PeriodicTask.objects.exclude(pk__in=[t.pk for t in tasks]).update(enabled=False)
    return {"changed": [t.name for t in tasks]}


def submission_setup() -> dict:
    """The test department; an API token for the radiologist; a site admin's session."""
    from django.conf import settings
    from django.test.utils import override_settings

    # force_login there passes the second factor the site policy asks of these people.
    from peerlearning.testing import Client, api_key_for, make_department

    department = make_department()
    token = api_key_for(department.radiologist)
    with override_settings(ALLOWED_HOSTS=["testserver", "127.0.0.1"]):
        client = Client()
        client.force_login(department.site_admin)
        admin_session = client.cookies[settings.SESSION_COOKIE_NAME].value
        client = Client()
        client.force_login(department.champion)
        champion_session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {
        "token": token,
        "reader": department.reader.email,
        "radiologist": department.radiologist.email,
        "section": department.neuro.slug,
        "admin_session": admin_session,
        "champion_session": champion_session,
    }


def outbox_due_now() -> dict:
    """Fast-forward the outbox's clock: back-offs and claims that would end later end now."""
    from django.utils import timezone

    from peerlearning.models import OutboundEmail

    now = timezone.now()
    pending = OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING)
    backoffs = pending.filter(next_attempt_at__gt=now).update(next_attempt_at=now)
    claims = pending.filter(claimed_until__gt=now).update(claimed_until=now)
    return {"backoffs": backoffs, "claims": claims}


ACTIONS = {
    "reminder_section": reminder_section,
    "periodic_every": periodic_every,
    "submission_setup": submission_setup,
    "outbox_due_now": outbox_due_now,
}


def main() -> None:
    import django

    django.setup()
    name = sys.argv[1]
    kwargs = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    print(json.dumps(ACTIONS[name](**kwargs)))


if __name__ == "__main__":
    main()
