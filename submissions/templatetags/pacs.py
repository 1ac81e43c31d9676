"""The "Open images" link: the site's PACS viewer URL (IHE Invoke Image Display style)."""

from urllib.parse import quote

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def open_images_url(accession_number: str, study_instance_uid: str = "") -> str:
    """OPEN_IMAGES_URL with {accession} and {study_uid} filled in, or "" when unset."""
    pattern = settings.OPEN_IMAGES_URL
    if not pattern or not accession_number:
        return ""
    return pattern.format(
        accession=quote(accession_number, safe=""), study_uid=quote(study_instance_uid, safe="")
    )
