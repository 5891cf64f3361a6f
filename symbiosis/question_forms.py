"""The forms of questions to a lister (``symbiosis.views.questions``)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from symbiosis.models import Organization
from symbiosis.models.questions import QUESTION_MAX_CHARS

BODY_HELP = _(
    "Write only about the material. Do not give your name, company, phone or address: "
    "the other side sees the text as you write it, and nobody removes them for you."
)


class QuestionForm(forms.Form):
    body = forms.CharField(
        label=_("Your question"),
        max_length=QUESTION_MAX_CHARS,
        help_text=BODY_HELP,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    organization = forms.TypedChoiceField(label=_("Asking as"), coerce=int, required=False)

    def __init__(self, *args, organization_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        names = dict(Organization.objects.filter(pk__in=organization_ids).values_list("pk", "name"))
        if len(names) > 1:
            self.fields["organization"].choices = sorted(names.items(), key=lambda kv: kv[1])
            self.fields["organization"].required = True
        else:
            del self.fields["organization"]


class AnswerForm(forms.Form):
    body = forms.CharField(
        label=_("Message"),
        max_length=QUESTION_MAX_CHARS,
        help_text=BODY_HELP,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
