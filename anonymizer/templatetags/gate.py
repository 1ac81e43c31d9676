"""`{{ conference|gated:"title" }}`: a text as it may leave the champion's hands."""

from django import template

from anonymizer.gate import gated_field

register = template.Library()


@register.filter
def gated(obj, name: str) -> str:
    """The field scrubbed, with every span the detector flagged and no champion released
    replaced by its marker."""
    if obj is None or not name:
        return ""
    return gated_field(obj, name)
