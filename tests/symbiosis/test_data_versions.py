"""Data versions: which writes give cached figures a new version, and the cache keyed by them."""

import pytest
from django.db import transaction

from symbiosis import data_versions
from symbiosis.data_versions import FIGURES, PARTIES, data_change_record
from symbiosis.models import DataChange
from tests import factories

pytestmark = pytest.mark.django_db


def _parties() -> int:
    return data_versions.data_versions(PARTIES)[0]


def test_versions_start_at_zero_and_each_name_counts_apart():
    assert data_versions.data_versions(FIGURES, PARTIES) == (0, 0)
    data_change_record(name=FIGURES)
    figures, parties = data_versions.data_versions(FIGURES, PARTIES)
    assert figures > 0 and parties == 0


def test_edits_of_organizations_sites_materials_and_listings_are_new_versions():
    supply = factories.SupplyListingFactory()  # creates its organization, site, material
    created = _parties()
    assert created > 0
    supply.notes = "edited"
    supply.save()
    edited = _parties()
    assert edited > created
    for row in (supply.organization, supply.site, supply.material):
        row.save()
        assert _parties() > edited
        edited = _parties()
    supply.delete()
    assert _parties() > edited


def test_a_new_listing_is_no_new_version():
    # A new listing is in no deal or proposal yet: cached figures cannot show it.
    site = factories.SiteFactory()
    material = factories.MaterialFactory()
    before = _parties()
    factories.SupplyListingFactory(site=site, organization=site.organization, material=material)
    factories.DemandListingFactory(site=site, organization=site.organization)
    assert _parties() == before


def test_a_rolled_back_write_leaves_the_version():
    before = _parties()
    with pytest.raises(RuntimeError), transaction.atomic():
        factories.OrganizationFactory()
        raise RuntimeError
    assert _parties() == before


def test_cached_computes_once_per_key():
    calls = []

    def compute():
        calls.append(1)
        return {"n": len(calls)}

    assert data_versions.cached("test:1", compute) == {"n": 1}
    assert data_versions.cached("test:1", compute) == {"n": 1}
    assert data_versions.cached("test:2", compute) == {"n": 2}


def test_prune_keeps_every_version():
    for _ in range(3):
        data_change_record(name=FIGURES)
        data_change_record(name=PARTIES)
    versions = data_versions.data_versions(FIGURES, PARTIES)
    assert data_versions.data_changes_prune() == 4
    assert data_versions.data_versions(FIGURES, PARTIES) == versions
    assert DataChange.objects.count() == 2
