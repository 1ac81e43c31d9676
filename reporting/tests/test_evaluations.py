"""Peer evaluations (figure 2): cycles, evaluators, forms, reminders, anonymous summaries."""

import datetime
import random

import pytest
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from peerlearning.models import OutboundEmail, Role
from peerlearning.testing import make_member
from reporting.models import Competency, EvaluationCycle, PeerEvaluation
from reporting.oppe import evaluations as ev

DUE = datetime.date(2026, 12, 15)
GOOD = {c.value: 4 for c in Competency} | {"conclusion": "meets", "comments": ""}


@pytest.fixture
def cycle(department):
    return ev.evaluation_cycle_create(
        actor=department.leader,
        name="Neuro OPPE 2026 H2",
        sections=[department.neuro],
        period_start=datetime.date(2026, 7, 1),
        period_end=datetime.date(2026, 12, 31),
        due_on=DUE,
    )


def ask(cycle, subject, *evaluators, actor):
    ev.evaluation_evaluators_set(cycle=cycle, subject=subject, evaluators=evaluators, actor=actor)
    return {f.evaluator_id: f for f in cycle.forms.filter(subject=subject)}


def answer(form, **changes):
    return ev.evaluation_submit(form=form, evaluator=form.evaluator, **(GOOD | changes))


# Opening a cycle and choosing evaluators ------------------------------------------------------


def test_a_leader_opens_a_cycle_for_a_section_they_lead(client, department):
    client.force_login(department.leader)
    page = client.get(reverse("reporting:evaluation-cycle-create")).content.decode()
    assert "Neuroradiology" in page and "Body imaging" not in page
    response = client.post(
        reverse("reporting:evaluation-cycle-create"),
        {
            "name": "Neuro 2026",
            "sections": [department.neuro.pk],
            "period_start": "2026-01-01",
            "period_end": "2026-12-31",
            "due_on": (timezone.localdate() + datetime.timedelta(days=30)).isoformat(),
        },
    )
    cycle = EvaluationCycle.objects.get()
    assert response["Location"] == reverse("reporting:evaluation-cycle", args=[cycle.pk])
    assert list(cycle.sections.all()) == [department.neuro]
    refused = client.post(
        reverse("reporting:evaluation-cycle-create"),
        {
            "name": "Body 2026",
            "sections": [department.body.pk],
            "period_start": "2026-12-31",
            "period_end": "2026-01-01",
            "due_on": "2020-01-01",
        },
    )
    text = refused.content.decode()
    assert "Select a valid choice" in text
    assert "The period must end after it starts." in text
    assert "The due date has passed already." in text


def test_the_radiologists_evaluated_are_the_sections_participating_radiologists(cycle, department):
    assert set(ev.cycle_radiologists(cycle=cycle)) == {
        department.radiologist,
        department.reader,
        department.champion,
    }


def test_evaluators_are_asked_and_e_mailed_once_per_cycle(cycle, department):
    ask(
        cycle,
        department.radiologist,
        department.reader,
        department.champion,
        actor=department.leader,
    )
    ask(cycle, department.champion, department.reader, actor=department.leader)
    invites = OutboundEmail.objects.filter(key__startswith=f"evaluation-invite:{cycle.pk}:")
    assert sorted(invites.values_list("to", flat=True)) == sorted(
        [department.reader.email, department.champion.email]
    )
    body = invites.get(to=department.champion.email).body_text
    assert "1 peer evaluation" in body and department.radiologist.last_name not in body


def test_answered_forms_stay_when_evaluators_change(cycle, department):
    forms = ask(
        cycle,
        department.radiologist,
        department.reader,
        department.champion,
        actor=department.leader,
    )
    answer(forms[department.reader.pk])
    added, removed = ev.evaluation_evaluators_set(
        cycle=cycle, subject=department.radiologist, evaluators=[], actor=department.leader
    )
    assert (added, removed) == (0, 1)
    assert list(cycle.forms.values_list("evaluator", flat=True)) == [department.reader.pk]


def test_nobody_evaluates_themselves_or_from_outside_the_cycles_sections(cycle, department):
    with pytest.raises(ValueError, match="radiologists of the cycle's sections"):
        ev.evaluation_evaluators_set(
            cycle=cycle,
            subject=department.radiologist,
            evaluators=[department.body_champion],
            actor=department.leader,
        )
    ask(cycle, department.radiologist, department.radiologist, actor=department.leader)
    assert not cycle.forms.exists()


