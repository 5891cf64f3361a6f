"""The demo's listing windows are seasons placed around the load day (no database).

``symbiosis.demo.demo_window`` turns a CSV season ("07-15" to "12-31", or none:
all year) into dates around the day ``load_demo`` runs. Checked here: the rule
itself, and that every pair of demo listings that could be matched (the
material accepted) meets in time on any load day exactly when it meets within
one calendar year, so a run proposes the same exchanges whatever the date.
"""

from datetime import date, timedelta

import pytest

from symbiosis.demo import SEASON_MIN_DAYS_LEFT, demo_window
from symbiosis.taxonomy import read_csv

JUNE = date(2026, 6, 10)


def test_all_year_runs_from_the_load_day_for_a_year():
    assert demo_window("", "", today=JUNE) == (JUNE, date(2027, 6, 9))
    assert demo_window("", "", today=date(2028, 2, 29)) == (date(2028, 2, 29), date(2029, 2, 27))


@pytest.mark.parametrize(
    ("today", "window"),
    [
        # Ahead this year: as it is.
        (date(2026, 1, 5), (date(2026, 4, 1), date(2026, 10, 31))),
        # Under way: from the load day (no window starts in the past).
        (JUNE, (JUNE, date(2026, 10, 31))),
        (date(2026, 10, 1), (date(2026, 10, 1), date(2026, 10, 31))),
        # Fewer than SEASON_MIN_DAYS_LEFT days left: next year's season.
        (date(2026, 10, 2), (date(2027, 4, 1), date(2027, 10, 31))),
        (date(2026, 12, 31), (date(2027, 4, 1), date(2027, 10, 31))),
    ],
)
def test_a_season_is_its_next_occurrence_with_a_month_to_run(today, window):
    assert SEASON_MIN_DAYS_LEFT == 30
    assert demo_window("04-01", "10-31", today=today) == window


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("04-01", "", "both season days or neither"),
        ("13-01", "12-31", "no MM-DD season day"),
        ("02-29", "12-31", "no MM-DD season day"),
        ("2027-04-01", "10-31", "no MM-DD season day"),
        ("11-01", "03-31", "within one calendar year"),
    ],
)
def test_a_bad_season_names_its_listing(first, last, message):
    with pytest.raises(ValueError, match=message) as info:
        demo_window(first, last, today=JUNE, key="x/y")
    assert "x/y" in str(info.value)


def _template(row) -> tuple[date, date]:
    """The window within one calendar year (2027), as the demo was first written."""
    if not row["available_from"]:
        return date(2027, 1, 1), date(2027, 12, 31)
    return tuple(
        date.fromisoformat(f"2027-{row[k]}") for k in ("available_from", "available_until")
    )


def _meet(a, b) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _matchable_pairs():
    rules = {(r["material"], r["use"]) for r in read_csv("compatibility_rules.csv")}
    supplies, demands = read_csv("demo/supplies.csv"), read_csv("demo/demands.csv")
    pairs = []
    for s in supplies:
        for d in demands:
            uses = [u for u in d["uses"].split(";") if u]
            if s["material"] in d["materials"].split(";") or any(
                (s["material"], u) in rules for u in uses
            ):
                pairs.append((s, d))
    return pairs


def test_matchable_pairs_meet_on_every_load_day_as_in_one_calendar_year():
    pairs = _matchable_pairs()
    assert len(pairs) > 40
    first_day = date(2027, 1, 1)  # 2027 and 2028 (a leap year): every day, both kinds
    for n in range(366 + 365):
        today = first_day + timedelta(days=n)
        for s, d in pairs:
            placed = (
                demo_window(s["available_from"], s["available_until"], today=today),
                demo_window(d["available_from"], d["available_until"], today=today),
            )
            assert _meet(*placed) == _meet(_template(s), _template(d)), (today, s["key"], d["key"])
