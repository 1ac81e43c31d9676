"""The hospital's SMTP server is down when a submission's feedback e-mail is due.

The submission is saved and answered 201 all the same; the e-mail stays in the outbox as
pending with the SMTP error, which the site administrator sees on the outbox page; when the
server is back, the outbox sweeper sends it, once.

The e-mail is due with the section's next batch (docs/submissions.md) and the first failed
attempt schedules the next one a minute later (back-off 1, 2, 4 … min); the drill moves
both to now instead of waiting, and runs the sweeper every 3 s
instead of every 60 s. docs/reliability.md gives the production timing.
"""

import contextlib
import time

import pytest

from peerlearning.testing import SmtpSink
from tests.faults.harness import (
    Database,
    Gunicorn,
    action,
    app_env,
    celery_beat,
    celery_worker,
    http_get,
    http_post_json,
    wait_until,
    worker_ready,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]

SWEEP = 3
SUBJECT = "A colleague shared a learning opportunity with you"
FEEDBACK = (
    "SELECT status, attempts, last_error FROM peerlearning_outboundemail "
    "WHERE key LIKE 'feedback:%%'"
)


def test_feedback_waits_in_the_outbox_while_smtp_is_down_and_goes_out_once_it_returns(
    scratch_database, drill_redis_url, static_root, tmp_path, run
):
    sink = SmtpSink()  # its port is chosen now; nothing listens there until start()
    env = app_env(
        database_url=scratch_database,
        redis_url=drill_redis_url,
        home=tmp_path,
        email_url=f"smtp://127.0.0.1:{sink.port}",
        STATIC_ROOT=static_root,
    )
    setup = action(env, "submission_setup")
    action(env, "periodic_every", name_contains="outbox sweeper", seconds=SWEEP)
    db = Database(scratch_database)
    try:
        gunicorn = run(Gunicorn(env, tmp_path / "gunicorn.log"))
        worker = run(celery_worker(env, tmp_path / "worker.log"))
        run(celery_beat(env, tmp_path / "beat.log", workdir=tmp_path / "beat"))
        gunicorn.wait_ready()
        wait_until(lambda: worker_ready(worker), timeout=30, what="worker ready")

        status = http_post_json(
            f"{gunicorn.base}/api/v1/submissions/",
            {
                "section": setup["section"],
                "accession_number": "DRILLSMTP0001",
                "reason": "discrepancy",
                "reason_detail": "perceptual",
                "description": "A small subdural hematoma was not reported (drill).",
                "original_reader_email": setup["reader"],
                "required_actions": ["addendum"],
                "attestation": True,
            },
            token=setup["token"],
        )
        assert status == 201
        assert db.scalar("SELECT count(*) FROM submissions_submission") == 1
        # Feedback goes with the section's next batch (the next hour, submissions.md): the
        # drill moves the batch to now instead of waiting for it.
        db.scalar(
            "WITH shared AS (UPDATE submissions_submission SET feedback_sent_at = now() "
            "RETURNING 1), due AS (UPDATE peerlearning_outboundemail SET next_attempt_at = now() "
            "WHERE key LIKE 'feedback:%%' RETURNING 1) SELECT count(*) FROM due"
        )
        failed = wait_until(
            lambda: (row := db.rows(FEEDBACK)) and row[0][2] and row[0],
            # The sweeper, not an on-commit task, makes the first attempt: beat must be up.
            timeout=60,
            what="a failed delivery attempt",
        )
        assert failed[0] == "pending"
        assert "refused" in failed[2].lower(), failed[2]

        cookie = {"Cookie": f"sessionid={setup['admin_session']}"}
        page_status, page = http_get(f"{gunicorn.base}/outbox/?status=pending", headers=cookie)
        assert page_status == 200
        assert SUBJECT in page
        assert "Pending" in page
        assert "ConnectionRefusedError" in page
        # The champion sees it on the submission's review page too.
        submission_id = db.scalar("SELECT id FROM submissions_submission")
        page_status, page = http_get(
            f"{gunicorn.base}/submissions/queue/{submission_id}/",
            headers={"Cookie": f"sessionid={setup['champion_session']}"},
        )
        assert page_status == 200
        assert 'data-delivery="pending"' in page
        assert "ConnectionRefusedError" in page

        sink.start()
        back = time.monotonic()
        # The back-off after the first failure would end a minute later: the drill ends it now.
        db.scalar(
            "WITH due AS (UPDATE peerlearning_outboundemail SET next_attempt_at = now() "
            "WHERE status = 'pending' RETURNING 1) SELECT count(*) FROM due"
        )
        wait_until(lambda: sink.messages, timeout=20, what="the e-mail at the SMTP server")
        delivered = time.monotonic() - back
        time.sleep(SWEEP + 1)  # another sweep: it must not send the message again

        assert [m["To"] for m in sink.messages] == [setup["reader"]]
        assert SUBJECT in sink.messages[0]["Subject"]
        status_after, attempts, _ = db.rows(FEEDBACK)[0]
        assert status_after == "sent"
        page_status, page = http_get(f"{gunicorn.base}/outbox/?status=sent", headers=cookie)
        assert SUBJECT in page
        print(
            f"\nDRILL smtp-down: submission saved (201) while SMTP was down; the delivery "
            f"failed with '{failed[2][:60]}' and waited as pending (seen on /outbox/); sent "
            f"{delivered:.1f} s after the server returned (sweeper every {SWEEP} s, back-off "
            f"moved to now), after {attempts} attempts, once"
        )
    finally:
        with contextlib.suppress(AssertionError):  # never started: the drill failed early
            sink.stop()
        db.close()
