"""Import pages: duplicates warned about row by row, and the file's name kept in sight.

A row that repeats an active listing (same site, material and recurrence) or an
earlier row is marked in the preview; it is imported unless the user ticks
"leave out". The file is uploaded once and confirmed by the import's id, so
the preview and the confirmation name the file the user chose.
"""

import re

import pytest

from symbiosis.models import SupplyListing
from tests import factories
from tests.web.test_import import HTMX, commit_url, csv_file, preview

pytestmark = pytest.mark.django_db

WITH_DUPLICATES = """material,site,quantity,recurrence
brewery-spent-grain,Brewhouse,120,month
food-waste,Brewhouse,10,year
food-waste,Brewhouse,12,year
"""


@pytest.fixture
def member(client_as, member_a, company_a, site_a, spent_grain, food_waste):
    factories.SupplyListingFactory(
        organization=company_a, site=site_a, material=spent_grain, recurrence="month"
    )
    return client_as(member_a)


def _row(html: str, line: int) -> str:
    return re.search(rf'<tr class="[^"]*" id="import-line-{line}">.*?</tr>', html, re.S).group(0)


def test_the_preview_names_the_file_and_marks_the_duplicates(member):
    response = preview(member, csv_file(WITH_DUPLICATES, name="Sawdust May 2027.csv"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "File: <strong>Sawdust May 2027.csv</strong>" in html
    assert "2 rows may repeat listings you already have" in html
    assert "All 3 rows are ready to import" in html  # a warning, not an error
    first, second, third = (_row(html, line) for line in (2, 3, 4))
    assert 'class="row-warning"' in first
    assert "an active listing of Brewery spent grain per month at Brewhouse" in first
    assert 'class="row-ok"' in second and "OK" in second
    assert 'class="row-warning"' in third and "duplicate of line 3" in third
    # The confirmation names the file and offers to leave the duplicates out.
    form = html.split(f'action="{commit_url(html)}"', 1)[1].split("</form>", 1)[0]
    assert 'name="skip_duplicates"' in form
    assert "Leave out the 2 rows marked as possible duplicates" in form
    assert "from Sawdust May 2027.csv" in form
    assert SupplyListing.objects.count() == 1  # the check saved nothing


def test_a_reload_of_the_preview_keeps_the_file_name(member):
    html = preview(member, csv_file(WITH_DUPLICATES, name="sawdust.csv")).content.decode()
    detail = commit_url(html).removesuffix("import/")
    page = member.get(detail).content.decode()
    assert "File: <strong>sawdust.csv</strong>" in page
    assert 'name="skip_duplicates"' in page


def test_duplicates_are_imported_unless_left_out(member):
    html = preview(member, csv_file(WITH_DUPLICATES)).content.decode()
    response = member.post(commit_url(html))
    assert response.status_code == 302
    assert SupplyListing.objects.count() == 1 + 3


def test_leaving_the_duplicates_out(member):
    html = preview(member, csv_file(WITH_DUPLICATES)).content.decode()
    response = member.post(commit_url(html), {"skip_duplicates": "on"}, **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == "/"
    imported = SupplyListing.objects.exclude(recurrence="month")
    assert [int(x.quantity) for x in imported] == [10]
    assert SupplyListing.objects.filter(recurrence="month").count() == 1
    assert "1 listings imported." in member.get("/").content.decode()


def test_a_file_without_duplicates_offers_no_choice(member):
    text = "material,site,quantity\nfood-waste,Brewhouse,4\n"
    html = preview(member, csv_file(text, name="clean.csv")).content.decode()
    assert "File: <strong>clean.csv</strong>" in html
    assert "skip_duplicates" not in html and "row-warning" not in html


def test_the_finished_import_names_its_file(member):
    html = preview(member, csv_file(WITH_DUPLICATES, name="done.csv")).content.decode()
    url = commit_url(html)
    member.post(url)
    page = member.get(url.removesuffix("import/")).content.decode()
    assert "3 listings imported." in page and "File: <strong>done.csv</strong>" in page


def test_a_file_name_with_markup_is_shown_as_text(member):
    html = preview(member, csv_file(WITH_DUPLICATES, name="<img src=x>.csv")).content.decode()
    assert "<img src=x>" not in html
    assert "File: <strong>&lt;img src=x&gt;.csv</strong>" in html


def test_only_the_uploader_may_leave_duplicates_out(member, client, company_a, member_b):
    html = preview(member, csv_file(WITH_DUPLICATES)).content.decode()
    url = commit_url(html)
    colleague = factories.MembershipFactory(organization=company_a, role="admin").user
    for other in (member_b, colleague):
        client.force_login(other)
        assert client.post(url, {"skip_duplicates": "on"}, **HTMX).status_code == 404
    client.logout()
    assert client.post(url, {"skip_duplicates": "on"})["Location"].startswith("/accounts/login/")
    assert SupplyListing.objects.count() == 1


def test_leaving_out_every_row_says_so_and_keeps_the_preview(member):
    text = "material,site,quantity,recurrence\nbrewery-spent-grain,Brewhouse,5,month\n"
    html = preview(member, csv_file(text, name="only-repeats.csv")).content.decode()
    response = member.post(commit_url(html), {"skip_duplicates": "on"}, **HTMX)
    assert response.status_code == 200  # htmx swaps it in
    page = response.content.decode()
    assert "Every row repeats a listing: there is nothing to import." in page
    assert "File: <strong>only-repeats.csv</strong>" in page
    assert 'name="skip_duplicates"' in page  # still importable with the duplicate
    assert SupplyListing.objects.count() == 1
