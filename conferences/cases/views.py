"""Teaching case pages: the library, making and editing a case, its images and credits."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import TooManyFilesSent
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from anonymizer.uploads import MB, Limits, UploadRefused
from conferences.anonymize import PRESETS, kind_label, presets_for
from conferences.cases import selectors as cases
from conferences.cases.forms import (
    BlackoutForm,
    CaseCreateForm,
    CaseForm,
    KeyImageEditForm,
    KeyImageForm,
    LibraryFilterForm,
    UploadForm,
)
from conferences.cases.images import (
    case_upload_start,
    image_blackout,
    image_delete,
    image_preview,
    image_text_proposals,
    key_image_add,
    key_image_delete,
    key_image_update,
)
from conferences.cases.models import CreditConsent, TeachingCase
from conferences.cases.services import (
    CaseRefused,
    credit_answer,
    credit_ask_readers,
    slide_credits,
    teaching_case_create,
    teaching_case_recheck,
    teaching_case_update,
)
from conferences.meetings.selectors import sections_by_role
from peerlearning.access import ALL_ROLES, roles, signed_in
from peerlearning.models import Role, Section

IMAGE_CACHE = "private, max-age=3600"


def _findings_for_display(case: TeachingCase) -> list[dict]:
    shown = []
    for finding in case.check_findings:
        kind = finding["kind"]
        if kind == "needs-pixel-review":
            what = "needs a look for burned-in text"
        elif kind == "processing":
            what = "are still being processed"
        else:
            what = kind_label(kind)
        part = finding.get("part", "")
        anchor = ""
        if part.startswith("option:"):
            anchor = "id_options_text"
        elif part == "tags":
            anchor = "id_tags_text"
        elif part and ":" not in part and part != "upload":
            anchor = f"id_{part}"
        shown.append({**finding, "what": what, "anchor": anchor})
    return shown


@roles(*ALL_ROLES)
def case_list(request):
    """The library: every case this person may see, searchable."""
    held = sections_by_role(request.user)
    member_of = set().union(*held.values()) if held else set()
    sections = Section.objects.filter(pk__in=member_of).order_by("name")
    form = LibraryFilterForm(request.GET or None, sections=sections)
    filters = cases.LibraryFilters()
    if form.is_valid():
        data = form.cleaned_data
        filters = cases.LibraryFilters(
            section=data["section"].pk if data["section"] else None,
            modality=data["modality"],
            body_part=data["body_part"],
            reason=data["reason"],
            tag=data["tag"],
            text=data["text"],
            status=data["status"],
        )
    page = Paginator(cases.library(user=request.user, filters=filters, held=held), 25).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "conferences/case_list.html",
        {
            "form": form,
            "page_obj": page,
            "is_champion": bool(held.get(Role.CHAMPION)),
            "filtered": any(v for v in filters.__dict__.values()),
        },
    )


@roles(Role.CHAMPION)
def case_create(request):
    section_ids = cases.championed(request.user)
    sections = Section.objects.filter(pk__in=section_ids).order_by("name")
    candidates = cases.case_candidates(user=request.user)
    initial = {}
    if request.GET.get("from", "").isdigit():
        initial["sources"] = [int(request.GET["from"])]
    form = CaseCreateForm(
        request.POST or None, sections=sections, candidates=candidates, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            case, replaced = teaching_case_create(
                section=form.cleaned_data["section"],
                actor=request.user,
                title=form.cleaned_data["title"],
                sources=form.cleaned_data["sources"],
            )
        except CaseRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            if replaced:
                messages.info(
                    request,
                    f"{replaced} identifier{'s were' if replaced != 1 else ' was'} replaced by "
                    "markers such as [NAME]. Read the text and rewrite it where needed.",
                )
            else:
                messages.success(request, "The teaching case was created.")
            return redirect("conferences:case-edit", case.uuid)
    return render(
        request,
        "conferences/case_create.html",
        {"form": form, "has_candidates": candidates.exists()},
    )


@roles(*ALL_ROLES)
def case_detail(request, case):
    case = cases.teaching_case_get_for_viewer(user=request.user, case_uuid=case)
    manage = case.section_id in cases.championed(request.user)
    context = {
        "case": case,
        "manage": manage,
        **cases.case_detail_parts(case, viewer=request.user),
        "slide_credits": slide_credits(case),
    }
    if manage:
        sources, hidden = cases.case_sources_for(user=request.user, case=case)
        context.update(
            sources=sources,
            hidden_sources=hidden,
            findings=_findings_for_display(case),
            running=[u for u in cases.case_uploads(case) if u.running],
            image_count=case.images.count(),
        )
    return render(request, "conferences/case_detail.html", context)


@roles(Role.CHAMPION)
def case_edit(request, case):
    case = cases.teaching_case_get_for_champion(user=request.user, case_uuid=case)
    form = CaseForm(request.POST or None, instance=case)
    if request.method == "POST" and form.is_valid():
        try:
            case, replaced = teaching_case_update(case=case, actor=request.user, **form.changes())
        except CaseRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            for label, count in replaced.items():
                messages.info(
                    request,
                    f"{label}: {count} identifier{'s' if count != 1 else ''} replaced by a marker.",
                )
            if case.check_passed:
                messages.success(request, "Saved. The check passed.")
            else:
                messages.warning(request, "Saved. The check found something to fix (below).")
            return redirect("conferences:case-detail", case.uuid)
    return render(
        request,
        "conferences/case_form.html",
        {"form": form, "case": case, "findings": _findings_for_display(case)},
    )


@require_POST
@roles(Role.CHAMPION)
def case_check(request, case):
    case = cases.teaching_case_get_for_champion(user=request.user, case_uuid=case)
    case = teaching_case_recheck(case=case, actor=request.user)
    if case.check_passed:
        messages.success(request, "The check passed: every image and all the text.")
    else:
        messages.warning(request, "The check found something to fix (listed below).")
    return redirect("conferences:case-detail", case.uuid)


@require_POST
@roles(Role.CHAMPION)
def case_credits_ask(request, case):
    case = cases.teaching_case_get_for_champion(user=request.user, case_uuid=case)
    try:
        asked = credit_ask_readers(case=case, actor=request.user)
    except CaseRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(
            request,
            f"{asked} reader{'s' if asked != 1 else ''} asked. They answer on their "
            "“Credit on slides” page."
            if asked
            else "The readers were asked already.",
        )
    return redirect("conferences:case-detail", case.uuid)


# Images --------------------------------------------------------------------------------------


@roles(Role.CHAMPION)
def case_images(request, case):
    """Upload DICOM, follow its processing, pick key images and presets."""
    case = cases.teaching_case_get_for_champion(user=request.user, case_uuid=case)
    limits = Limits.from_settings()
    form = UploadForm()
    problems: list[str] = []
    if request.method == "POST":
        # An oversized upload is refused on its declared length, before any file is read
        # or kept (the web server caps the body itself: client_max_body_size).
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > limits.total_bytes + MB:
            problems = [
                f"The upload is {declared / MB:.0f} MB; at most {limits.total_bytes // MB} MB "
                "can be uploaded at once."
            ]
        else:
            try:
                form = UploadForm(request.POST, request.FILES)
                files_read = form.is_valid()
            except TooManyFilesSent:
                form = UploadForm()
                files_read = False
                problems = [
                    f"More than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files at once: "
                    "put them in a zip and upload that."
                ]
            if files_read:
                try:
                    upload = case_upload_start(
                        case=case, files=form.cleaned_data["files"], actor=request.user
                    )
                except UploadRefused as refusal:
                    problems = refusal.problems
                else:
                    return redirect(f"{request.path}?upload={upload.uuid}#upload-{upload.uuid}")
    uploads = list(cases.case_uploads(case)[:5])
    return render(
        request,
        "conferences/case_images.html",
        {
            "case": case,
            "form": form,
            "problems": problems,
            "uploads": uploads,
            "images": cases.case_images(case),
            "presets": presets_for(case.modality),
            "limit_mb": limits.total_bytes // MB,
        },
        status=400 if problems else 200,
    )


@roles(Role.CHAMPION)
def upload_status(request, case, upload):
    case = cases.teaching_case_get_for_champion(user=request.user, case_uuid=case)
    upload = cases.case_upload_get(case=case, upload_uuid=upload)
    response = render(
        request, "conferences/case_images.html#upload-status", {"case": case, "upload": upload}
    )
    if request.htmx and not upload.running and request.GET.get("poll"):
        # Processing ended while the page watched: reload it to list the new images.
        response["HX-Refresh"] = "true"
    return response


def _png(data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type="image/png")
    response["Cache-Control"] = IMAGE_CACHE
    return response


@roles(Role.CHAMPION)
def image_preview_view(request, case, image):
    case = cases.teaching_case_get_for_champion(user=request.user, case_uuid=case)
    image = cases.case_image_get(case=case, pk=image)
    preset = request.GET.get("preset", "auto")
    frame = request.GET.get("frame", "0")
    if preset not in PRESETS or not frame.isdigit():
        raise Http404("No such view.")
    try:
        return _png(image_preview(image=image, frame=int(frame), preset=preset))
    except CaseRefused:
        raise Http404("No such view.") from None


@roles(Role.CHAMPION)
def image_review(request, case, image):
    """The blackout tool: rectangles drawn (or typed) on the image, applied on the server."""
    case = cases.teaching_case_get_for_champion(user=request.user, case_uuid=case)
    image = cases.case_image_get(case=case, pk=image)
    proposals = image_text_proposals(image=image) if request.method == "GET" else []
    # OCR's proposals start in the form: nothing is blacked out until the champion saves.
    initial = "\n".join(f"{r.x}, {r.y}, {r.width}, {r.height}" for r in proposals)
    form = BlackoutForm(request.POST or None, initial={"rectangles": initial})
    if request.method == "POST" and form.is_valid():
        rectangles = form.cleaned_data["rectangles"]
        image_blackout(image=image, rectangles=rectangles, actor=request.user)
        if rectangles:
            messages.success(
                request,
                f"{len(rectangles)} rectangle{'s' if len(rectangles) != 1 else ''} blacked out "
                "in every frame; the image is marked as reviewed.",
            )
        else:
            messages.success(request, "The image is marked as reviewed: nothing to hide.")
        return redirect("conferences:case-images", case.uuid)
    return render(
        request,
        "conferences/image_review.html",
        # Small images are shown larger (at least 720 pixels wide) to draw on precisely.
        {
            "case": case,
            "image": image,
            "form": form,
            "proposals": proposals,
            "display_width": max(image.columns, 720),
        },
    )


@require_POST
@roles(Role.CHAMPION)
def image_delete_view(request, case, image):
    case = cases.teaching_case_get_for_champion(user=request.user, case_uuid=case)
    image_delete(image=cases.case_image_get(case=case, pk=image), actor=request.user)
    messages.success(request, "The image was removed from the case.")
    return redirect("conferences:case-images", case.uuid)


@require_POST
@roles(Role.CHAMPION)
def key_image_add_view(request, case, image):
    case = cases.teaching_case_get_for_champion(user=request.user, case_uuid=case)
    image = cases.case_image_get(case=case, pk=image)
    form = KeyImageForm(request.POST)
    if form.is_valid():
        try:
            key_image_add(
                image=image,
                frame=form.cleaned_data["frame"] - 1,
                preset=form.cleaned_data["preset"],
                caption=form.cleaned_data["caption"],
                actor=request.user,
            )
        except CaseRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, f"Key image added ({PRESETS[form.cleaned_data['preset']]}).")
    else:
        messages.error(request, "Pick a frame and a window preset.")
    return redirect("conferences:case-images", case.uuid)


@require_POST
@roles(Role.CHAMPION)
def key_image_edit(request, case, key):
    case = cases.teaching_case_get_for_champion(user=request.user, case_uuid=case)
    key = cases.key_image_get(case=case, pk=key)
    if request.POST.get("delete"):
        key_image_delete(key=key, actor=request.user)
        messages.success(request, "The key image was removed.")
    else:
        form = KeyImageEditForm(request.POST)
        if form.is_valid():
            caption = form.cleaned_data["caption"] if "caption" in request.POST else None
            key_image_update(
                key=key, actor=request.user, caption=caption, move=form.cleaned_data["move"]
            )
    return redirect("conferences:case-detail", case.uuid)


@roles(*ALL_ROLES)
def key_image_png(request, case, key):
    """A key image for the slides and the library (de-identified, checked)."""
    case = cases.teaching_case_get_for_viewer(user=request.user, case_uuid=case)
    key = cases.key_image_get(case=case, pk=key)
    if not key.png:
        raise Http404("No image.")
    response = FileResponse(default_storage.open(key.png.name, "rb"), content_type="image/png")
    response["Cache-Control"] = IMAGE_CACHE
    return response


# Credits on slides -------------------------------------------------------------------------


@signed_in
def my_credits(request):
    """Whether I want to be named on the slides of cases I submitted or read."""
    if request.method == "POST":
        consent = cases.credit_get_for_person(
            user=request.user, pk=int(request.POST.get("consent", "0") or 0)
        )
        answer = request.POST.get("answer", "")
        try:
            credit_answer(consent=consent, actor=request.user, answer=answer)
        except ValueError as problem:
            messages.error(request, str(problem))
        else:
            messages.success(
                request,
                "You will be named on its slides."
                if answer == CreditConsent.Answer.YES
                else "You will not be named on its slides.",
            )
        return redirect("conferences:credits")
    return render(
        request, "conferences/credits.html", {"rows": list(cases.credits_of(request.user))}
    )
