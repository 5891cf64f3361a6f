"""Sign-up, the organization page (members, roles, invitations), accepting an
invitation, and the API tokens page.

Log in, log out and password reset are Django's own views (``accounts/``),
with our templates under ``templates/registration/``.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from symbiosis import selectors, services
from symbiosis.account_forms import (
    InvitationAcceptForm,
    InviteForm,
    OrganizationForm,
    SignupForm,
)
from symbiosis.forms import field_check
from symbiosis.models import Invitation, Membership, User
from symbiosis.views.common import redirect_to

# Whoever just proved who they are (a new password) is logged in by this backend.
LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"


def signup(request):
    """Step 1: the form; the answer is "check your mailbox", new address or known."""
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    sent_to = None
    if request.method == "POST" and form.is_valid():
        try:
            services.account_signup_request(
                **form.service_values(), absolute_url=request.build_absolute_uri
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            sent_to = User.objects.normalize_email(form.cleaned_data["email"])
    template = "symbiosis/_signup_form.html" if request.htmx else "symbiosis/signup.html"
    context = {
        "form": form,
        "sent_to": sent_to,
        # A page posted whole comes back without the passwords: the form says why.
        # (htmx keeps the typed ones in place: hx-preserve.)
        "passwords_asked_again": bool(
            request.method == "POST"
            and not request.htmx
            and not sent_to
            and request.POST.get("password1")
        ),
    }
    return render(request, template, context)


@require_POST
def signup_check(request, field):
    """One sign-up field's message as the user leaves it (htmx), before the submit:
    the e-mail address's shape, the password's strength and match, the BIN's check
    digit. The same words as the submit; never whether an address has an account.
    A POST: the passwords must not travel in an address."""
    if field not in SignupForm.CHECKED_FIELDS:
        raise Http404
    checks = field_check(SignupForm(request.POST), field)
    return render(request, "symbiosis/_field_checks.html", {"checks": checks})


def signup_confirm(request, token):
    """Step 2, from the e-mailed link: a button (a POST) makes the account and logs in.

    Not on GET: mail scanners open links, and would use the link up.
    """
    try:
        signup_request = services.signup_request_read(token)
    except ValidationError as exc:
        context = {"error": " ".join(exc.messages)}
        return render(request, "symbiosis/signup_confirm.html", context, status=410)
    error = None
    if request.method == "POST":
        try:
            user = services.account_signup_confirm(token=token)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            login(request, user, backend=LOGIN_BACKEND)
            messages.success(request, _("Welcome! Add the site where your residues arise."))
            return redirect("site-create")
    context = {"signup": signup_request, "error": error}
    return render(request, "symbiosis/signup_confirm.html", context)


# --- the organization page -----------------------------------------------------------


def _membership(request, pk) -> Membership:
    """The user's own membership of organization ``pk``; 404 for any other organization."""
    # organization__pk, not organization_id: its lookup treats an id beyond the
    # database's integer range as "no such row" instead of failing (a 500).
    return get_object_or_404(
        Membership.objects.select_related("organization"), user=request.user, organization__pk=pk
    )


def _page_context(request, membership, **forms) -> dict:
    organization = membership.organization
    is_admin = membership.role == Membership.Role.ADMIN
    context = {
        "organization": organization,
        "membership": membership,
        "is_admin": is_admin,
        "members": organization.memberships.select_related("user").order_by("user__email"),
        "roles": Membership.Role.choices,
    }
    if is_admin:
        context["organization_form"] = forms.get("organization_form") or OrganizationForm(
            instance=organization
        )
        context["invite_form"] = forms.get("invite_form") or InviteForm()
        context["invitations"] = selectors.invitation_pending_list(organization=organization)
    return context


@login_required
def organization(request, pk):
    membership = _membership(request, pk)
    return render(request, "symbiosis/organization.html", _page_context(request, membership))


@login_required
@require_POST
def organization_edit(request, pk):
    membership = _membership(request, pk)
    organization = membership.organization
    form = OrganizationForm(request.POST, instance=organization)
    if form.is_valid():
        try:
            services.organization_update(
                user=request.user, organization=organization, **form.cleaned_data
            )
        except ValidationError as exc:
            organization.refresh_from_db()
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Organization saved."))
            return redirect_to(request, reverse("organization", args=[pk]))
    context = _page_context(request, membership, organization_form=form)
    if request.htmx:
        return render(request, "symbiosis/_organization_form.html", context)
    return render(request, "symbiosis/organization.html", context)