def test_random_peers_come_from_the_same_section_and_the_work_is_spread(department):
    peers = [
        make_member(department.neuro, Role.RADIOLOGIST, first_name=f"Peer{i}") for i in range(7)
    ]
    make_member(department.body, Role.RADIOLOGIST, first_name="Bodyonly")
    cycle = ev.evaluation_cycle_create(
        actor=department.leader,
        name="c",
        sections=[department.neuro, department.body],
        period_start=DUE,
        period_end=DUE,
        due_on=DUE,
    )
    result = ev.evaluation_assign_random(
        cycle=cycle, per_radiologist=3, actor=department.leader, rng=random.Random(1)
    )
    neuro = {department.radiologist, department.reader, department.champion, *peers}
    body = set(ev.cycle_radiologists(cycle=cycle)) - neuro
    assert len(body) == 2 and result.short == sorted(
        body, key=lambda u: (u.last_name, u.first_name)
    )
    for subject in neuro:
        evaluators = {f.evaluator for f in cycle.forms.filter(subject=subject)}
        assert len(evaluators) == 3 and subject not in evaluators and evaluators <= neuro
    loads = [cycle.forms.filter(evaluator=person).count() for person in neuro]
    assert max(loads) - min(loads) <= 1, "every peer evaluates about as many colleagues"
    again = ev.evaluation_assign_random(cycle=cycle, per_radiologist=3, actor=department.leader)
    assert again.added == 0, "topping up to 3 again adds nothing"


def test_the_leader_picks_evaluators_on_a_page(client, cycle, department):
    client.force_login(department.leader)
    url = reverse("reporting:evaluation-assign", args=[cycle.pk, department.radiologist.pk])
    page = client.get(url).content.decode()
    assert (
        department.reader.display_name in page and department.body_champion.display_name not in page
    )
    response = client.post(url, {"evaluators": [department.reader.pk, department.champion.pk]})
    assert response.status_code == 302
    assert cycle.forms.filter(subject=department.radiologist).count() == 2
    outside = reverse("reporting:evaluation-assign", args=[cycle.pk, department.body_champion.pk])
    assert client.get(outside).status_code == 404


def test_the_cycle_page_lists_radiologists_and_evaluators_in_few_queries(
    client, cycle, department, django_assert_max_num_queries
):
    for i in range(10):
        make_member(department.neuro, Role.RADIOLOGIST, first_name=f"Peer{i}")
    ev.evaluation_assign_random(cycle=cycle, per_radiologist=3, actor=department.leader)
    client.force_login(department.leader)
    client.get(reverse("reporting:evaluation-cycles"))
    with django_assert_max_num_queries(16):
        response = client.get(reverse("reporting:evaluation-cycle", args=[cycle.pk]))
    assert "Peer9" in response.content.decode()
    with django_assert_max_num_queries(12):
        assert client.get(reverse("reporting:evaluation-cycles")).status_code == 200


def test_a_leader_of_another_section_cannot_see_the_cycle(client, cycle, department):
    other = make_member(department.body, Role.LEADER, first_name="Otherleader")
    client.force_login(other)
    assert client.get(reverse("reporting:evaluation-cycle", args=[cycle.pk])).status_code == 404
    assert "Neuro OPPE" not in client.get(reverse("reporting:evaluation-cycles")).content.decode()


# Filling in the form -------------------------------------------------------------------------


def test_a_rating_below_2_needs_a_plan_of_action(cycle, department):
    form = ask(cycle, department.radiologist, department.reader, actor=department.leader)[
        department.reader.pk
    ]
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        answer(form, professionalism=1)
    assert refused.value.message_dict == {
        "plan_of_action": ["A plan of action is needed for a rating below 2 (Professionalism)."]
    }
    answer(form, professionalism=1, plan_of_action="Monthly check-in with the section chief.")
    form.refresh_from_db()
    assert form.is_submitted and form.professionalism == 1


