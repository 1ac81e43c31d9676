"""Template filters for teaching cases: the scrubber's markers made visible."""

import re

from django import template
from django.utils.html import escape, linebreaks
from django.utils.safestring import mark_safe

register = template.Library()

MARKER = re.compile(r"\[(NAME|DATE|ID|PHONE|EMAIL|ADDRESS|AGE)\]")


@register.filter
def markers(text: str) -> str:
    """Paragraphs of text with `[NAME]`-style markers highlighted (everything else escaped)."""
    html = linebreaks(escape(text or ""))
    return mark_safe(MARKER.sub(r'<mark class="marker">[\1]</mark>', html))
