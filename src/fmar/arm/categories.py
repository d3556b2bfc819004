"""Asset categories are published SHACL shapes (UC-02.01): list, read, publish a new version, deprecate.

The seed shapes are ``shapes/categories/{CODE}.ttl``. The admin publishes a new version with
``PUT /categories/{code}``: it must be valid SHACL (the SHACL meta-shape, by pyshacl), use only
what the compiled validator implements, and keep every existing asset of the category
conforming unless it is marked as a breaking version. Every version is kept in its own named
graph (``{base}graph/category/{CODE}/v{n}``); the newest one is the one assets are checked against.

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
from rdflib.namespace import OWL, RDF, RDFS

from fmar.access.policy import Policy
from fmar.access.principal import Principal
from fmar.arm.export import Export
from fmar.audit.history import History, Kind, Version
from fmar.catalogue import Catalogue, description, with_shape
from fmar.errors import BadRequest, Conflict, NotFound, Unprocessable
from fmar.iris import FMAR, Iris, code
from fmar.jobs import Job, Jobs
from fmar.jsonld import skolemise
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
            items.append({"code": code_, "label": str(shapes.value(shape, RDFS.label) or code_),
                          "version": int(str(shapes.value(shape, OWL.versionInfo) or 1)),
                          "deprecated": shapes.value(shape, OWL.deprecated) == Literal(True),
                          "shape": str(shape)})
        return items

    def get(self, category_code: str, version: int | None = None) -> Graph:
        """A category's shape: the current one, or a given published version (1 is the seed shape)."""
        shape = self._shape_node(category_code)
        if version is None:
            return description(self.catalogue.shapes, shape)
        for number, graph in self._versions(category_code):
            if number == version:
                return self.store.graph(graph)
        if version == 1:
            return description(self.store.graph(self.iris.graph("shapes")), shape)
        raise NotFound(f"category {category_code} has no version {version}")

    def version_at(self, category_code: str, when: str) -> int:
        """The version of a category's shape in force at ``when``: the seed (1) and one more a publication."""
        shape = self._shape_node(category_code)
        return 1 + self.history.events_until(shape, when)

    def history_of(self, principal: Principal, category_code: str) -> tuple[URIRef, builtins.list[Version]]:
        """The publications of a category's shape (each a version; version 1, the seed, came with the
        reference graphs)."""
        shape = self._shape_node(category_code)
        return self.history.versions_of(principal, self.kind, shape, category_code, first=2)

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
        """Publish a new version of a category's shape (admin): at once, or when a background job has checked
        the category's many existing assets against it."""
        self.policy.require_role(principal, "category.update")
        shape = self._shape_node(category_code)
        try:
            submitted = Graph().parse(data=turtle, format="turtle")
        except Exception as exc:  # noqa: BLE001 - any parser error is the submitter's
            raise BadRequest(f"the shape is not valid Turtle: {exc}") from exc
        return self._publish(principal, category_code, shape, submitted, breaking, reason, request_id)

    def deprecate(self, principal: Principal, category_code: str, reason: str | None,
                  request_id: str | None = None) -> int:
        """A new version marked deprecated: new registrations are refused, existing assets are untouched."""
        self.policy.require_role(principal, "category.deprecate")
        shape = self._shape_node(category_code)
        current = description(self.catalogue.shapes, shape)
        if (shape, OWL.deprecated, Literal(True)) in current:
            raise Conflict(f"category {category_code} is already deprecated")
        current.add((shape, OWL.deprecated, Literal(True)))
        published = self._publish(principal, category_code, shape, current, True, reason, request_id,
                                  operation="category.deprecate")
        assert published.version is not None  # noqa: S101 - a breaking version checks nothing first
        return published.version

    def _publish(self, principal: Principal, category_code: str, shape: URIRef, submitted: Graph, breaking: bool,
                 reason: str | None, request_id: str | None, operation: str = "category.update") -> Published:
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
        if self.jobs.running(PUBLICATION, category_code):
            raise Conflict(f"a publication of category {category_code} is being checked; wait for it to finish")
        versions = self._versions(category_code)
        number = (versions[-1][0] if versions else 1) + 1
        submitted.set((shape, OWL.versionInfo, Literal(str(number))))
        graph = skolemise(submitted, shape)
        try:
            validator = self.catalogue.candidate(with_shape(self.catalogue.shapes, shape, graph))
        except ShapeError as exc:
            raise Unprocessable(f"the shape uses SHACL the registry does not implement: {exc}") from exc

        def put_in_force(changed_since: int | None) -> int:
            checks = [] if changed_since is None else [lambda: self._check_changed(validator, category, changed_since)]
            version_graph = self.iris.graph(f"category/{category_code}/v{number}")
            self.write.commit(Change(operation, principal, None, [RecordChange(shape, version_graph, Graph(), graph)],
                                     reason=reason, request_id=request_id, checks=checks))
            self.catalogue.use(validator)
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

