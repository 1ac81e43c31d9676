"""The upload page: DICOM in, a de-identified zip and a JSON report out (champions, admins)."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import TooManyFilesSent
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render

from anonymizer import jobs as services
from anonymizer.forms import DeidentifyForm
from anonymizer.gate import (
    ReleaseSummary,
    SpanGone,
    field_key,
    object_texts_gate,
    text_source,
    text_span_release,
    text_span_replace,
)
from anonymizer.selectors import deidentification_job_get_for_user, deidentification_jobs_of
from anonymizer.uploads import MB, Limits, UploadRefused
from peerlearning.access import roles
from peerlearning.models import Role

LISTED = 50

champions_and_admins = roles(Role.CHAMPION, site_admins=True)


def _read_upload(request, limits: Limits) -> tuple[DeidentifyForm, list[str]]:
    """The bound form, or the problems that stopped the files from being read at all."""
    # An oversized upload is refused on its declared length, before any file is read or
    # kept (the web server caps the body itself: client_max_body_size).
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > limits.total_bytes + MB:
        return DeidentifyForm(initial={"case_key": services.new_case_key()}), [
            f"The upload is {declared / MB:.0f} MB; at most {limits.total_bytes // MB} MB "
            "can be uploaded at once."
        ]
    try:
        form = DeidentifyForm(request.POST, request.FILES)
        form.is_valid()
    except TooManyFilesSent:
        return DeidentifyForm(initial={"case_key": services.new_case_key()}), [
            f"More than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files at once: "
            "put them in a zip and upload that."
        ]
    return form, []


@champions_and_admins
def jobs(request):
    """Upload DICOM to de-identify; the person's own jobs, newest first."""
    limits = Limits.from_settings()
    form = DeidentifyForm(initial={"case_key": services.new_case_key()})
    problems: list[str] = []
    if request.method == "POST":
        form, problems = _read_upload(request, limits)
        if not problems and form.is_valid():
            try:
                job = services.deidentification_job_start(
                    files=form.cleaned_data["files"],
                    case_key=form.cleaned_data["case_key"],
                    clean_descriptors=form.cleaned_data["clean_descriptors"],
                    clean_structured_content=form.cleaned_data["clean_structured_content"],
                    actor=request.user,
                )
            except UploadRefused as refusal:
                problems = refusal.problems
            else:
                return redirect("anonymizer:job", job.uuid)
    return render(
        request,
        "anonymizer/jobs.html",
        {
            "form": form,
            "problems": problems,
            "jobs": deidentification_jobs_of(user=request.user)[:LISTED],
            "limit_mb": limits.total_bytes // MB,
            "max_files": limits.max_files,
            "days": settings.ANONYMIZER_RESULTS_DAYS,
        },
        status=400 if problems or form.errors else 200,
    )


@champions_and_admins
def job(request, job):
    job = deidentification_job_get_for_user(user=request.user, job_uuid=job)
    return render(request, "anonymizer/job.html", {"job": job})


@champions_and_admins
def job_status(request, job):
    """The progress fragment, polled by htmx while the job runs."""
    job = deidentification_job_get_for_user(user=request.user, job_uuid=job)
    if not request.htmx:
        return redirect("anonymizer:job", job.uuid)
    response = render(request, "anonymizer/job.html#job-status", {"job": job})
    if not job.running:
        # The job ended while the page watched: reload it to show the summary and downloads.
        response["HX-Refresh"] = "true"
    return response


def _download(request, job, *, name: str, filename: str, content_type: str, what: str):
    if not job.downloadable or not name or not default_storage.exists(name):
        raise Http404("No result to download.")
    services.deidentification_job_downloaded(job=job, what=what, request=request)
    response = FileResponse(
        default_storage.open(name, "rb"),
        as_attachment=True,
        filename=filename,
        content_type=content_type,
    )
    # De-identified, but still patient images: never kept by a browser or a proxy.
    response["Cache-Control"] = "no-store"
    return response


@champions_and_admins
def job_download(request, job):
    job = deidentification_job_get_for_user(user=request.user, job_uuid=job)
    return _download(
        request,
        job,
        name=job.result_zip,
        filename=f"deidentified-{job.case_key}.zip",
        content_type="application/zip",
        what="deidentified zip",
    )


@champions_and_admins
def job_report(request, job):
    job = deidentification_job_get_for_user(user=request.user, job_uuid=job)
    return _download(
        request,
        job,
        name=job.report_json,
        filename=f"deidentification-report-{job.case_key}.json",
        content_type="application/json",
        what="deidentification report",
    )


champions = roles(Role.CHAMPION)


@champions
def text_review(request, source: str, pk: str):
    """Each flagged span of an object's texts in context: "this is not PHI" or "replace"."""
    text_source_ = text_source(source)
    if text_source_ is None:
        raise Http404
    obj = text_source_.get_for_review(request.user, pk)
    if request.method == "POST":
        name = request.POST.get("field", "")
        texts = {field: text for field, _label, text in text_source_.texts(obj)}
        if name not in texts:
            raise Http404
        try:
            span = {
                "start": int(request.POST.get("start", "")),
                "end": int(request.POST.get("end", "")),
                "digest": request.POST.get("digest", ""),
            }
        except ValueError:
            messages.error(request, "That span could not be read; nothing was changed.")
            return redirect("anonymizer:text-review", source, pk)
        common = {
            "key": field_key(obj, name),
            "text": texts[name],
            "actor": request.user,
            "context": text_source_.context(obj),
            "request": request,
            **span,
        }
        try:
            if request.POST.get("decision") == "replace":
                new_text = text_span_replace(**common)
                text_source_.save(obj=obj, field=name, text=new_text, actor=request.user)
                messages.success(request, "Replaced by its marker in the stored text.")
            else:
                text_span_release(**common)
                text_source_.released(obj)
                messages.success(request, "Released: this span may be shown.")
        except SpanGone as gone:
            messages.error(request, str(gone))
        return redirect("anonymizer:text-review", source, pk)
    gated = object_texts_gate(text_source_, obj)
    return render(
        request,
        "anonymizer/text_review.html",
        {
            "title": text_source_.title(obj),
            "back_url": text_source_.back_url(obj),
            "texts": list(
                zip(gated, [name for name, _l, _t in text_source_.texts(obj)], strict=True)
            ),
            "summary": ReleaseSummary.of(gated),
            "source": source,
            "pk": pk,
        },
    )
