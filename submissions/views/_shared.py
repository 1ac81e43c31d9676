"""Steps several pages share: replying in the thread, recording an action as done."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect

from submissions import services
from submissions.disclosure import disclosure_for
from submissions.forms import (
    ActionDoneForm,
    ReplyForm,
)
from submissions.models import RequiredAction


def _error_messages(error: ValidationError) -> list[str]:
    return [str(message) for message in error.messages]


def _reply(request, submission, back: str):
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            services.reply_post(
                submission=submission, author=request.user, body=form.cleaned_data["body"]
            )
        except ValidationError as error:
            for message in _error_messages(error):
                messages.error(request, message)
        else:
            disclosure = disclosure_for(
                viewer=request.user, submission=submission, championed=set()
            )
            messages.success(request, disclosure.reply_sent)
    else:
        messages.error(request, "Write a message first.")
    return redirect(back, submission.pk)


def _action_done(request, submission, action_pk, back: str):
    action = get_object_or_404(RequiredAction, pk=action_pk, submission=submission)
    form = ActionDoneForm(request.POST)
    if form.is_valid():
        try:
            services.action_complete(
                action=action,
                actor=request.user,
                done_on=form.cleaned_data["done_on"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            for message in _error_messages(error):
                messages.error(request, message)
        else:
            messages.success(request, f"Recorded: {action.label}, done.")
    else:
        messages.error(request, "Give the date the action was done.")
    return redirect(back, submission.pk)