@login_required
@require_POST
def member_invite(request, pk):
    membership = _membership(request, pk)
    form = InviteForm(request.POST)
    sent_to = None
    if form.is_valid():
        try:
            services.invitation_send(
                user=request.user,
                organization=membership.organization,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                accept_url=lambda token: request.build_absolute_uri(
                    reverse("invitation-accept", args=[token])
                ),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            sent_to = form.cleaned_data["email"]
            form = InviteForm()
    context = {**_page_context(request, membership, invite_form=form), "sent_to": sent_to}
    if request.htmx:
        # The form, and the pending list it added to (swapped out of band).
        return render(request, "symbiosis/_invite_answer.html", context)
    if sent_to:
        messages.success(request, _("Invitation sent to %(email)s.") % {"email": sent_to})
        return redirect("organization", pk=pk)
    return render(request, "symbiosis/organization.html", context)


@login_required
@require_POST
def member_change(request, pk, membership_id):
    """Change a member's role, or remove the member (``remove`` in the POST)."""
    own = _membership(request, pk)
    target = get_object_or_404(Membership, pk=membership_id, organization__pk=pk)
    error = None
    try:
        if "remove" in request.POST:
            services.membership_remove(user=request.user, membership=target)
        else:
            services.membership_set_role(
                user=request.user, membership=target, role=request.POST.get("role", "")
            )
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if target.user_id == request.user.id and "remove" in request.POST and not error:
        return redirect_to(request, reverse("home"))
    own.refresh_from_db()
    context = {**_page_context(request, own), "members_error": error}
    if request.htmx:
        return render(request, "symbiosis/_members.html", context)
    if error:
        messages.error(request, error)
    return redirect("organization", pk=pk)


@login_required
@require_POST
def invitation_revoke(request, pk, invitation_id):
    own = _membership(request, pk)
    invitation = get_object_or_404(Invitation, pk=invitation_id, organization__pk=pk)
    error = None
    try:
        services.invitation_revoke(user=request.user, invitation=invitation)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    context = {**_page_context(request, own), "invitations_error": error}
    if request.htmx:
        return render(request, "symbiosis/_invitations.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request, _("The invitation to %(email)s is withdrawn.") % {"email": invitation.email}
        )
    return redirect("organization", pk=pk)


# --- accepting an invitation --------------------------------------------------------------


def invitation_accept(request, token):
    try:
        invitation = services.invitation_read(token)
    except ValidationError as exc:
        return render(
            request, "symbiosis/invitation.html", {"error": " ".join(exc.messages)}, status=410
        )
    user = request.user if request.user.is_authenticated else None
    has_account = user is None and selectors.user_exists(email=invitation.email)
    form = None
    if user is None and not has_account:
        form = InvitationAcceptForm(request.POST or None, email=invitation.email)
    error = None
    if request.method == "POST" and (form is None or form.is_valid()):
        if has_account:
            raise Http404  # log in first: the page says so
        try:
            membership = services.invitation_accept(
                token=token,
                user=user,
                password=form.cleaned_data["password1"] if form else None,
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            if user is None:
                login(request, membership.user, backend=LOGIN_BACKEND)
            messages.success(
                request,
                _("You joined %(organization)s.") % {"organization": membership.organization},
            )
            return redirect("home")
    context = {
        "invitation": invitation,
        "form": form,
        "has_account": has_account,
        "wrong_user": user is not None and user.email != invitation.email,
        "error": error,
        "token": token,
    }
    return render(request, "symbiosis/invitation.html", context)


# --- API tokens ---------------------------------------------------------------------------


def _tokens_page(request, **extra):
    context = {
        "tokens": selectors.api_token_list(user=request.user),
        "api_token_ttl_hours": settings.API_TOKEN_TTL_HOURS,
        **extra,
    }
    if request.htmx:
        return render(request, "symbiosis/_api_tokens.html", context)
    return render(request, "symbiosis/api_tokens.html", context)


@login_required
def api_tokens(request):
    """The user's API tokens: when made, until when, the first characters; revoke, create."""
    return _tokens_page(request)


@login_required
@require_POST
def api_token_create(request):
    # The key is shown in this answer only: a redirect could not carry it, and
    # only its hash is kept.
    token, key = services.api_token_create(user=request.user)
    return _tokens_page(request, new_key=key, new_token=token)


@login_required
@require_POST
def api_token_revoke(request, digest):
    token = get_object_or_404(selectors.api_token_list(user=request.user), digest=digest)
    services.api_token_revoke(user=request.user, token=token)
    if request.htmx:
        return _tokens_page(request, revoked=1)
    messages.success(request, _("The token is revoked."))
    return redirect("api-tokens")


@login_required
@require_POST
def api_token_revoke_all(request):
    revoked = services.api_tokens_revoke_all(user=request.user)
    if request.htmx:
        return _tokens_page(request, revoked=revoked)
    messages.success(request, _("All your API tokens are revoked."))
    return redirect("api-tokens")
