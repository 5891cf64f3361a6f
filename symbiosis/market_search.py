"""Search and facets of the market list (``/market/``): what a query and the
filters added for issue 18 keep of a queryset of listings.

A query matches a listing by its **title**, by its **EWC code** or by its
**description**:

- The title: listings have none of their own, so a supply's title is its
  material's name (English, Russian and Kazakh) and a demand's the names of the
  materials it accepts, of the material its quantity is measured in and of
  the uses it accepts. Names are few (a taxonomy of a few dozen rows), so the
  matching names are found first and the listings then filtered by id.
- The EWC code or the national code (Kazakhstan's classifier): a query of digits
  and spaces ("020704", "02 07 04", "02 07", "13 02 05*") matches the materials
  whose either code starts with those digits, spaces and "*" ignored.
- The description, only where its viewer may read it: the visibility rule
  (``visibility.hides_owner_q``) hides the description of a listing whose
  owner is hidden, so searching other companies' hidden descriptions would
  reveal hidden text. Their descriptions are searched for the owner's members
  and facilitators only.

On PostgreSQL names match by full-text search (the ``russian`` configuration:
Russian words by the Russian stemmer, Latin ones by the English one, so
"пивную дробину" and "grains" find their names; the ``simple`` one for words as
typed) or by trigram word similarity of the whole query (``pg_trgm``'s
``word_similarity``, at least ``NAME_SIMILARITY``: "пивная дробена" and
"spent grian" still find "Пивная дробина"). Descriptions match by full-text
search in the ``russian`` configuration, every word of the query, against
the listing's stored vector (``Listing.description_vector``, a generated
column with a GIN index, migration 0013: no description is parsed per query).

Elsewhere (SQLite, development) the same rules in Python: words lower-cased,
"ё" read as "е", the endings of Russian and English words cut by a light
stemmer (``stem``) where PostgreSQL uses Snowball's, and pg_trgm's word
similarity recomputed (``word_similarity``) over the few names; a description
matches when every word's stem is one of its words' stems.
``tests/symbiosis/test_market_search.py`` runs one set of queries on the demo
on both databases and expects the same listings.

Facets: recurrence; "has photos" and the data-quality level are applied only
where the listing models have the ``photos`` relation and the
``data_quality`` field (``facets_supported``): the form shows them then and
not before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Greatest, Replace

from symbiosis import visibility
from symbiosis.models import DemandListing, Material, SupplyListing, Use
from symbiosis.models.listings import DESCRIPTION_TEXT_CONFIG

# The least pg_trgm word similarity of a query to a name for the name to match
# (pg_trgm's own default for its %> operator): 0.5 also let "spent grain" find
# "Spent coffee grounds" and "дробина" find "дроблёный бетон".
NAME_SIMILARITY = 0.6
# The names a query is matched against (BilingualName): English, Russian and Kazakh.
# Kazakh words go through the same configurations: the russian stemmer cuts a
# Kazakh word as it cuts its query, and the trigrams and plain words match as typed.
NAME_FIELDS = ("name_en", "name_ru", "name_kk")
# Longest query read; the rest is ignored.
MAX_QUERY_CHARS = 200
MAX_WORDS = 8
# How a match ranks a listing ("Best match"): a title match by its score times
# TITLE_WEIGHT (at least 1.2), above a match of the description alone.
TITLE_WEIGHT = 2.0
DESCRIPTION_WEIGHT = 1.0
# The full-text configuration of descriptions: the one their stored vector is
# made with (``Listing.description_vector``, GIN-indexed by migration 0013).
TEXT_CONFIG = DESCRIPTION_TEXT_CONFIG

_WORD_RE = re.compile(r"[^\W_]+")
_EWC_RE = re.compile(r"^\s*\d{2}(?:\s*\d{1,2}){0,2}\s*\*?\s*$")

# Words PostgreSQL's russian configuration drops (Snowball's English stop list,
# which it applies to Latin words, and the commonest Russian ones): the
# fallback drops them too.
_STOP_TEXT = (
    "i me my myself we our ours ourselves you your yours yourself yourselves he him his "
    "himself she her hers herself it its itself they them their theirs themselves what "
    "which who whom this that these those am is are was were be been being have has had "
    "having do does did doing a an the and but if or because as until while of at by for "
    "with about against between into through during before after above below to from up "
    "down in out on off over under again further then once here there when where why how "
    "all any both each few more most other some such no nor not only own same so than too "
    "very s t can will just don should now "
    "и в во на с со по для из от до не или а но к у о об что как это мы вы он она они "
    "его ее их мне нас вам же бы ли то так уже"
)
STOP_WORDS = frozenset(_STOP_TEXT.split())
# Endings cut by ``stem``, longest first: a light stemmer, enough for the
# fallback to find "дробину" from "дробина" and "bottle" from "bottles".
_RU_ENDINGS_TEXT = (
    "иями ями ами ией ого его ому ему ыми ими ых их ой ей ий ый ая яя ое ее ые ие "
    "ую юю ом ем ам ям ах ях ов ев ию ия ие ья ье а я ы и о у ю е ь й"
)
_RU_ENDINGS = sorted(_RU_ENDINGS_TEXT.split(), key=len, reverse=True)
_EN_ENDINGS = ("ingly", "edly", "able", "ible", "ings", "ing", "ed", "ly")
_DOUBLED = ("bb", "dd", "ff", "gg", "mm", "nn", "pp", "rr", "tt")
MIN_STEM = 3


# --- words -----------------------------------------------------------------------------


def fold(text: str) -> str:
    return (text or "").casefold().replace("ё", "е")


def words(text: str) -> list[str]:
    """The words of ``text``, folded, without stop words."""
    return [w for w in _WORD_RE.findall(fold(text)) if w not in STOP_WORDS]


def _stem_en(word: str) -> str:
    if word.endswith("sses") or (word.endswith("ies") and len(word) > 4):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us")) and len(word) > 3:
        word = word[:-1]
    for ending in _EN_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= MIN_STEM:
            word = word[: -len(ending)]
            if word.endswith(_DOUBLED):
                word = word[:-1]
            break
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        word = word[:-1] + "i"
    if word.endswith("e") and len(word) > MIN_STEM:
        word = word[:-1]
    return word


def stem(word: str) -> str:
    """A word without its ending, roughly as Snowball's Russian or English stemmer cuts it."""
    if not re.search("[а-я]", word):
        return _stem_en(word)
    for ending in _RU_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= MIN_STEM:
            return word[: -len(ending)]
    return word


