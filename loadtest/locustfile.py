"""Load scenario for loadtest/run.sh: companies, facilitators and city analysts.

Every user logs in through the real login form (CSRF token from the page),
then browses like its role would. A response counts as failed unless it has
the expected status and a marker string from the page, so an error page or a
login redirect answered with 200 is not counted as a success. Request names
group URLs by page, not by id or filter, so the statistics read per page.

Data: ``manage.py load_demo`` then ``manage.py scale_demo`` (companies
``org00001@scale.demo.kz`` ... with the demo password).
"""

from __future__ import annotations

import json
import os
import random
import re
import time

from locust import HttpUser, between, events, task

PASSWORD = "almaty-demo-2027"
WAIT_S = tuple(float(x) for x in os.environ.get("LOAD_WAIT_S", "2,6").split(","))
COMPANIES = 4900  # scale_demo makes 4,962 at the default 5,000 organizations
FACILITATOR = "facilitator@demo.kz"
ANALYST = "analyst@demo.kz"

CATEGORIES = ["", "biomass", "minerals", "metals", "plastics", "fossil", "mixed"]
DISTRICTS = ["", "alatau", "almaly", "auezov", "bostandyk", "zhetysu", "medeu", "turksib"]
SORTS = ["", "tonnes", "newest", "distance"]
# What companies type into the market's search box: names in Russian and English,
# some with a typo, EWC codes with and without spaces. (A word of every synthetic
# listing's description, "synthetic", is the worst case: loadtest/view_cost.py
# measures it apart, docs/market.md.)
SEARCHES = [
    "пивная дробина",
    "пивная дробена",
    "spent grian",
    "опилки",
    "fly ash",
    "стеклобой",
    "steel scrap",
    "02 07 04",
    "170101",
]
CITY_TABLES = ["category", "material", "sector", "district", "month", "flows", "exchanges"]
RUN_SORTS = ["saving", "tonnes", "km", "per_t", "supplier", "receiver", "material"]

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
LISTING_RE = re.compile(r'href="/market/(supply|demand)/(\d+)/"')
RUN_RE = re.compile(r'href="/review/runs/(\d+)/"')


# Per-group latencies, written at the end for loadtest/summary.py: locust's CSV
# has percentiles per request name and in total, not per group of names.
GROUPS = (
    ("login", ("login",)),
    ("company: market search", ("/market/ [search",)),
    ("company: market", ("/market/ [",)),
    ("company: market map", ("/market/map.json",)),
    ("company: listing page", ("/market/supply/", "/market/demand/")),
    ("company: workspace", ("/ (workspace)",)),
    ("company: new listing", ("/listings/",)),
    ("facilitator: runs", ("/review/",)),
    ("analyst: dashboard", ("/city/ ", "/city/")),
)
SAMPLES: list[tuple[str, float, bool, float]] = []


def group_of(name: str) -> str:
    if name.startswith("/api/v1/city/"):
        return "analyst: export"
    for group, prefixes in GROUPS:
        if name.startswith(prefixes):
            return group
    return "other"


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **kwargs):
    SAMPLES.append((group_of(name), response_time, exception is None, time.time()))


@events.quitting.add_listener
def _write_groups(environment, **kwargs):
    target = os.environ.get("LOAD_GROUPS_JSON")
    if target:
        with open(target, "w") as out:
            json.dump(SAMPLES, out)


def map_bbox() -> str:
    """A map's view over Almaty as "west,south,east,north": the whole city, a
    district or a few streets, as a user zooms."""
    span = random.choice([0.6, 0.15, 0.04])
    lat = 43.24 + random.uniform(-0.08, 0.08)
    lon = 76.90 + random.uniform(-0.12, 0.12)
    half_lon, half_lat = span / 2, span / 3
    return f"{lon - half_lon:.5f},{lat - half_lat:.5f},{lon + half_lon:.5f},{lat + half_lat:.5f}"


def _select_values(html: str, name: str) -> list[str]:
    block = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    if not block:
        return []
    return [v for v in re.findall(r'<option value="([^"]*)"', block.group(1)) if v]


class Visitor(HttpUser):
    abstract = True
    # Think time between pages: a person reading, not a benchmark loop
    # (LOAD_WAIT_S="min,max" changes it).
    wait_time = between(*WAIT_S)
    email = ""

    def get_page(self, url: str, name: str, marker: str, **kwargs):
        with self.client.get(url, name=name, catch_response=True, **kwargs) as response:
            if response.status_code == 0:  # no HTTP answer: say what the client saw
                response.failure(f"connection: {response.error!r}")
            elif response.status_code != 200:
                response.failure(f"status {response.status_code}")
            elif marker not in response.text:
                response.failure(f"marker {marker!r} missing")
            else:
                response.success()
            return response

    def csrf_token(self, html: str) -> str:
        found = CSRF_RE.search(html)
        return found.group(1) if found else ""

    def post_form(self, path: str, form_html: str, data: dict, *, name: str, saved, failure: str):
        """POST a form as a browser does (the page's CSRF token, a Referer); a success
        is a 302 for which ``saved(response)`` holds, anything else a failure."""
        with self.client.post(
            path,
            {**data, "csrfmiddlewaretoken": self.csrf_token(form_html)},
            headers={"Referer": f"{self.host}{path}"},
            name=name,
            catch_response=True,
            allow_redirects=False,
        ) as response:
            if response.status_code == 302 and saved(response):
                response.success()
            else:
                response.failure(f"{failure}: status {response.status_code}")

    def on_start(self):
        page = self.get_page("/accounts/login/", "login form", "csrfmiddlewaretoken")
        self.post_form(
            "/accounts/login/",
            page.text,
            {"username": self.email, "password": PASSWORD, "next": "/"},
            name="login POST",
            saved=lambda response: "sessionid" in self.client.cookies,
            failure="login failed",
        )


