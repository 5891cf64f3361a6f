"""Forms of accounts: signing up, the organization's details, invitations.

The same rules as the workspace's forms (``symbiosis.forms``): they check the
shape of what was typed, never save, and sign-up fields are checked as they
change (``field_check``).
"""

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from symbiosis.forms import ServiceForm, _check_on_change
from symbiosis.models import Membership, Organization, User
from symbiosis.services import ORGANIZATION_FIELDS
from symbiosis.validators import validate_bin


class SignupForm(ServiceForm, forms.Form):
    """A person and the organization they register; BIN checked by its check digit."""

    email = forms.EmailField(label=_("Your e-mail address"), max_length=254)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    organization_name = forms.CharField(label=_("Organization name"), max_length=200)
    bin = Organization._meta.get_field("bin").formfield()
    sector = Organization._meta.get_field("sector").formfield()
    kind = Organization._meta.get_field("kind").formfield()

    # Service errors on organization fields land on the form's names.
    SERVICE_FIELDS = {"name": "organization_name"}
    # Checked on leaving the field (views.accounts.signup_check). The e-mail address
    # only for its shape: whether it has an account is told to that address alone.
    CHECKED_FIELDS = ("email", "password1", "password2", "bin")
    # The password's strength depends on the address (too similar), the match on both.
    CHECK_PARTNERS = {"email": ("password1",), "password1": ("password2",)}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bin"].widget.attrs.update(inputmode="numeric", autocomplete="off")
        # The model's check digit, read here too (a form field leaves model validators
        # to full_clean, which the service runs only once the whole form is valid).
        self.fields["bin"].validators.append(validate_bin)
        self.fields["email"].widget.attrs.update(autocomplete="email")
        # A POST: the password never goes into an address.
        _check_on_change(self, "signup-check", method="hx-post")
        for name in ("password1", "password2"):
            # Passwords are never sent back to the page; after an htmx submit the
            # typed ones stay where they are (a plain POST asks again, and says why).
            self.fields[name].widget.attrs["hx-preserve"] = True

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        if first:
            user = User(email=cleaned.get("email") or "")
            try:
                password_validation.validate_password(first, user)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned

    def check_bin(self) -> list:
        """A BIN already registered, said before the submit as the submit says it
        (BINs are public: unlike an e-mail address, telling it reveals nothing)."""
        try:
            Organization(bin=self.cleaned_data.get("bin", "")).validate_unique()
        except ValidationError as exc:
            return exc.message_dict.get("bin", [])
        return []

    def check_ok(self, name: str) -> str:
        data = self.cleaned_data
        if name == "password2":
            same = data.get("password1") and data.get("password1") == data.get("password2")
            return _("The passwords match.") if same else ""
        return {"password1": _("Strong enough."), "bin": _("A valid BIN.")}.get(name, "")

    def service_values(self) -> dict:
        data = self.cleaned_data
        return {
            "email": data["email"],
            "password": data["password1"],
            "organization_name": data["organization_name"],
            "bin": data["bin"],
            "sector": data["sector"],
            "kind": data["kind"],
        }


class OrganizationForm(ServiceForm, forms.ModelForm):
    class Meta:
        model = Organization
        fields = list(ORGANIZATION_FIELDS)

    def _post_clean(self):
        pass


class InviteForm(ServiceForm, forms.Form):
    email = forms.EmailField(label=_("Colleague's e-mail address"), max_length=254)
    role = forms.ChoiceField(
        label=_("Role"), choices=Membership.Role.choices, initial=Membership.Role.MEMBER
    )


class InvitationAcceptForm(ServiceForm, forms.Form):
    """For someone without an account yet: the password of the new account."""

    password1 = SignupForm.base_fields["password1"]
    password2 = SignupForm.base_fields["password2"]

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first:
            try:
                password_validation.validate_password(first, User(email=self.email))
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned
