"""What a viewer may know about a submission: the one place that answers it.

Every output built from submissions (pages, htmx fragments, the API, the PDF, e-mails, the
monitoring and report figures of reporting/, the teaching-case credits of conferences/)
asks here rather than deciding for itself.

| viewer's side | the submitter           | the original reader            | times              |
| ------------- | ----------------------- | ------------------------------ | ------------------ |
| submitter     | self                    | only if they named the reader  | exact              |
| reader        | only if the submitter   | self                           | days: the day it   |
|               | signed                  |                                | was shared, due    |
|               |                         |                                | dates, no minutes  |
| champion      | yes                     | yes                            | exact              |
| anyone else   | no                      | no                             | none               |

A champion who submitted or read a submission is its submitter or reader, never its
champion: `selectors.champion_submissions` leaves both out of the queue.

Counts are the other channel: a person who read a study and then watches a colleague's
count go up learns who submitted. So every count a viewer sees about people leaves out the
submissions that viewer read (`countable_by`), in every month and total.

Time is the third: due times are the submission minute plus a window, and an e-mail that
leaves a second after the click names its sender to anyone holding the PACS log of who
opened the study. So the reader sees days, and feedback reaches the reader in batches
(`feedback_release_at`): the reader's pages show it, and its e-mail leaves, at the same
batch time, which the champion sees.
"""

import datetime
import secrets
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format

from peerlearning.models import User
from submissions.models import FeedbackBatching, SectionSubmissionSettings, Submission, Urgency

SUBMITTER = "submitter"
READER = "reader"
CHAMPION = "champion"

# The routine batch's random spread after its hour: long enough that the minute of arrival
# says nothing about the minute of the click.
BATCH_SPREAD = datetime.timedelta(minutes=30)
DAILY_BATCH_TIME = datetime.time(7, 0)


@dataclass(frozen=True)
class Disclosure:
    """What one viewer may know of one submission."""

    side: str | None
    knows_submitter: bool
    knows_reader: bool
    exact_times: bool
    # What the other side of the thread knows of this viewer (for honest wording).
    known_to_other_side: bool
    submitter_name: str = ""
    reader_name: str = ""

    def moment(self, value: datetime.datetime | None) -> str:
        """A time as this viewer may see it: to the minute, or its day."""
        if value is None:
            return ""
        local = timezone.localtime(value)
        if self.exact_times:
            return date_format(local, "j M Y H:i")
        return date_format(local.date(), "j M Y")

    def day(self, value: datetime.datetime | None) -> datetime.date | None:
        return timezone.localdate(value) if value is not None else None

    @property
    def reply_help(self) -> str:
        """The line under the reply box: what the other side will see of the writer."""
        if self.side == READER:
            if self.known_to_other_side:
                return (
                    "Your colleague named you as the reader, so they know your messages "
                    "come from you."
                )
            return "Your colleague reads this without your name."
        if self.side == SUBMITTER:
            if self.known_to_other_side:
                return "The reader sees your name: you signed the submission."
            return "The reader sees this without your name."
        return ""

    @property
    def reply_sent(self) -> str:
        if self.known_to_other_side:
            return "Your message was sent."
        return "Your message was sent. Your name was not shown."

    def author_label(self, side: str) -> str:
        """Who wrote a message in the thread, as this viewer may know it."""
        if side == self.side:
            return "You"
        if side == READER:
            if self.side == CHAMPION and self.reader_name:
                return f"Original reader ({self.reader_name})"
            if self.side == SUBMITTER and self.knows_reader and self.reader_name:
                return self.reader_name
            return "Original reader"
        if self.knows_submitter and self.submitter_name:
            return self.submitter_name
        return "The submitter"


def feedback_visible_to_reader(
    submission: Submission, now: datetime.datetime | None = None
) -> bool:
    sent = submission.feedback_sent_at
    return sent is not None and sent <= (now or timezone.now())