def test_the_evaluator_fills_in_the_form_on_its_page(client, cycle, department):
    form = ask(cycle, department.radiologist, department.reader, actor=department.leader)[
        department.reader.pk
    ]
    client.force_login(department.reader)
    todo = client.get(reverse("reporting:evaluations-todo")).content.decode()
    assert department.radiologist.display_name in todo
    url = reverse("reporting:evaluation-form", args=[form.pk])
    page = client.get(url).content.decode()
    assert "Consistently exceeds expectations" in page and "Does not perform" in page
    low = {**GOOD, "medical_knowledge": 1, "comments": "Thorough."}
    response = client.post(url, low)
    assert (
        "A plan of action is needed for a rating below 2 (Medical knowledge)."
        in response.content.decode()
    )
    response = client.post(url, {**low, "plan_of_action": "Pair on complex cases."})
    assert response.status_code == 302
    form.refresh_from_db()
    assert form.is_submitted and form.medical_knowledge == 1


def test_an_evaluator_sees_only_their_own_forms(client, cycle, department):
    forms = ask(
        cycle,
        department.radiologist,
        department.reader,
        department.champion,
        actor=department.leader,
    )
    client.force_login(department.reader)
    mine = reverse("reporting:evaluation-form", args=[forms[department.reader.pk].pk])
    theirs = reverse("reporting:evaluation-form", args=[forms[department.champion.pk].pk])
    assert client.get(mine).status_code == 200
    assert client.get(theirs).status_code == 404
    assert client.post(theirs, GOOD).status_code == 404
    with pytest.raises(PermissionError):
        ev.evaluation_submit(
            form=forms[department.champion.pk], evaluator=department.reader, **GOOD
        )
    # The radiologist evaluated cannot open a form about themselves either.
    client.force_login(department.radiologist)
    assert client.get(mine).status_code == 404


def test_a_closed_cycle_freezes_its_forms(client, cycle, department):
    form = ask(cycle, department.radiologist, department.reader, actor=department.leader)[
        department.reader.pk
    ]
    ev.evaluation_cycle_close(cycle=cycle, actor=department.leader)
    client.force_login(department.reader)
    url = reverse("reporting:evaluation-form", args=[form.pk])
    assert "the form can no longer be changed" in client.get(url).content.decode()
    client.post(url, GOOD)
    form.refresh_from_db()
    assert not form.is_submitted
    with pytest.raises(ValueError, match="closed"):
        answer(form)


# Summaries and anonymity ---------------------------------------------------------------------


@pytest.fixture
def answered(cycle, department):
    third = make_member(department.neuro, Role.RADIOLOGIST, first_name="Thirdpeer")
    forms = ask(
        cycle,
        department.radiologist,
        department.reader,
        department.champion,
        third,
        actor=department.leader,
    )
    answer(
        forms[department.reader.pk],
        patient_care=5,
        comments="Zealous about follow-up.",
        conclusion="improvement",
        improvement_area="Report clarity",
    )
    answer(forms[department.champion.pk], patient_care=2, comments="Always available.")
    return forms


def test_the_summary_gives_means_count_and_comments_without_names(cycle, department, answered):
    summary = ev.evaluation_summary(cycle=cycle, subject=department.radiologist)
    assert summary.evaluators == 2
    assert summary.means["patient_care"] == pytest.approx(3.5)
    assert summary.means["medical_knowledge"] == pytest.approx(4)
    assert summary.comments == ["Always available.", "Zealous about follow-up."]
    assert summary.improvement_areas == ["Report clarity"]
    assert dict(summary.conclusion_counts())["Meets expectations of performance"] == 1
    # Nothing in it says who wrote what: a count, means and texts only.
    assert set(vars(summary)) == {
        "cycle",
        "subject_id",
        "evaluators",
        "means",
        "comments",
        "plans",
        "improvement_areas",
        "conclusions",
    }


def test_the_radiologist_sees_their_summary_only_once_the_cycle_is_closed(
    client, cycle, department, answered
):
    client.force_login(department.radiologist)
    url = reverse("reporting:evaluation-mine")
    assert "still open" in client.get(url).content.decode()
    ev.evaluation_cycle_close(cycle=cycle, actor=department.leader)
    page = client.get(url).content.decode()
    assert "Zealous about follow-up." in page and "Always available." in page
    for evaluator in (department.reader, department.champion):
        assert evaluator.first_name not in page and evaluator.last_name not in page
    assert "Thirdpeer" not in page, "who was asked is not shown either"
    assert "Zealous about follow-up." in client.get(reverse("reporting:oppe-mine")).content.decode()


