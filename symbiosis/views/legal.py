"""The legal rules the platform applies: read by every signed-in user, corrected by
facilitators (``symbiosis.regulation``)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from symbiosis import regulation, roles
from symbiosis.legal_forms import LegalRuleForm
from symbiosis.models.regulation import LegalRule
from symbiosis.views.common import redirect_to


@login_required
@require_GET
def legal_rules(request):
    return render(
        request,
        "symbiosis/legal_rules.html",
        {
            "rules": regulation.legal_rule_list(),
            "edits": roles.is_facilitator(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def legal_rule_edit(request, key):
    if not roles.is_facilitator(request.user):
        raise PermissionDenied(_("Facilitators keep the legal rules current."))
    rule = get_object_or_404(LegalRule, key=key)
    form = LegalRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        regulation.legal_rule_update(user=request.user, rule=rule, **form.cleaned_data)
        messages.success(request, _("The rule is saved."))
        return redirect_to(request, f"{reverse('legal-rules')}#rule-{rule.key}")
    return render(request, "symbiosis/legal_rule_edit.html", {"rule": rule, "form": form})
