"""Every model of ours has an admin page that opens."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from tests import factories

OUR_APPS = ("symbiosis", "optimizer", "marketplace")
READ_ONLY = {
    apps.get_model("optimizer", "AuditEntry"),
    # Made with a link token only the e-mail holds: nothing to add by hand.
    apps.get_model("symbiosis", "Invitation"),
    apps.get_model("symbiosis", "SignupRequest"),
    # Written by the import worker; deliveries are an append-only record.
    apps.get_model("symbiosis", "ListingImport"),
    apps.get_model("marketplace", "Delivery"),
    # New terms of an active deal: proposed and answered through the services.
    apps.get_model("marketplace", "DealAmendment"),
    # Written by the services that tell users something; the admin shows what is stuck.
    apps.get_model("symbiosis", "Notification"),
    # The record of supply fates: written by the fate review, never by hand.
    apps.get_model("symbiosis", "FateReview"),
    # The market's records, written by their services: photos and documents (checked and
    # stripped on upload), questions (anonymous on both sides), saved searches and what
    # their digests sent.
    apps.get_model("symbiosis", "ListingPhoto"),
    apps.get_model("symbiosis", "ListingDocument"),
    apps.get_model("symbiosis", "QuestionThread"),
    apps.get_model("symbiosis", "QuestionMessage"),
    apps.get_model("symbiosis", "SavedSearch"),
    apps.get_model("symbiosis", "SavedSearchHit"),
    # Waste permits: added with their checked document on the Permits page, decided on
    # the facilitators' review page.
    apps.get_model("symbiosis", "WastePermit"),
    # Cached pages' data versions, written by the writes they follow.
    apps.get_model("symbiosis", "DataChange"),
}


def _our_models():
    return [m for name in OUR_APPS for m in apps.get_app_config(name).get_models()]


@pytest.mark.parametrize("model", _our_models(), ids=lambda m: m._meta.label)
def test_model_is_registered(model):
    assert admin.site.is_registered(model)


@pytest.mark.django_db
@pytest.mark.parametrize("model", _our_models(), ids=lambda m: m._meta.label)
def test_changelist_and_add_pages_open_for_a_superuser(client, model):
    user = factories.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    opts = model._meta
    assert (
        client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code
        == 200
    )
    add = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code
    # Append-only records (the audit log) have no add page, by design.
    assert add == (403 if model in READ_ONLY else 200)


@pytest.mark.django_db
def test_company_member_cannot_open_the_admin(client, member_a):
    client.force_login(member_a)
    response = client.get(reverse("admin:symbiosis_supplylisting_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_audit_entries_cannot_be_changed_or_deleted_in_the_admin(client, facilitator):
    from optimizer.models import AuditEntry, OptimizationRun

    run = OptimizationRun.objects.create()
    entry = AuditEntry.objects.create(action="run_started", run=run, actor=facilitator)
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))
    change = reverse("admin:optimizer_auditentry_change", args=[entry.pk])
    client.post(change, {"action": "approved", "reason": "rewritten"})
    client.post(reverse("admin:optimizer_auditentry_delete", args=[entry.pk]), {"post": "yes"})
    entry.refresh_from_db()
    assert entry.action == "run_started" and entry.reason == ""