def test_with_a_single_answer_the_ratings_are_withheld_from_the_radiologist(
    client, cycle, department
):
    forms = ask(cycle, department.radiologist, department.reader, actor=department.leader)
    answer(forms[department.reader.pk], comments="Only voice.")
    ev.evaluation_cycle_close(cycle=cycle, actor=department.leader)
    client.force_login(department.radiologist)
    page = client.get(reverse("reporting:evaluation-mine")).content.decode()
    assert "Only voice." not in page and "could tell you who wrote them" in page
    # The leader still reads it.
    client.force_login(department.leader)
    summary_url = reverse(
        "reporting:evaluation-summary", args=[cycle.pk, department.radiologist.pk]
    )
    assert "Only voice." in client.get(summary_url).content.decode()


def test_nobody_else_reads_a_radiologists_summary(client, cycle, department, answered):
    ev.evaluation_cycle_close(cycle=cycle, actor=department.leader)
    client.force_login(department.reader)
    assert "Zealous" not in client.get(reverse("reporting:evaluation-mine")).content.decode()
    assert "Zealous" not in client.get(reverse("reporting:oppe-mine")).content.decode()
    with pytest.raises(Http404):
        ev.cycle_get_for_user(user=department.reader, pk=cycle.pk)


def test_a_leader_reads_summaries_without_names(client, cycle, department, answered):
    client.force_login(department.leader)
    url = reverse("reporting:evaluation-summary", args=[cycle.pk, department.radiologist.pk])
    page = client.get(url).content.decode()
    assert "Zealous about follow-up." in page
    assert department.reader.last_name not in page and department.champion.last_name not in page


# Reminders ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_before_due", "reminded"),
    [(8, False), (7, True), (3, False), (1, True), (0, True), (-1, False), (-7, True), (-14, True)],
)
def test_reminders_go_out_on_fixed_days(days_before_due, reminded):
    today = DUE - datetime.timedelta(days=days_before_due)
    assert ev.is_reminder_day(due_on=DUE, today=today) is reminded


def test_each_evaluator_is_reminded_once_a_reminder_day_until_they_answer(cycle, department):
    forms = ask(
        cycle,
        department.radiologist,
        department.reader,
        department.champion,
        actor=department.leader,
    )
    ask(cycle, department.champion, department.reader, actor=department.leader)
    answer(forms[department.champion.pk])
    week_before = DUE - datetime.timedelta(days=7)
    assert ev.evaluation_reminders_send(today=week_before) == 1
    assert ev.evaluation_reminders_send(today=week_before) == 0, "a second run the same day"
    reminder = OutboundEmail.objects.get(key__startswith="evaluation-reminder:")
    assert reminder.to == department.reader.email
    assert "2 peer evaluations" in reminder.body_text
    assert department.radiologist.last_name not in reminder.body_text
    assert ev.evaluation_reminders_send(today=week_before + datetime.timedelta(days=1)) == 0
    assert ev.evaluation_reminders_send(today=DUE) == 1
    ev.evaluation_cycle_close(cycle=cycle, actor=department.leader)
    assert ev.evaluation_reminders_send(today=DUE + datetime.timedelta(days=7)) == 0


def test_the_daily_reminder_job_is_scheduled_and_runs_through_celery(department):
    import reporting
    from reporting.tasks import send_evaluation_reminders

    cycle = ev.evaluation_cycle_create(
        actor=department.leader,
        name="Due in a week",
        sections=[department.neuro],
        period_start=DUE,
        period_end=DUE,
        due_on=timezone.localdate() + datetime.timedelta(days=7),
    )
    ask(cycle, department.radiologist, department.reader, actor=department.leader)
    assert send_evaluation_reminders.delay().get() == 1
    job = reporting.PERIODIC_TASKS["OPPE: remind peer evaluators"]
    assert job["task"] == "reporting.tasks.send_evaluation_reminders"


def test_forms_are_kept_per_pair_once(cycle, department):
    ask(cycle, department.radiologist, department.reader, actor=department.leader)
    ask(cycle, department.radiologist, department.reader, actor=department.leader)
    assert PeerEvaluation.objects.count() == 1