def _trigrams(text: str) -> list[str]:
    """The trigrams of ``text`` in order, as pg_trgm makes them: each lower-cased
    word padded with two spaces before and one after."""
    found = []
    for word in _WORD_RE.findall((text or "").lower()):
        padded = f"  {word} "
        found.extend(padded[i : i + 3] for i in range(len(padded) - 2))
    return found


def word_similarity(query: str, text: str) -> float:
    """pg_trgm's ``word_similarity(query, text)``, as the fallback computes it: the
    best, over the runs of consecutive trigrams of ``text``, of the query's
    trigrams found in the run over the trigrams in either (the query's or the run's)."""
    wanted = set(_trigrams(query))
    if not wanted:
        return 0.0
    ordered = _trigrams(text)
    # A run that begins or ends on a trigram the query lacks scores lower than
    # the same run without it: only runs from and to shared trigrams count.
    shared_at = [i for i, trigram in enumerate(ordered) if trigram in wanted]
    best = 0.0
    for start in shared_at:
        run: set[str] = set()
        found: set[str] = set()
        for end in range(start, len(ordered)):
            run.add(ordered[end])
            if ordered[end] in wanted:
                found.add(ordered[end])
                best = max(best, len(found) / (len(wanted) + len(run) - len(found)))
    return best


def name_score(query: str, *names: str) -> float:
    """The fallback's match of ``query`` to a material's (or use's) names, as
    PostgreSQL's: 1 where every word is, by stem, a word of the names
    (full-text), else the best trigram word similarity if at least
    ``NAME_SIMILARITY``, else 0."""
    if text_matches(query, " ".join(names)):
        return 1.0
    similarity = max((word_similarity(query, name) for name in names), default=0.0)
    return similarity if similarity >= NAME_SIMILARITY else 0.0


