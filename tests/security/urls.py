"""The project's URLs plus views that fail on purpose, for error-page and logging tests."""

from django.http import HttpResponse
from django.urls import include, path

from peerlearning.access import public, signed_in


@public
def boom(request):
    raise RuntimeError("a view failed")


@signed_in
def cached_download(request):
    """A download whose view asks to be cached, as a naive export view might."""
    response = HttpResponse(b"accession,reason\n", content_type="text/csv")
    response["Cache-Control"] = "public, max-age=3600"
    response["Expires"] = "Thu, 01 Jan 2099 00:00:00 GMT"
    response["Content-Disposition"] = 'attachment; filename="export.csv"'
    return response


urlpatterns = [
    path("test-security/boom/", boom, name="test-boom"),
    path("test-security/export.csv", cached_download, name="test-cached-download"),
    path("", include("peerlearning.urls")),
]
