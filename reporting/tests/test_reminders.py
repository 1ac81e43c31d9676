"""The mid-month reminder, end to end through a real SMTP server: right people, right
numbers, and one e-mail per person per month whatever happens to the run."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from peerlearning.lib.emails import email_enqueue, email_send_due
from peerlearning.lib.months import month_of, month_start_at, next_month
from peerlearning.models import Membership, OutboundEmail
from reporting.targets import reminders
from reporting.targets.models import ReminderRun, ReminderSettings
from reporting.targets.reminders import (
    month_summaries_send,
    reminder_batch,
    reminder_key,
    reminder_send_test,
    reminders_dispatch_due,
    reminders_send,
)
from reporting.tests.test_targets import submit
from submissions.models import SectionSubmissionSettings

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
THIS_MONTH = month_of(TODAY)


def in_this_month(day: int) -> datetime.date:
    return THIS_MONTH.replace(day=day)


@pytest.fixture
def neuro_month(department):
    """This month in neuro: the radiologist has 1 submission, the champion 2, the reader none."""
    submit(department.neuro, department.radiologist, on=in_this_month(1), reason="great_catch")
    submit(department.neuro, department.champion, on=in_this_month(1), reason="interesting")
    submit(department.neuro, department.champion, on=in_this_month(1), reason="other")
    return department


def run(django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return reminders_send(month=THIS_MONTH, **kwargs)


def keys_sent() -> list[str]:
    return sorted(
        OutboundEmail.objects.filter(key__startswith="reminder:").values_list("key", flat=True)
    )


def test_each_participating_radiologist_gets_their_own_numbers(
    neuro_month, smtp_sink, django_capture_on_commit_callbacks
):
    d = neuro_month
    outcome = run(django_capture_on_commit_callbacks, section=d.neuro)
    assert (outcome.recipients, outcome.queued, outcome.thanks) == (3, 3, 1)
    recipients = sorted(m["To"] for m in smtp_sink.messages)
    assert recipients == sorted([d.radiologist.email, d.reader.email, d.champion.email])

    (body,) = smtp_sink.bodies_to(d.radiologist.email)
    assert "so far: 1 of 2, 1 still to go" in body
    assert "Great catch" in body
    assert "ACC" not in body  # the section does not e-mail accession numbers
    assert "/submissions/submit/" in body
    assert "The section so far: 3 of 6 submissions; 1 of 3 radiologists" in body

    (reader_body,) = smtp_sink.bodies_to(d.reader.email)
    assert "You have not submitted a case this month yet." in reader_body
    assert "Still needed: 2." in reader_body

    (thanks,) = smtp_sink.bodies_to(d.champion.email)
    assert "Thank you: you have already met this month's target" in thanks
    subjects = {m["To"]: m["Subject"] for m in smtp_sink.messages}
    assert subjects[d.radiologist.email].endswith(": 1 of 2 case submissions so far")


def test_trainees_assistants_leaders_and_other_sections_get_nothing(
    neuro_month, smtp_sink, django_capture_on_commit_callbacks
):
    run(django_capture_on_commit_callbacks, section=neuro_month.neuro)
    recipients = {m["To"] for m in smtp_sink.messages}
    for person in ("trainee", "assistant", "leader", "quality", "body_champion", "outsider"):
        assert getattr(neuro_month, person).email not in recipients


def test_accession_numbers_appear_only_when_the_section_allows_it(
    neuro_month, smtp_sink, django_capture_on_commit_callbacks
):
    SectionSubmissionSettings.objects.create(section=neuro_month.neuro, accession_in_email=True)
    run(django_capture_on_commit_callbacks, section=neuro_month.neuro)
    (body,) = smtp_sink.bodies_to(neuro_month.radiologist.email)
    accession = neuro_month.radiologist.submissions.get().accession_number
    assert accession in body


def test_those_on_target_get_nothing_when_the_section_says_so(
    neuro_month, smtp_sink, django_capture_on_commit_callbacks
):
    ReminderSettings.objects.create(
        section=neuro_month.neuro, when_met=ReminderSettings.WhenMet.SKIP
    )
    outcome = run(django_capture_on_commit_callbacks, section=neuro_month.neuro)
    assert outcome.queued == 2
    assert smtp_sink.bodies_to(neuro_month.champion.email) == []


def test_a_radiologist_who_left_or_is_on_leave_all_month_gets_nothing(
    neuro_month, smtp_sink, django_capture_on_commit_callbacks
):
    from reporting.targets.models import TargetExemption

    d = neuro_month
    TargetExemption.objects.create(
        section=d.neuro,
        user=d.reader,
        kind=TargetExemption.Kind.LEAVE,
        starts_on=THIS_MONTH,
        reason="Leave",
    )
    Membership.objects.filter(user=d.radiologist, section=d.neuro).update(
        ended_on=THIS_MONTH if TODAY > THIS_MONTH else None
    )
    batch = reminder_batch(section=d.neuro, month=THIS_MONTH)
    skipped = {s.user.pk for s in batch.skipped}
    assert d.reader.pk in skipped
    if TODAY > THIS_MONTH:
        assert d.radiologist.pk not in {x.user.pk for x in batch.drafts}


# Exactly once -------------------------------------------------------------------------------------


def test_two_runs_send_one_email_per_person(
    neuro_month, smtp_sink, django_capture_on_commit_callbacks
):
    first = run(django_capture_on_commit_callbacks, section=neuro_month.neuro)
    second = run(django_capture_on_commit_callbacks, section=neuro_month.neuro)
    assert (first.queued, second.queued, second.already) == (3, 0, 3)
    assert len(smtp_sink.messages) == 3
    assert len(keys_sent()) == 3


def test_a_run_interrupted_halfway_is_completed_by_the_next_without_duplicates(
    neuro_month, smtp_sink, django_capture_on_commit_callbacks, monkeypatch
):
    real, calls = reminders.email_enqueue, []

    def dies_on_the_second(**kwargs):
        calls.append(kwargs["key"])
        if len(calls) == 2:
            raise SystemExit("worker killed")
        return real(**kwargs)

    monkeypatch.setattr(reminders, "email_enqueue", dies_on_the_second)
    with pytest.raises(SystemExit):
        run(django_capture_on_commit_callbacks, section=neuro_month.neuro, batch_size=1)
    assert len(keys_sent()) == 1  # the first batch committed, the second rolled back
    assert not ReminderRun.objects.get().is_complete
    monkeypatch.setattr(reminders, "email_enqueue", real)

    outcome = run(django_capture_on_commit_callbacks, section=neuro_month.neuro)
    assert (outcome.queued, outcome.already) == (2, 1)
    assert len(smtp_sink.messages) == 3
    assert len({m["To"] for m in smtp_sink.messages}) == 3
    assert ReminderRun.objects.get().is_complete


def test_half_already_enqueued_then_a_full_run_sends_only_the_other_half(
    neuro_month, smtp_sink, django_capture_on_commit_callbacks
):
    batch = reminder_batch(section=neuro_month.neuro, month=THIS_MONTH)
    with django_capture_on_commit_callbacks(execute=True):
        for draft in batch.drafts[:1]:
            email_enqueue(
                key=draft.key,
                to=draft.user.email,
                subject=draft.subject,
                template=draft.template,
                context=draft.context,
            )
    outcome = run(django_capture_on_commit_callbacks, section=neuro_month.neuro)
    assert outcome.queued == 2
    assert sorted(m["To"] for m in smtp_sink.messages) == sorted(d.user.email for d in batch.drafts)


def test_refused_messages_are_retried_with_back_off_and_arrive_once(
    neuro_month, smtp_sink, django_capture_on_commit_callbacks
):
    smtp_sink.refuse_next(2)
    run(django_capture_on_commit_callbacks, section=neuro_month.neuro)
    assert len(smtp_sink.messages) == 1
    waiting = OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING)
    assert waiting.count() == 2
    assert all("451" in e.last_error and e.next_attempt_at > timezone.now() for e in waiting)

    assert email_send_due() == 0  # not due yet: the back-off holds them
    waiting.update(next_attempt_at=timezone.now())
    assert email_send_due() == 2
    assert sorted(m["To"] for m in smtp_sink.messages) == sorted(
        [neuro_month.radiologist.email, neuro_month.reader.email, neuro_month.champion.email]
    )
    assert OutboundEmail.objects.filter(status=OutboundEmail.Status.SENT).count() == 3
    # A third run after all that still owes nothing.
    assert run(django_capture_on_commit_callbacks, section=neuro_month.neuro).queued == 0


def test_the_key_names_section_month_and_person(neuro_month):
    assert reminder_key(7, datetime.date(2026, 3, 1), 42) == "reminder:7:2026-03:42"


# The schedule --------------------------------------------------------------------------------


def _at(day: int, hour: int) -> datetime.datetime:
    return month_start_at(THIS_MONTH) + datetime.timedelta(days=day - 1, hours=hour)


def test_the_hourly_job_sends_on_the_configured_day_and_hour_once(
    neuro_month, smtp_sink, django_capture_on_commit_callbacks
):
    ReminderSettings.objects.create(section=neuro_month.neuro, day_of_month=10, hour=9)
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders_dispatch_due(now=_at(10, 8)) == []
        sent = reminders_dispatch_due(now=_at(10, 9))
        again = reminders_dispatch_due(now=_at(10, 10))
    assert [o.section for o in sent] == [neuro_month.neuro]
    assert again == []
    assert len(smtp_sink.messages) == 3


def test_a_missed_hour_is_caught_up_later_in_the_month(
    neuro_month, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = reminders_dispatch_due(now=_at(17, 3))  # default: the 15th at 08:00
    assert {o.section.pk for o in outcomes} == {neuro_month.neuro.pk, neuro_month.body.pk}


def test_a_reminder_missed_by_more_than_a_week_is_left_to_the_assistant(neuro_month):
    assert reminders_dispatch_due(now=_at(23, 9)) == []


def test_a_section_that_switched_the_reminder_off_is_not_sent(neuro_month):
    ReminderSettings.objects.create(section=neuro_month.neuro, enabled=False)
    sections = {o.section.pk for o in reminders_dispatch_due(now=_at(20, 9))}
    assert neuro_month.neuro.pk not in sections


def test_the_beat_schedule_is_installed():
    from django_celery_beat.models import PeriodicTask

    from peerlearning.schedules import install_periodic_tasks

    install_periodic_tasks()
    task = PeriodicTask.objects.get(task="reporting.tasks.send_due_reminders")
    assert (task.crontab.minute, task.crontab.hour) == ("0", "*")
    summary = PeriodicTask.objects.get(task="reporting.tasks.send_month_summaries")
    assert summary.crontab.day_of_month == "1"


def test_the_celery_task_runs_the_dispatcher(neuro_month, monkeypatch):
    from reporting.tasks import send_due_reminders

    monkeypatch.setattr(
        "reporting.tasks.reminders_dispatch_due",
        lambda: [reminders.Outcome(section=neuro_month.neuro, month=THIS_MONTH, queued=3)],
    )
    assert send_due_reminders.delay().get() == 3


# The command ------------------------------------------------------------------------------------


def test_the_command_dry_run_sends_nothing_and_a_real_run_sends_once(neuro_month, capsys):
    call_command("send_midmonth_reminders", "--section", "neuroradiology", "--dry-run")
    assert "would queue 3 (1 thank-you)" in capsys.readouterr().out
    assert OutboundEmail.objects.count() == 0

    call_command("send_midmonth_reminders", "--section", "neuroradiology")
    call_command("send_midmonth_reminders", "--section", "neuroradiology")
    out = capsys.readouterr().out
    assert "queued 3" in out and "queued 0 (1 thank-you), 3 already sent" in out
    assert len(keys_sent()) == 3


def test_the_command_takes_a_month_and_refuses_a_bad_one(neuro_month):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="2026-03"):
        call_command("send_midmonth_reminders", "--month", "March")
    with pytest.raises(CommandError, match="slug"):
        call_command("send_midmonth_reminders", "--section", "nope")
    previous = month_of(THIS_MONTH - datetime.timedelta(days=1))
    call_command("send_midmonth_reminders", "--month", f"{previous:%Y-%m}", "--section", "body")
    assert OutboundEmail.objects.filter(key__contains=f":{previous:%Y-%m}:").exists()


# Test e-mail and the month-end summary ----------------------------------------------------------


def test_a_test_email_goes_to_the_assistant_only_and_can_be_repeated(
    neuro_month, smtp_sink, django_capture_on_commit_callbacks
):
    d = neuro_month
    with django_capture_on_commit_callbacks(execute=True):
        reminder_send_test(section=d.neuro, month=THIS_MONTH, actor=d.assistant, user=d.reader)
    with django_capture_on_commit_callbacks(execute=True):
        reminder_send_test(section=d.neuro, month=THIS_MONTH, actor=d.assistant, user=d.reader)
    assert [m["To"] for m in smtp_sink.messages] == [d.assistant.email] * 2
    assert smtp_sink.messages[0]["Subject"].startswith("[Test] ")
    assert "the reminder Quinn Reader would receive" in smtp_sink.bodies_to(d.assistant.email)[0]
    assert keys_sent() == []  # the real reminder is still owed


def test_a_champion_testing_never_sees_a_submission_they_were_the_reader_of(
    department, smtp_sink, django_capture_on_commit_callbacks
):
    SectionSubmissionSettings.objects.create(section=department.neuro, accession_in_email=True)
    about_champion = submit(
        department.neuro,
        department.radiologist,
        on=in_this_month(1),
        reason="discrepancy",
        reader=department.champion,
    )
    with django_capture_on_commit_callbacks(execute=True):
        reminder_send_test(
            section=department.neuro,
            month=THIS_MONTH,
            actor=department.champion,
            user=department.radiologist,
        )
    (body,) = smtp_sink.bodies_to(department.champion.email)
    assert about_champion.accession_number not in body
    assert "Discrepancy" not in body


def test_the_month_end_summary_goes_to_champions_and_assistants_once(
    neuro_month, smtp_sink, django_capture_on_commit_callbacks
):
    first_of_next = month_start_at(next_month(THIS_MONTH)) + datetime.timedelta(hours=8)
    with django_capture_on_commit_callbacks(execute=True):
        month_summaries_send(now=first_of_next)
        month_summaries_send(now=first_of_next)
    neuro = {m["To"] for m in smtp_sink.messages if "Neuroradiology" in m["Subject"]}
    assert neuro == {neuro_month.champion.email, neuro_month.assistant.email}
    (body,) = smtp_sink.bodies_to(neuro_month.assistant.email)
    assert "Case submissions counted: 3 of 6 (50%)" in body
    assert "Behind: 2" in body
    assert "/reporting/monitoring/?section=" in body
    assert len(smtp_sink.messages) == 3  # neuro's two, and the body section's champion