def text_matches(query: str, text: str) -> bool:
    """The fallback's full-text match: every word of the query is, by stem, a word of text."""
    query_stems = {stem(w) for w in words(query)}
    if not query_stems:
        return False
    return query_stems <= {stem(w) for w in words(text)}


def ewc_digits(query: str) -> str | None:
    """The digits of an EWC code query ("02 07 04", "020704", "02 07"), else None."""
    if not _EWC_RE.match(query or ""):
        return None
    return re.sub(r"\D", "", query)


# --- which names match -------------------------------------------------------------------


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _name_scores_sql(model, query: str) -> dict[int, float]:
    from django.contrib.postgres.search import (
        SearchQuery,
        SearchVector,
        TrigramWordSimilarity,
    )

    full_text = Q(
        stemmed=SearchQuery(query, config=TEXT_CONFIG),
    ) | Q(plain=SearchQuery(query, config="simple"))
    found = (
        model.objects.annotate(
            similarity=Greatest(*(TrigramWordSimilarity(query, name) for name in NAME_FIELDS)),
            stemmed=SearchVector(*NAME_FIELDS, config=TEXT_CONFIG),
            plain=SearchVector(*NAME_FIELDS, config="simple"),
        )
        .annotate(full_text=ExpressionWrapper(full_text, output_field=BooleanField()))
        .filter(full_text | Q(similarity__gte=NAME_SIMILARITY))
    )
    # A full-text match counts as a perfect one; a near one by its similarity.
    return {
        pk: 1.0 if is_full_text else float(similarity)
        for pk, similarity, is_full_text in found.values_list("pk", "similarity", "full_text")
    }


def _name_scores_python(model, query: str) -> dict[int, float]:
    scores = {}
    for pk, *names in model.objects.values_list("pk", *NAME_FIELDS):
        score = name_score(query, *(name for name in names if name))
        if score:
            scores[pk] = score
    return scores


def name_scores(model, query: str) -> dict[int, float]:
    """{id: score in (0, 1]} of the materials (or uses) whose name matches ``query``."""
    if _postgres():
        return _name_scores_sql(model, query)
    return _name_scores_python(model, query)


def ewc_material_ids(digits: str) -> set[int]:
    """Materials whose EWC code or national code (Kazakhstan) starts with ``digits``."""
    ewc = Replace(F("ewc_code"), Value(" "), Value(""))
    national = Replace(F("kz_code"), Value(" "), Value(""))
    return set(
        Material.objects.annotate(ewc_digits=ewc, kz_digits=national)
        .filter(Q(ewc_digits__startswith=digits) | Q(kz_digits__startswith=digits))
        .values_list("pk", flat=True)
    )


# --- the search of one request -------------------------------------------------------------


