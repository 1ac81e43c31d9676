"""Template filters that ask `submissions/disclosure.py`, so templates never decide what a
viewer may know: `{{ action.due_at|seen_by:disclosure }}`,
`{{ reply.side|author_for:disclosure }}`."""

from django import template

register = template.Library()


@register.filter
def seen_by(value, disclosure) -> str:
    """A time to the minute for viewers who may see it, otherwise its day."""
    return disclosure.moment(value)


@register.filter
def author_for(side: str, disclosure) -> str:
    return disclosure.author_label(side)
