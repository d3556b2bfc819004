"""Asset categories are published SHACL shapes (UC-02.01): list, read, publish a new version, deprecate.

The seed shapes are ``shapes/categories/{CODE}.ttl``. The admin publishes a new version with
``PUT /categories/{code}``: it must be valid SHACL (the SHACL meta-shape, by pyshacl), use only
what the compiled validator implements, and keep every existing asset of the category
conforming unless it is marked as a breaking version. Every version is kept in its own named
graph (``{base}graph/category/{CODE}/v{n}``); the newest one is the one assets are checked against.
"""

from __future__ import annotations

import builtins
import re
from typing import TYPE_CHECKING

from pyshacl.entrypoints import meta_validate
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS
from rdflib.term import Node

from fmar.access.principal import Principal
from fmar.errors import BadRequest, Conflict, NotFound, Unprocessable
from fmar.iris import FMAR, code
from fmar.jsonld import skolemise
from fmar.validation import make_validator
from fmar.validation.engine import ShapeError
from fmar.validation.shacl import SH, target_categories
from fmar.writepath import Change, RecordChange

if TYPE_CHECKING:
    from fmar.audit.history import Version
    from fmar.registry import Registry

CATEGORY_SHAPES = "https://w3id.org/fmar/shapes/category/"
_VERSIONS = """SELECT ?g ?category WHERE { GRAPH ?g { ?shape <https://w3id.org/fmar#forCategory> ?category } }"""
_IN_CATEGORY = """?asset fmar:assetCategory ?category .
  FILTER NOT EXISTS { ?asset fmar:status <https://w3id.org/fmar/code/AssetStatus/Deregistered> }
"""
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


def shape_iri(category_code: str) -> URIRef:
    return URIRef(CATEGORY_SHAPES + category_code)


def description(shapes: Graph, node: Node) -> Graph:
    """A shape and everything it holds through blank nodes or its own ``#`` nodes (its CBD)."""
    out, todo, seen = Graph(), [node], set()
    while todo:
        subject = todo.pop()
        if subject in seen:
            continue
        seen.add(subject)
        for p, o in shapes.predicate_objects(subject):
            out.add((subject, p, o))
            if isinstance(o, BNode) or str(o).startswith(f"{node}#"):
                todo.append(o)
    return out