def side_of(
    *,
    viewer: User,
    submission: Submission,
    championed: set[int] | frozenset[int],
    now: datetime.datetime | None = None,
) -> str | None:
    """How the viewer relates to the submission. Submitter and reader win over champion."""
    if submission.submitter_id == viewer.pk:
        return SUBMITTER
    if submission.original_reader_id == viewer.pk:
        return READER if feedback_visible_to_reader(submission, now) else None
    if submission.section_id in championed:
        return CHAMPION
    return None


def _name(user: User | None) -> str:
    return user.display_name if user is not None else ""


def disclosure_for(
    *,
    viewer: User,
    submission: Submission,
    championed: set[int] | frozenset[int] | None = None,
    now: datetime.datetime | None = None,
) -> Disclosure:
    """What `viewer` may know of `submission` (see the table at the top)."""
    if championed is None:
        from submissions.selectors import championed_section_ids

        championed = set(championed_section_ids(viewer))
    side = side_of(viewer=viewer, submission=submission, championed=championed, now=now)
    knows_submitter = side in (SUBMITTER, CHAMPION) or (
        side == READER and submission.submitter_signed
    )
    knows_reader = submission.original_reader_id is not None and (
        side in (READER, CHAMPION) or (side == SUBMITTER and submission.reader_named_by_submitter)
    )
    if side == READER:
        known = submission.reader_named_by_submitter
    elif side == SUBMITTER:
        known = submission.submitter_signed
    else:
        known = False
    return Disclosure(
        side=side,
        knows_submitter=knows_submitter,
        knows_reader=knows_reader,
        exact_times=side in (SUBMITTER, CHAMPION),
        known_to_other_side=known,
        submitter_name=_name(submission.submitter) if knows_submitter else "",
        reader_name=_name(submission.original_reader) if knows_reader else "",
    )


def disclosures_for(*, viewer: User, submissions) -> dict[int, Disclosure]:
    """`disclosure_for` for a page of submissions, the viewer's sections read once."""
    from submissions.selectors import championed_section_ids

    championed = set(championed_section_ids(viewer))
    now = timezone.now()
    return {
        s.pk: disclosure_for(viewer=viewer, submission=s, championed=championed, now=now)
        for s in submissions
    }


# Counts ------------------------------------------------------------------------------------


def read_by(viewer: User | None) -> Q:
    """Submissions the viewer read: never in a count the viewer sees about people."""
    if viewer is None or viewer.pk is None:
        return Q(pk__in=[])
    return Q(original_reader_id=viewer.pk)


def countable_by(submissions: QuerySet[Submission], *, viewer: User | None) -> QuerySet[Submission]:
    """`submissions` without those the viewer read: the base of every count about people
    that the viewer sees (a colleague's month, year, reminder, export)."""
    return submissions.exclude(read_by(viewer))


def submissions_read_by(viewer: User | None) -> QuerySet[Submission]:
    """The submissions the viewer read, for figures kept viewer-free (cached ledgers) that
    are corrected per viewer by subtracting these."""
    return Submission.objects.filter(read_by(viewer))


# When feedback reaches the reader -------------------------------------------------------------


def feedback_release_at(
    *,
    config: SectionSubmissionSettings,
    urgency: str,
    now: datetime.datetime | None = None,
) -> datetime.datetime:
    """When feedback sent now reaches the reader (page and e-mail at once).

    Urgent feedback goes at the next quarter hour: the patient comes first. Routine feedback
    goes with the section's batch, plus a random delay of up to BATCH_SPREAD.
    """
    now = timezone.localtime(now or timezone.now())
    if urgency == Urgency.URGENT:
        quarter = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
        return quarter + datetime.timedelta(minutes=15)
    if config.feedback_batching == FeedbackBatching.DAILY:
        day = now.date() + datetime.timedelta(days=int(now.time() >= DAILY_BATCH_TIME))
        base = datetime.datetime.combine(day, DAILY_BATCH_TIME, tzinfo=now.tzinfo)
    else:
        base = now.replace(minute=0, second=0, microsecond=0) + datetime.timedelta(hours=1)
    spread = secrets.randbelow(int(BATCH_SPREAD.total_seconds()) + 1)
    return base + datetime.timedelta(seconds=spread)
