"""Legal rules the platform applies, as data a facilitator keeps current.

A rule names its legal source (act, article, date, where it is published) and
says whether someone has read that text (``verified``). The platform never
prints a citation as settled when it is not: where the research could not read
the article, the row says "not verified" and why, and a facilitator corrects it
once the text has been read (``symbiosis.regulation``). Rows start from
``symbiosis/fixtures/legal_rules.json`` (see docs/regulation.md).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from symbiosis.validators import capped_text

TEXT_MAX_CHARS = 4000


class LegalRule(models.Model):
    key = models.SlugField(unique=True, max_length=60)
    title = models.CharField(_("rule"), max_length=200)
    act = models.CharField(_("legal act"), max_length=300)
    article = models.CharField(_("article and paragraph"), max_length=120, blank=True)
    act_date = models.CharField(
        _("date of the act"), max_length=40, blank=True, help_text="e.g. 2021-01-02"
    )
    url = models.URLField(_("where the text is published"), max_length=500, blank=True)
    quote = models.TextField(
        _("quote of the text (original language)"), blank=True, **capped_text(TEXT_MAX_CHARS)
    )
    gloss_en = models.TextField(
        _("English gloss of the quote"), blank=True, **capped_text(TEXT_MAX_CHARS)
    )
    platform_does = models.TextField(
        _("what the platform does"), blank=True, **capped_text(TEXT_MAX_CHARS)
    )
    left_to_people = models.TextField(
        _("what is left to people"), blank=True, **capped_text(TEXT_MAX_CHARS)
    )
    verified = models.BooleanField(
        _("verified"),
        default=False,
        help_text=_("Tick only once someone has read the cited text itself."),
    )
    note = models.TextField(
        _("note (why not verified, what to check)"), blank=True, **capped_text(TEXT_MAX_CHARS)
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["key"]

    def __str__(self):
        return f"{self.key}: {self.citation}"

    @property
    def citation(self) -> str:
        """The short citation shown beside a rule on pages and documents."""
        parts = [self.act]
        if self.article:
            parts.append(self.article)
        if self.act_date:
            parts.append(self.act_date)
        return ", ".join(parts)
