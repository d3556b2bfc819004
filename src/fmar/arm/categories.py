"""Asset categories are published SHACL shapes (UC-02.01): list, read, create, publish a new version, deprecate.

The seed shapes are ``shapes/categories/{CODE}.ttl``. The admin publishes a new version with
``PUT /categories/{code}`` (or creates a category by putting a new code, with its code-list entry): it
must be valid SHACL (the SHACL meta-shape, by pyshacl), usable by the validator (its SPARQL parses and
stays local), and keep every existing asset of the category conforming unless it is marked as a breaking
version. Every version is kept as submitted, helper shapes included, in its own named graph
(``{base}graph/category/{CODE}/v{n}``); the newest one is the one assets are checked against.

Checking the existing assets of a large category takes a while: it runs as a background job with a
status resource, and the version is published (or refused) at its end. Assets registered or changed while
it ran are checked again, under the write lock, before the version is put in force.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pyshacl.entrypoints import meta_validate
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from fmar.access.policy import Policy
from fmar.access.principal import Principal
from fmar.arm.export import Export
from fmar.audit.history import History, Kind, Version
from fmar.catalogue import Catalogue, shape_iri, skolemise_shape
from fmar.errors import BadRequest, Conflict, NotFound, Unprocessable
from fmar.iris import FMAR, Iris, code
from fmar.jobs import Job, Jobs
from fmar.store import GraphStore
from fmar.validation import Checker
from fmar.validation.engine import ShapeError
from fmar.validation.shacl import SH
from fmar.writepath import Change, RecordChange, WritePath

_IN_CATEGORY = """?asset fmar:assetCategory ?category .
  FILTER NOT EXISTS { ?asset fmar:status <https://w3id.org/fmar/code/AssetStatus/Deregistered> }
"""
_COUNT = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?category (COUNT(?asset) AS ?n) WHERE { ?asset a fmar:Asset . """ + _IN_CATEGORY + "} GROUP BY ?category"
_CHANGED_SINCE = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT DISTINCT ?asset WHERE { VALUES ?n { %s } ?e fmar:sequence ?n ; fmar:record ?asset }"""
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
#: Existing assets checked in the request itself; a larger category is checked by a background job.
INLINE_CHECK = 500
#: The most failing assets a refusal names.
NAMED = 20
PUBLICATION = "category.publication"


@dataclass(frozen=True)
class Published:
    """A version put in force (``version``), or a job checking the category's assets first (``job``)."""

    version: int | None = None
    job: Job | None = None


class Categories:
    """The category shapes service."""

    def __init__(self, store: GraphStore, iris: Iris, policy: Policy, write: WritePath, catalogue: Catalogue,
                 history: History, export: Export, jobs: Jobs) -> None:
        self.store, self.iris, self.policy, self.write, self.catalogue = store, iris, policy, write, catalogue
        self.history, self.export, self.jobs = history, export, jobs
        self.kind = Kind("categories", "category.read", lambda graph, shape: (None, None))

    def _versions(self, category_code: str) -> list[tuple[int, URIRef]]:
        return self.catalogue.published().get(category_code, [])

    def list(self) -> list[dict[str, object]]:
        """Every category: code, label, version, deprecated."""
        shapes = self.catalogue.shapes
        items = []
        for shape, category in sorted(shapes.subject_objects(FMAR.forCategory), key=lambda so: str(so[1])):
            code_ = str(category).rsplit("/", 1)[-1]
            label = shapes.value(shape, RDFS.label) or self.catalogue.reference.value(category, SKOS.prefLabel)
            items.append({"code": code_, "label": str(label or code_),
                          "version": int(str(shapes.value(shape, OWL.versionInfo) or 1)),
                          "deprecated": shapes.value(shape, OWL.deprecated) == Literal(True),
                          "shape": str(shape)})
        return items

    def get(self, category_code: str, version: int | None = None) -> Graph:
        """A category's shape: the current one, or a given published version (1 is the seed shape)."""
        self._shape_node(category_code)
        if version is None:
            return self.catalogue.categories[category_code]
        for number, graph in self._versions(category_code):
            if number == version:
                return self.catalogue.version(graph)
        if version == 1 and category_code in self.catalogue.seed:
            return self.catalogue.seed[category_code]
        raise NotFound(f"category {category_code} has no version {version}")

    def version_at(self, category_code: str, when: str) -> int:
        """The version of a category's shape in force at ``when``: the seed (1) and one more a publication."""
        shape = self._shape_node(category_code)
        return 1 + self.history.events_until(shape, when)

    def history_of(self, principal: Principal, category_code: str) -> tuple[URIRef, builtins.list[Version]]:
        """The publications of a category's shape (each a version; version 1, the seed, came with the
        reference graphs)."""
        shape = self._shape_node(category_code)
        if not self._versions(category_code):
            return shape, []  # a seed category never republished: its history is empty, not missing
        first = 2 if category_code in self.catalogue.seed else 1  # a created category's first version is its first
        return self.history.versions_of(principal, self.kind, shape, category_code, first=first)

    def publication(self, principal: Principal, category_code: str, job_id: str) -> Job:
        """The status of a publication that runs in the background."""
        self.policy.require_role(principal, "category.update")
        job = self.jobs.get(job_id)
        if job is None or job.kind != PUBLICATION or job.subject != category_code:
            raise NotFound(f"no publication {job_id!r} of category {category_code}")
        return job

    def _shape_node(self, category_code: str) -> URIRef:
        if not _CODE.match(category_code):
            raise NotFound(f"no asset category {category_code!r}")
        shape = next(self.catalogue.shapes.subjects(FMAR.forCategory, code("AssetCategory", category_code)), None)
        if not isinstance(shape, URIRef):
            raise NotFound(f"no asset category {category_code!r}")
        return shape

    def publish(self, principal: Principal, category_code: str, turtle: str, *, breaking: bool = False,
                reason: str | None = None, request_id: str | None = None) -> Published:
        """Publish a new version of a category's shape (admin), or a new category with its first version: at
        once, or when a background job has checked the category's many existing assets against it."""
        self.policy.require_role(principal, "category.update")
        try:
            submitted = Graph().parse(data=turtle, format="turtle")
        except Exception as exc:  # noqa: BLE001 - any parser error is the submitter's
            raise BadRequest(f"the shape is not valid Turtle: {exc}") from exc
        if category_code in self.catalogue.categories:
            return self._publish(principal, category_code, self._shape_node(category_code), submitted, breaking,
                                 reason, request_id)
        if not _CODE.match(category_code):
            raise Unprocessable(f"{category_code!r} cannot be a category code: upper-case letters, digits and _, "
                                "beginning with a letter")
        concept = self._concept(category_code, submitted)
        return self._publish(principal, category_code, shape_iri(category_code), submitted, True, reason, request_id,
                             concept=concept)

    def _concept(self, category_code: str, submitted: Graph) -> Graph:
        """A new category's code-list entry, taken out of the submission: its label and definition."""
        category = code("AssetCategory", category_code)
        label, definition = submitted.value(category, SKOS.prefLabel), submitted.value(category, SKOS.definition)
        if label is None or definition is None:
            raise Unprocessable(f"a new category needs its code in the code list: <{category}> with skos:prefLabel "
                                "and skos:definition, beside its shape")
        concept = Graph()
        for p, o in submitted.predicate_objects(category):
            concept.add((category, p, o))
            submitted.remove((category, p, o))
        scheme = URIRef(str(category).rsplit("/", 1)[0])
        for p, o in ((RDF.type, SKOS.Concept), (SKOS.inScheme, scheme), (SKOS.topConceptOf, scheme),
                     (SKOS.notation, Literal(category_code))):
            concept.set((category, p, o))
        return concept

    def deprecate(self, principal: Principal, category_code: str, reason: str | None,
                  request_id: str | None = None) -> int:
        """A new version marked deprecated: new registrations are refused, existing assets are untouched."""
        self.policy.require_role(principal, "category.deprecate")
        shape = self._shape_node(category_code)
        current = Graph()
        current += self.catalogue.categories[category_code]
        if (shape, OWL.deprecated, Literal(True)) in current:
            raise Conflict(f"category {category_code} is already deprecated")
        current.add((shape, OWL.deprecated, Literal(True)))
        published = self._publish(principal, category_code, shape, current, True, reason, request_id,
                                  operation="category.deprecate")
        assert published.version is not None  # noqa: S101 - a breaking version checks nothing first
        return published.version

    def _publish(self, principal: Principal, category_code: str, shape: URIRef, submitted: Graph, breaking: bool,
                 reason: str | None, request_id: str | None, operation: str = "category.update",
                 concept: Graph | None = None) -> Published:
        category = code("AssetCategory", category_code)
        if set(submitted.subjects(FMAR.forCategory, None)) != {shape} or \
                submitted.value(shape, FMAR.forCategory) != category:
            raise Unprocessable(f"the shape must be <{shape}>, with fmar:forCategory <{category}>, and no other "
                                "category shape")
        if (shape, RDF.type, SH.NodeShape) not in submitted:
            raise Unprocessable(f"<{shape}> must be a sh:NodeShape")
        self._own_helpers(category_code, shape, submitted)
        conforms, _, text = meta_validate(submitted)
        if not conforms:
            raise Unprocessable("the shape is not valid SHACL (the SHACL meta-shape says so)", report=str(text)[:4000])
        if self.jobs.running(PUBLICATION, category_code):
            raise Conflict(f"a publication of category {category_code} is being checked; wait for it to finish")
        versions = self._versions(category_code)
        number = 1 if concept is not None else (versions[-1][0] if versions else 1) + 1
        submitted.set((shape, OWL.versionInfo, Literal(str(number))))
        graph = skolemise_shape(submitted, shape)
        try:
            validator = self.catalogue.candidate(self.catalogue.with_category(category_code, submitted))
        except ShapeError as exc:
            raise Unprocessable(f"the shape cannot be used: {exc}") from exc

        def put_in_force(changed_since: int | None) -> int:
            checks = [] if changed_since is None else [lambda: self._check_changed(validator, category, changed_since)]
            version_graph = self.iris.graph(f"category/{category_code}/v{number}")
            changes = [RecordChange(shape, version_graph, Graph(), graph)]
            if concept is not None:
                changes.append(RecordChange(category, self.iris.graph("codes"), Graph(), concept))
            self.write.commit(Change(operation, principal, None, changes, reason=reason, request_id=request_id,
                                     checks=checks))
            if concept is None:
                self.catalogue.use(validator, category_code, submitted)
            else:  # the code list changed too: read the reference data again
                self.catalogue.reload()
            return number

        total = 0 if breaking else self._count(category)
        if total <= INLINE_CHECK:
            if total:
                self._check(validator, category)
            return Published(version=put_in_force(None))

        def work(job: Job) -> dict[str, object]:
            start = self.write.head().sequence
            self._check(validator, category, job.progress)
            return {"code": category_code, "version": put_in_force(start)}

        return Published(job=self.jobs.start(PUBLICATION, category_code, total, work))

    def _own_helpers(self, category_code: str, shape: URIRef, submitted: Graph) -> None:
        """Helper shapes named by IRIs publish with the category, if no other part of the shapes describes them."""
        others = Graph()
        others += self.catalogue.common
        for other, graph in self.catalogue.categories.items():
            if other != category_code:
                others += graph
        taken = sorted(str(s) for s in set(submitted.subjects()) if isinstance(s, URIRef) and s != shape
                       and (s, None, None) in others)
        if taken:
            raise Unprocessable("the submission describes shapes or nodes that other shapes already define: "
                                + ", ".join(f"<{t}>" for t in taken[:10]))

    def _count(self, category: URIRef) -> int:
        rows = self.store.select(_COUNT, bindings={"category": category})
        return int(str(rows[0]["n"])) if rows else 0

    def _check(self, validator: Checker, category: URIRef, progress: Callable[[int], None] | None = None) -> None:
        """Refuse (409) a version that existing assets of the category would not conform to (checked a page
        of records at a time, so a category of 100,000 assets is checked in one pass)."""
        self._refuse_failing(validator, self.export.pages(_IN_CATEGORY, {"category": category}), progress)

    def _check_changed(self, validator: Checker, category: URIRef, since: int) -> None:
        """Under the write lock: the assets of the category written since sequence ``since`` conform too."""
        head = self.write.head().sequence
        if head <= since:
            return
        rows = self.store.select(_CHANGED_SINCE % " ".join(str(n) for n in range(since + 1, head + 1)),
                                 graphs=[self.iris.graph("audit")])
        assets = " ".join(f"<{r['asset']}>" for r in rows if str(r["asset"]).startswith(f"{self.iris.base}assets/"))
        if assets:
            self._refuse_failing(validator, self.export.pages(f"VALUES ?asset {{ {assets} }}\n" + _IN_CATEGORY,
                                                              {"category": category}))

    def _refuse_failing(self, validator: Checker, pages: Iterable[builtins.list[tuple[URIRef, Graph]]],
                        progress: Callable[[int], None] | None = None) -> None:
        failing: builtins.list[str] = []
        checked = 0
        for page in pages:
            data = Graph()
            for _, graph in page:
                data += graph
            context = self.write.linked(set(data.subjects()), {o for o in data.objects() if isinstance(o, URIRef)})
            results = validator.validate(data, [a for a, _ in page], context)
            failing += sorted({self.iris.identifier(r.focusNode.split("#", 1)[0]) for r in results
                               if r.severity == "Violation"})
            checked += len(page)
            if progress is not None:
                progress(checked)
            if len(failing) >= NAMED:
                break
        if failing:
            raise Conflict(f"{len(failing)}{'+' if len(failing) >= NAMED else ''} existing asset(s) of this category "
                           "would no longer conform; fix them first or publish it as a breaking version "
                           "(?breaking=true)", failing=failing[:NAMED])

