"""Conference and improvement-action texts as they may reach a screen, an e-mail, an .ics
file or a report: through the anonymizer's gate, every unreleased flag replaced."""

from __future__ import annotations

from anonymizer.gate import GateContext, gated_field, roster_context


def program_context() -> GateContext:
    """For a section's own texts: the roster's names are replaced wherever they appear."""
    return roster_context()


def conference_text(conference, name: str, *, context: GateContext | None = None) -> str:
    """A conference's text (title, location, learning points) as it may leave the app."""
    return gated_field(conference, name, context=context or program_context())


def action_text(action, name: str, *, context: GateContext | None = None) -> str:
    """An improvement action's text (title, description, origin, outcome)."""
    return gated_field(action, name, context=context or program_context())