class CompanyUser(Visitor):
    """A company member: the market mostly, listing pages, sometimes a new listing."""

    weight = 7

    def on_start(self):
        self.email = f"org{random.randint(1, COMPANIES):05d}@scale.demo.kz"
        self.seen: list[tuple[str, str]] = []
        super().on_start()

    @task(6)
    def browse_market(self):
        params = {
            "kind": random.choice(["supply", "supply", "demand"]),
            "category": random.choice(CATEGORIES),
            "district": random.choice(DISTRICTS),
            "sort": random.choice(SORTS),
        }
        if random.random() < 0.4:
            params["page"] = str(random.randint(2, 30))
        if random.random() < 0.2:
            params["max_km"] = str(random.choice([5, 10, 20]))
        if random.random() < 0.3:
            params["bbox"] = map_bbox()  # the list following the map
        headers = {"HX-Request": "true"} if random.random() < 0.3 else {}
        response = self.get_page(
            "/market/",
            f"/market/ [{params['kind']}]",
            "market-results",
            params={k: v for k, v in params.items() if v},
            headers=headers,
        )
        found = LISTING_RE.findall(response.text or "")
        if found:
            self.seen = found[:20]

    @task(2)
    def search_market(self):
        """The search box: typed over htmx (the results partial) or submitted."""
        params = {"q": random.choice(SEARCHES), "kind": random.choice(["supply", "demand"])}
        if random.random() < 0.3:
            params["category"] = random.choice(CATEGORIES[1:])
        if random.random() < 0.2:
            params["max_km"] = str(random.choice([5, 10, 20]))
        headers = {"HX-Request": "true"} if random.random() < 0.7 else {}
        response = self.get_page(
            "/market/",
            f"/market/ [search {params['kind']}]",
            "market-results",
            params=params,
            headers=headers,
        )
        found = LISTING_RE.findall(response.text or "")
        if found:
            self.seen = found[:20]

    @task(3)
    def market_map(self):
        """The map's data beside the list: the whole market first, then the view."""
        params = {
            "kind": random.choice(["supply", "supply", "demand"]),
            "category": random.choice(CATEGORIES),
        }
        if random.random() < 0.7:
            params["bbox"] = map_bbox()
        self.get_page(
            "/market/map.json",
            "/market/map.json " + ("[view]" if "bbox" in params else "[all]"),
            '"mode"',
            params={k: v for k, v in params.items() if v},
        )

    @task(3)
    def listing_detail(self):
        if not self.seen:
            return self.browse_market()
        kind, pk = random.choice(self.seen)
        self.get_page(f"/market/{kind}/{pk}/", f"/market/{kind}/<id>/", "<h1>")

    @task(1)
    def workspace(self):
        self.get_page("/", "/ (workspace)", "<h1")

    @task(1)
    def create_supply(self):
        form = self.get_page("/listings/supply/new/", "/listings/supply/new/ GET", 'name="site"')
        html = form.text or ""
        sites, materials = _select_values(html, "site"), _select_values(html, "material")
        if not sites or not materials:
            return
        self.post_form(
            "/listings/supply/new/",
            html,
            {
                "material": random.choice(materials),
                "site": random.choice(sites),
                "quantity": f"{random.uniform(1, 500):.1f}",
                "unit": "t",
                "recurrence": "year",
                "visibility": random.choice(["public", "anonymous"]),
                "status": "active",
                "fate": "landfill",
                "description": "Created by the load test",
            },
            name="/listings/supply/new/ POST",
            saved=lambda response: "#supply-" in response.headers.get("Location", ""),
            failure="not saved",
        )


class Facilitator(Visitor):
    """Reviews the optimizer run: the list, the results, sorted and filtered."""

    weight = 2
    email = FACILITATOR

    def on_start(self):
        super().on_start()
        response = self.get_page("/review/runs/", "/review/runs/", "<h1>")
        self.runs = RUN_RE.findall(response.text or "") or ["1"]

    @task(1)
    def run_list(self):
        self.get_page("/review/runs/", "/review/runs/", "<h1>")

    @task(4)
    def run_results(self):
        params = {"sort": random.choice(RUN_SORTS)}
        if random.random() < 0.3:
            params["status"] = random.choice(["proposed", "approved", "rejected"])
        if random.random() < 0.4:
            params["page"] = str(random.randint(1, 15))
        run = random.choice(self.runs)
        self.get_page(f"/review/runs/{run}/", "/review/runs/<id>/", "<h1>", params=params)


class Analyst(Visitor):
    """The city dashboard with filters, and a table export."""

    weight = 1
    email = ANALYST

    def _filters(self) -> dict:
        params = {}
        if random.random() < 0.5:
            params["district"] = random.choice(DISTRICTS[1:])
        if random.random() < 0.5:
            params["category"] = random.choice(CATEGORIES[1:])
        if random.random() < 0.3:
            params["from"] = "2025-06"
        return params

    @task(3)
    def dashboard(self):
        self.get_page("/city/", "/city/", "<h1>", params=self._filters())

    @task(1)
    def export(self):
        table = random.choice(CITY_TABLES)
        params = {**self._filters(), "format": random.choice(["csv", "json"])}
        marker = "," if params["format"] == "csv" else '"rows"'
        self.get_page(f"/api/v1/city/{table}/", "/api/v1/city/<table>/", marker, params=params)