class Categories:
    """The category shapes service."""

    def __init__(self, registry: Registry) -> None:
        self.r = registry

    def _all_versions(self) -> dict[str, list[tuple[int, URIRef]]]:
        """Category code → its published versions (number, named graph), oldest first; one query."""
        versions: dict[str, list[tuple[int, URIRef]]] = {}
        for row in self.r.store.select(_VERSIONS):
            match = re.search(r"/v(\d+)$", str(row["g"]))
            if match:
                versions.setdefault(str(row["category"]).rsplit("/", 1)[-1], []).append(
                    (int(match.group(1)), URIRef(str(row["g"]))))
        return {c: sorted(v) for c, v in versions.items()}

    def _versions(self, category_code: str) -> list[tuple[int, URIRef]]:
        return self._all_versions().get(category_code, [])

    def published(self) -> dict[str, Graph]:
        """The newest published version of each category that has one (they replace the seed shapes)."""
        return {c: self.r.store.graph(v[-1][1]) for c, v in self._all_versions().items()}

    def merged(self, published: dict[str, Graph]) -> Graph:
        """The current shapes with each published category version in place of the older one."""
        shapes = self.r.write.validator.shapes
        for category_code, graph in published.items():
            shapes = self._shapes_with(shape_iri(category_code), graph, shapes)
        return shapes

    def list(self) -> list[dict[str, object]]:
        """Every category: code, label, version, deprecated."""
        shapes = self.r.write.validator.shapes
        items = []
        for shape, category in sorted(shapes.subject_objects(FMAR.forCategory), key=lambda so: str(so[1])):
            code_ = str(category).rsplit("/", 1)[-1]
            items.append({"code": code_, "label": str(shapes.value(shape, RDFS.label) or code_),
                          "version": int(str(shapes.value(shape, OWL.versionInfo) or 1)),
                          "deprecated": shapes.value(shape, OWL.deprecated) == Literal(True),
                          "shape": str(shape)})
        return items

    def get(self, category_code: str, version: int | None = None) -> Graph:
        """A category's shape: the current one, or a given published version (1 is the seed shape)."""
        shape = self._shape_node(category_code)
        if version is None:
            return description(self.r.write.validator.shapes, shape)
        for number, graph in self._versions(category_code):
            if number == version:
                return self.r.store.graph(graph)
        if version == 1:
            return description(self.r.store.graph(self.r.iris.graph("shapes")), shape)
        raise NotFound(f"category {category_code} has no version {version}")

    def version_at(self, category_code: str, when: str) -> int:
        """The version of a category's shape in force at ``when``: the seed (1) and one more a publication."""
        shape = self._shape_node(category_code)
        return 1 + self.r.history.events_until(shape, when)

    def history(self, principal: Principal, category_code: str) -> tuple[URIRef, builtins.list[Version]]:
        """The publications of a category's shape (each a version; version 1, the seed, came with the
        reference graphs)."""
        shape = self._shape_node(category_code)
        return self.r.history.versions_of(principal, self.r.category_kind, shape, category_code, first=2)

    def _shape_node(self, category_code: str) -> URIRef:
        if not _CODE.match(category_code):
            raise NotFound(f"no asset category {category_code!r}")
        shapes = self.r.write.validator.shapes
        shape = next(shapes.subjects(FMAR.forCategory, code("AssetCategory", category_code)), None)
        if not isinstance(shape, URIRef):
            raise NotFound(f"no asset category {category_code!r}")
        return shape

    def publish(self, principal: Principal, category_code: str, turtle: str, *, breaking: bool = False,
                reason: str | None = None, request_id: str | None = None) -> tuple[int, Graph]:
        """Publish a new version of a category's shape (admin)."""
        self.r.policy.require_role(principal, "category.update")
        shape = self._shape_node(category_code)
        try:
            submitted = Graph().parse(data=turtle, format="turtle")
        except Exception as exc:  # noqa: BLE001 - any parser error is the submitter's
            raise BadRequest(f"the shape is not valid Turtle: {exc}") from exc
        return self._publish(principal, category_code, shape, submitted, breaking, reason, request_id)

    def deprecate(self, principal: Principal, category_code: str, reason: str | None,
                  request_id: str | None = None) -> tuple[int, Graph]:
        """A new version marked deprecated: new registrations are refused, existing assets are untouched."""
        self.r.policy.require_role(principal, "category.deprecate")
        shape = self._shape_node(category_code)
        current = description(self.r.write.validator.shapes, shape)
        if (shape, OWL.deprecated, Literal(True)) in current:
            raise Conflict(f"category {category_code} is already deprecated")
        current.add((shape, OWL.deprecated, Literal(True)))
        return self._publish(principal, category_code, shape, current, True, reason, request_id,
                             operation="category.deprecate")

    def _publish(self, principal: Principal, category_code: str, shape: URIRef, submitted: Graph, breaking: bool,
                 reason: str | None, request_id: str | None, operation: str = "category.update") -> tuple[int, Graph]:
        category = code("AssetCategory", category_code)
        if set(submitted.subjects(FMAR.forCategory, None)) != {shape} or \
                submitted.value(shape, FMAR.forCategory) != category:
            raise Unprocessable(f"the shape must be <{shape}>, with fmar:forCategory <{category}>, and no other "
                                "category shape")
        if (shape, RDF.type, SH.NodeShape) not in submitted:
            raise Unprocessable(f"<{shape}> must be a sh:NodeShape")
        conforms, _, text = meta_validate(submitted)
        if not conforms:
            raise Unprocessable("the shape is not valid SHACL (the SHACL meta-shape says so)", report=str(text)[:4000])
        versions = self._versions(category_code)
        number = (versions[-1][0] if versions else 1) + 1
        submitted.set((shape, OWL.versionInfo, Literal(str(number))))
        graph = skolemise(submitted, shape)
        candidate = self._shapes_with(shape, graph)
        try:
            validator = make_validator(self.r.settings.validator, candidate, self.r.context.term_for)
        except ShapeError as exc:
            raise Unprocessable(f"the shape uses SHACL the registry does not implement: {exc}") from exc
        if not breaking:
            self._check_existing(validator, category)
        version_graph = self.r.iris.graph(f"category/{category_code}/v{number}")
        self.r.write.commit(Change(operation, principal, None, [RecordChange(shape, version_graph, Graph(), graph)],
                                   reason=reason, request_id=request_id, checks=[]))
        self.r.use_shapes(candidate)
        return number, graph

    def _shapes_with(self, shape: URIRef, graph: Graph, current: Graph | None = None) -> Graph:
        shapes = Graph()
        current = current if current is not None else self.r.write.validator.shapes
        old = description(current, shape)
        for triple in current:
            if triple not in old:
                shapes.add(triple)
        shapes += graph
        return target_categories(shapes)

    def _check_existing(self, validator: object, category: URIRef) -> None:
        """Refuse (409) a version that existing assets of the category would not conform to (checked a page
        of records at a time, so a category of 100,000 assets is checked in one pass)."""
        failing: list[str] = []
        validator.set_reference(self.r.write.reference)  # type: ignore[attr-defined]
        for page in self.r.export.pages(_IN_CATEGORY, {"category": category}):
            data = Graph()
            for _, graph in page:
                data += graph
            results = validator.validate(data, [a for a, _ in page], self.r.write.context(data))  # type: ignore[attr-defined]
            failing += sorted({self.r.iris.identifier(r.focusNode.split("#", 1)[0]) for r in results
                               if r.severity == "Violation"})
            if len(failing) >= 20:
                break
        if failing:
            raise Conflict(f"{len(failing)}{'+' if len(failing) >= 20 else ''} existing asset(s) of this category "
                           "would no longer conform; fix them first or publish it as a breaking version "
                           "(?breaking=true)", failing=failing[:20])