@dataclass
class Search:
    """One query for one viewer over one kind of listing."""

    query: str
    kind: str
    # hides_owner_q of the viewer: None where every description may be read.
    hides_owner: Q | None
    material_scores: dict[int, float] = field(default_factory=dict)
    use_scores: dict[int, float] = field(default_factory=dict)
    ewc: str | None = None
    # The fallback's matching descriptions, read once per request.
    _description_ids: list[int] | None = None

    def __bool__(self) -> bool:
        return bool(self.query)

    @property
    def model(self):
        return DemandListing if self.kind == "demand" else SupplyListing

    def _title_q(self, material_ids) -> Q:
        material_ids = list(material_ids)
        if self.kind == "supply":
            return Q(material_id__in=material_ids)
        accepted = DemandListing.materials.through.objects.filter(material_id__in=material_ids)
        title = Q(pk__in=accepted.values("demandlisting_id")) | Q(
            reference_material_id__in=material_ids
        )
        if self.use_scores:
            uses = DemandListing.uses.through.objects.filter(use_id__in=list(self.use_scores))
            title |= Q(pk__in=uses.values("demandlisting_id"))
        return title

    def title_q(self) -> Q:
        return self._title_q(self.material_scores)

    def description_readable_q(self) -> Q:
        return Q() if self.hides_owner is None else ~self.hides_owner

    def description_q(self, queryset: QuerySet) -> Q:
        """Descriptions the viewer may read that match, as a condition."""
        if self.ewc is not None:
            return Q(pk__in=[])
        readable = self.description_readable_q()
        if _postgres():
            from django.contrib.postgres.search import SearchQuery

            # The stored, indexed vector (Listing.description_vector): no
            # description is parsed at query time.
            matches = Q(description_vector=SearchQuery(self.query, config=TEXT_CONFIG))
            return matches & readable
        # The fallback reads the readable descriptions once and keeps the ids.
        if self._description_ids is None:
            self._description_ids = [
                pk
                for pk, text in queryset.filter(readable).values_list("pk", "description")
                if text_matches(self.query, text)
            ]
        return Q(pk__in=self._description_ids)

    def narrow(self, queryset: QuerySet) -> QuerySet:
        if not self:
            return queryset
        return queryset.filter(self.title_q() | self.description_q(queryset))

    def rank(self) -> Case | None:
        """ "Best match" of each row, for rows ``narrow`` kept: a title match by its
        score (weighted), else a description match. Only the title is read: the
        row matched one or the other, and testing the description again would
        parse every matching description a second time."""
        whens = [
            When(self._title_q([pk]), then=Value(TITLE_WEIGHT * score))
            for pk, score in sorted(self.material_scores.items(), key=lambda item: -item[1])
        ]
        if self.kind == "demand" and self.use_scores:
            best_use = max(self.use_scores.values())
            uses = DemandListing.uses.through.objects.filter(use_id__in=list(self.use_scores))
            whens.append(
                When(pk__in=uses.values("demandlisting_id"), then=Value(TITLE_WEIGHT * best_use))
            )
        if not whens:
            return None  # descriptions alone: every row ranks alike
        return Case(*whens, default=Value(DESCRIPTION_WEIGHT), output_field=FloatField())


def market_search(query: str | None, *, kind: str, viewer, introduced_ids) -> Search:
    """The search of ``query`` (may be empty) for ``viewer`` over ``kind`` listings."""
    query = " ".join((query or "")[:MAX_QUERY_CHARS].split()[: MAX_WORDS * 2])
    hides_owner = visibility.hides_owner_q(viewer=viewer, introduced_ids=introduced_ids)
    search = Search(query=query, kind=kind, hides_owner=hides_owner)
    if not query:
        return search
    search.ewc = ewc_digits(query)
    if search.ewc is not None:
        search.material_scores = dict.fromkeys(ewc_material_ids(search.ewc), 1.0)
        return search
    if not words(query):
        # Nothing to search for (punctuation, stop words): nothing matches.
        return search
    search.material_scores = name_scores(Material, query)
    if kind == "demand":
        search.use_scores = name_scores(Use, query)
    return search


# --- facets ----------------------------------------------------------------------------------

# The data-quality levels, lowest first (``Listing.data_quality``): a facet value
# keeps its level and those above it.
DATA_QUALITY_LEVELS = ("declared", "lab_tested", "verified")


def apply_facets(queryset: QuerySet, *, recurrence=None, has_photos=False, data_quality=None):
    if recurrence:
        queryset = queryset.filter(recurrence=recurrence)
    if has_photos:
        with_photos = queryset.model.objects.filter(photos__isnull=False)
        queryset = queryset.filter(pk__in=with_photos.values("pk"))
    if data_quality in DATA_QUALITY_LEVELS:
        levels = DATA_QUALITY_LEVELS[DATA_QUALITY_LEVELS.index(data_quality) :]
        queryset = queryset.filter(data_quality__in=levels)
    return queryset


def thumbnail_url(card) -> str | None:
    """The listing's first photo's thumbnail as ``card`` may show it; None without
    one, or until the thumbnail task has made it."""
    try:
        photo = card.first_photo
    except AttributeError:  # visibility.HiddenField: not shown to this viewer
        return None
    return photo.thumbnail_url if photo is not None else None
