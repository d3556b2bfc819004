"""The public asset view: the non-personal facts of each asset, derived from its record (UC-05.01).

What it shows is data (``data/views/public-assets.ttl``): the properties it copies, the postcode
whose district it shows, and the capacity up to which a domestic asset shows no district. The write
path keeps the view in step with the record in the same atomic write (``graph/public``).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

from rdflib import Graph, URIRef

from fmar.graphs import new_graph
from fmar.iris import FMAR, code
from fmar.ntriples import literal, parts, term, to_node

_DOMESTIC = term(code("OwnerType", "DOMESTIC"))
_OWNER_TYPE, _RATED = term(FMAR.ownerType), term(FMAR.ratedCapacity)
_DISTRICT = term(FMAR.postcodeDistrict)

Terms = list[tuple[str, str, str]]


class PublicView:
    """Which of a record's facts are public, and what the view derives from them."""

    def __init__(self, definition: Path) -> None:
        g = Graph().parse(definition, format="turtle")
        view = next(g.subjects(FMAR.viewOf, None))
        self.shown_iris = frozenset(p for p in g.objects(view, FMAR.shows) if isinstance(p, URIRef))
        self.shown = frozenset(term(p) for p in self.shown_iris)
        self.postcode = {term(p) for p in g.objects(view, FMAR.showsDistrictOf) if isinstance(p, URIRef)}
        self.small_domestic = Decimal(str(g.value(view, FMAR.smallDomesticCapacity) or "0"))

    def derived(self, triples: Terms, subject: str) -> Terms:
        """What the view derives for the record ``subject`` (from its own triples among ``triples``): the
        district of its postcode, unless it is a small domestic asset."""
        own = [(p, o) for s, p, o in triples if s == subject]
        if self._small_domestic(own):
            return []
        return [(subject, _DISTRICT, literal(district(parts(o)[0]))) for p, o in own
                if p in self.postcode and o[0] == '"']

    def split(self, record: Graph, subject: URIRef) -> tuple[Graph, Graph]:
        """A record's graph as (its public facts, the rest)."""
        public, rest = new_graph(), new_graph()
        for s, p, o in record:
            (public if s == subject and p in self.shown_iris else rest).add((s, p, o))
        return public, rest

    def derived_graph(self, record: Graph, subject: URIRef) -> Graph:
        """:meth:`derived` for a record given as an rdflib graph."""
        graph = new_graph()
        own = [(term(subject), term(p), term(o)) for p, o in record.predicate_objects(subject)]
        for s, p, o in self.derived(own, term(subject)):
            graph.add((to_node(s), to_node(p), to_node(o)))
        return graph

    def _small_domestic(self, own: list[tuple[str, str]]) -> bool:
        values = dict(own)
        if values.get(_OWNER_TYPE) != _DOMESTIC:
            return False
        try:
            return Decimal(parts(values.get(_RATED, '"0"'))[0]) <= self.small_domestic
        except InvalidOperation:
            return True  # no usable capacity: treat it as small, and show less


def district(postcode: str) -> str:
    """The outward code of a UK postcode: ``CB7`` of ``CB7 4AA`` (the inward code is its last three characters)."""
    compact = "".join(postcode.split()).upper()
    return compact[:-3] if len(compact) > 3 else compact
