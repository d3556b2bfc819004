"""The ``fmar`` command."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer
from rich.console import Console

from fmar.access.principal import ROLES
from fmar.config import Settings

if TYPE_CHECKING:
    from fmar.audit.chain import Head
    from fmar.audit.verify import AuditStore
    from fmar.iris import Iris
    from fmar.registry import Registry

app = typer.Typer(help="FMAR registry: initialise, serve, issue tokens, check the ontology.", no_args_is_help=True)
ontology_app = typer.Typer(help="Ontology tools.", no_args_is_help=True)
app.add_typer(ontology_app, name="ontology")
audit_app = typer.Typer(help="The audit trail: verify its hash chain, export its head, archive old events.",
                        no_args_is_help=True)
app.add_typer(audit_app, name="audit")
console = Console(stderr=True)

_UNCHAINED = """PREFIX fmar: <https://w3id.org/fmar#>
ASK { ?e a fmar:AuditEvent FILTER NOT EXISTS { ?e fmar:sequence ?n } }"""
DataDir = Annotated[Path, typer.Option("--data-dir", envvar="FMAR_DATA_DIR", help="The data directory.")]


def _settings(data_dir: Path | None, base_iri: str | None = None) -> Settings:
    kwargs: dict[str, object] = {"data_dir": data_dir}
    if data_dir is not None and base_iri is None and (data_dir / "base-iri").exists():
        base_iri = (data_dir / "base-iri").read_text().strip()
    if base_iri:
        kwargs["base_iri"] = base_iri
    return Settings(**kwargs)  # type: ignore[arg-type]


def _open(settings: Settings) -> Registry:
    """The registry over a data directory, or a clear message when another process holds its store."""
    from fmar.registry import build

    try:
        return build(settings)
    except OSError as exc:
        console.print(f"[red]cannot open the store in {settings.data_dir}[/]: {exc}\n"
                      "Is `fmar serve` (or another fmar command) using this data directory? Stop it first.")
        raise typer.Exit(3) from exc


@app.command()
def init(data_dir: DataDir,
         base_iri: Annotated[str, typer.Option(envvar="FMAR_BASE_IRI", help="Record IRI prefix.")]
         = "http://127.0.0.1:8000/",
         demo: Annotated[bool, typer.Option(help="Also register the demo organisations, users and platform.")]
         = False) -> None:
    """Create or refresh a data directory: signing key, reference graphs, optionally demo data."""
    import json

    from fmar.bootstrap import load_reference
    from fmar.demo import seed

    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "base-iri").write_text(base_iri + "\n")
    registry = _open(_settings(data_dir, base_iri))
    try:
        unchained = registry.store.ask(_UNCHAINED, graphs=[registry.iris.graph("audit")])
        loaded = load_reference(registry.write, registry.iris, registry.settings)
        seeded = seed(registry.settings.resource("data", "demo", "demo.json"), registry.iris, registry.organisations,
                      registry.users, registry.platforms, registry.registrations) if demo else None
    finally:
        registry.close()
    if unchained:
        console.print(f"[yellow]{data_dir} holds audit events from before the hash chain[/]: `fmar audit verify` "
                      "will report them as inserted. Start from a new data directory to have one chain.")
    console.print(f"[green]initialised[/] {data_dir} (base IRI {base_iri}): " +
                  ", ".join(f"{k} {v} file(s)" for k, v in loaded.items()))
    if seeded is not None:
        path = data_dir / "demo.json"
        path.write_text(json.dumps(seeded, indent=2) + "\n")
        path.chmod(0o600)
        console.print(f"[green]demo data[/] registered; IDs and the demo client secret are in {path}")
    elif demo:
        console.print("demo data already present (organisations exist); left as it is")


@app.command()
def serve(data_dir: DataDir,
          host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
          base_iri: Annotated[str | None, typer.Option(envvar="FMAR_BASE_IRI",
                                                       help="Record IRI prefix (default: the data directory's).")]
          = None) -> None:
    """Serve the registry's HTTP API (OpenAPI at /docs)."""
    import uvicorn

    from fmar.api.app import create_app

    if not (data_dir / "store").exists():
        console.print(f"[red]{data_dir} is not initialised[/]; run: fmar init --data-dir {data_dir}")
        raise typer.Exit(1)
    settings = _settings(data_dir, base_iri)
    console.print(f"serving {data_dir} on http://{host}:{port}/ (records under {settings.base_iri})")
    uvicorn.run(create_app(_open(settings), close_registry=True), host=host, port=port,
                log_level="info", proxy_headers=False)


@app.command()
def token(data_dir: DataDir,
          role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
          org: Annotated[str | None, typer.Option(help="FMAR Organisation ID or IRI.")] = None,
          subject: Annotated[str | None, typer.Option(help="Token subject (a user ID, or a name).")] = None,
          ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600) -> None:
    """Print a bearer token signed by the registry's key (needs only the key, not the store)."""
    from fmar.access.tokens import TokenService
    from fmar.iris import Iris

    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}", param_hint="--role")
    settings = _settings(data_dir)
    org_iri = None
    if org:
        parsed = Iris(settings.base_iri).parse(org, "organisations")
        if parsed is None:
            raise typer.BadParameter("not an FMAR Organisation ID or IRI", param_hint="--org")
        org_iri = str(parsed)
    print(TokenService(settings).issue(role=role, subject=subject or role, org=org_iri, ttl=ttl))  # noqa: T201


@app.command("import")
def import_assets(file: Annotated[Path, typer.Argument(help="NDJSON (one asset a line) or CSV (header of terms).")],
                  data_dir: DataDir,
                  org: Annotated[str, typer.Option(help="The FSP the assets are registered for (ID or IRI).")],
                  report: Annotated[Path | None, typer.Option(help="Write the report (NDJSON) here.")] = None,
                  batch: Annotated[int, typer.Option(min=1, help="Records per batch.")] = 2000) -> None:
    """Register assets from a file, with a progress bar; run it again to resume after an interruption."""
    import hashlib
    import json

    from rich.progress import Progress

    from fmar.access.principal import Principal
    from fmar.arm.bulk import read_csv, read_ndjson, summary

    registry = _open(_settings(data_dir))
    try:
        fsp = registry.iris.parse(org, "organisations")
        if fsp is None:
            raise typer.BadParameter("not an FMAR Organisation ID or IRI", param_hint="--org")
        principal = Principal(role="fsp", subject="fmar-import", org=fsp, org_admin=True, asset_manager=True)
        import_id = hashlib.sha256(file.read_bytes()).hexdigest()[:16] + "-" + registry.iris.identifier(fsp)
        done = registry.registrations.resume_point(import_id)
        if done >= 0:
            console.print(f"resuming: records 0–{done} were imported by an earlier run")
        is_csv = file.suffix.lower() == ".csv"
        with file.open("rb") as binary:
            lines = sum(1 for line in binary if line.strip())
        total = max(lines - (1 if is_csv else 0), 0)
        reports = []
        with file.open("rb") as fh, open_report(report) as out, Progress(console=console) as bar:
            task = bar.add_task("importing", total=total, completed=done + 1)
            rows = (read_csv(io.TextIOWrapper(fh, encoding="utf-8-sig", newline=""), registry.context.terms) if is_csv
                    else read_ndjson(fh))
            pending = (row for row in rows if row[0] > done)
            try:
                for line in registry.registrations.run(principal, pending, batch, tag=lambda last: f"import:{import_id}:{last}"):
                    reports.append(line)
                    out.write(json.dumps(line.as_dict()) + "\n")
                    bar.advance(task)
            except UnicodeDecodeError as exc:
                console.print(f"[red]the CSV is not UTF-8 text (after record {len(reports) - 1}); "
                              "the records before it are registered[/red]")
                raise typer.Exit(2) from exc
        counts = summary(reports)
        console.print(f"created {counts['created']}, rejected {counts['rejected']}, duplicate {counts['duplicate']}"
                      + (f" (and {done + 1} imported before)" if done >= 0 else ""))
        if counts["rejected"]:
            raise typer.Exit(2)
    finally:
        registry.close()


@app.command("export")
def export_assets(data_dir: DataDir,
                  format: Annotated[str, typer.Option(help="jsonld, turtle, ntriples or csv.")] = "csv",  # noqa: A002
                  org: Annotated[str | None, typer.Option(help="Only this FSP's assets (ID or IRI).")] = None,
                  out: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None) -> None:
    """Export assets (all, or one FSP's), streamed; the export is logged in the audit trail."""
    import sys

    from fmar.access.principal import SYSTEM

    registry = _open(_settings(data_dir))
    try:
        filters = {"operatedBy": org} if org else {}
        _, chunks = registry.export.stream(SYSTEM, format, filters)
        target = out.open("wb") if out else sys.stdout.buffer
        try:
            for chunk in chunks:
                target.write(chunk)
        finally:
            if out:
                target.close()
    finally:
        registry.close()


def _audit_store(data_dir: Path) -> tuple[AuditStore, Iris]:
    """The data directory's store opened read-only (beside a running server, if there is one)."""
    from fmar.iris import Iris
    from fmar.store import open_store

    settings = _settings(data_dir)
    if settings.store_path is None or not settings.store_path.exists():
        console.print(f"[red]{data_dir} is not initialised[/]")
        raise typer.Exit(3)
    return open_store(settings.store_path, read_only=True), Iris(settings.base_iri)


@audit_app.command("verify")
def audit_verify(data_dir: DataDir,
                 head: Annotated[Path | None, typer.Option(help="A head exported earlier (`fmar audit head`): "
                                                                "the chain must still hold it.")] = None,
                 json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False) -> None:
    """Recompute the audit hash chain; exit 0 only when it is intact, 1 naming the first event altered,
    removed or inserted. Works whether or not the server is running."""
    import json

    from fmar.audit.verify import verify

    expected = _read_head(head) if head else None
    store, iris = _audit_store(data_dir)
    try:
        result = verify(store, iris, expected)
    finally:
        store.close()
    if json_output:
        print(json.dumps(result.as_dict(), indent=2))  # noqa: T201
    elif result.finding is None:
        at = f"event {result.head.sequence}, hash {result.head.hash}" if result.head else "no events yet"
        console.print(f"[green]intact[/]: {result.events} event(s) from event {result.start.sequence + 1}; head {at}"
                      + (f"; holds the head exported at event {expected.sequence}" if expected else ""))
    else:
        f = result.finding
        console.print(f"[red]{f.kind}[/]: {f.message}" + (f" (event {f.event})" if f.event else ""))
    if result.finding is not None:
        raise typer.Exit(1)


@audit_app.command("head")
def audit_head(data_dir: DataDir,
               out: Annotated[Path | None, typer.Option(help="Write the head here (JSON) instead of standard output.")]
               = None) -> None:
    """Export the chain's head (sequence and hash of the newest event), to check the chain against later."""
    import json
    from datetime import UTC, datetime

    from fmar.audit.chain import Chain

    store, iris = _audit_store(data_dir)
    try:
        head = Chain(store, iris).head
    finally:
        store.close()
    text = json.dumps({**head.as_dict(), "exportedAt": datetime.now(UTC).isoformat(timespec="seconds")}, indent=2)
    if out:
        out.write_text(text + "\n")
        console.print(f"head (event {head.sequence}) written to {out}")
    else:
        print(text)  # noqa: T201


@audit_app.command("archive")
def audit_archive(data_dir: DataDir,
                  before: Annotated[str | None, typer.Option(help="Archive the events recorded before this time "
                                                                  "(ISO 8601; default: FMAR_AUDIT_RETENTION_DAYS ago).")]
                  = None) -> None:
    """Retention: move old events to a signed N-Quads file under the data directory; the chain still verifies.
    Needs the store to itself (stop the server first)."""
    from datetime import UTC, datetime, timedelta

    from fmar.access.principal import SYSTEM
    from fmar.audit.archive import archive
    from fmar.audit.history import parse_time
    from fmar.errors import FmarError

    settings = _settings(data_dir)
    if before is None and settings.audit_retention_days is None:
        raise typer.BadParameter("give --before, or set FMAR_AUDIT_RETENTION_DAYS", param_hint="--before")
    try:
        cutoff = parse_time(before) if before else datetime.now(UTC) - timedelta(days=settings.audit_retention_days or 0)
    except FmarError as exc:
        raise typer.BadParameter(exc.detail, param_hint="--before") from exc
    registry = _open(settings)
    try:
        assert settings.archive_dir is not None  # noqa: S101 - a data directory is given
        try:
            done = archive(registry.write, registry.store, registry.tokens, SYSTEM, cutoff, settings.archive_dir)
        except FmarError as exc:
            console.print(f"[red]not archived[/]: {exc.detail}")
            raise typer.Exit(1) from exc
    finally:
        registry.close()
    if done is None:
        console.print(f"no events recorded before {cutoff.isoformat()} to archive")
        return
    console.print(f"[green]archived[/] events {done.first}–{done.last.sequence} ({done.events}) to {done.path}, "
                  f"signed in {done.path.name}.jws")


@audit_app.command("verify-archive")
def audit_verify_archive(file: Annotated[Path, typer.Argument(help="An archive file (events-….nq).")],
                         data_dir: DataDir) -> None:
    """Check an archive file: its signature (by the registry's key), its digest and its chain."""
    from fmar.access.tokens import TokenService
    from fmar.audit.archive import verify_archive

    try:
        claims, result = verify_archive(file, TokenService(_settings(data_dir)))
    except (OSError, ValueError) as exc:
        console.print(f"[red]not verified[/]: {exc}")
        raise typer.Exit(1) from exc
    if result.finding is not None:
        console.print(f"[red]{result.finding.kind}[/]: {result.finding.message}")
        raise typer.Exit(1)
    console.print(f"[green]intact and signed[/]: events {claims['first']}–{claims['last']}, last hash {claims['lastHash']}")


def _read_head(path: Path) -> Head:
    import json

    from fmar.audit.chain import Head

    try:
        data = json.loads(path.read_text())
        return Head(int(data["sequence"]), str(data["hash"]), data.get("event"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise typer.BadParameter(f"not a head exported by `fmar audit head`: {exc}", param_hint="--head") from exc


@contextmanager
def open_report(path: Path | None) -> Iterator[TextIO]:
    """The report file, or a sink when none is asked for."""
    if path is None:
        yield io.StringIO()
        return
    with path.open("w", encoding="utf-8") as fh:
        yield fh


@ontology_app.command("check")
def ontology_check(extra: Annotated[list[Path] | None, typer.Argument(help="More Turtle files to reason over.")] = None,
                   data_dir: Annotated[Path | None, typer.Option("--data-dir", envvar="FMAR_DATA_DIR",
                                                                  help="Check the ontology a data directory holds "
                                                                       "(default: the repository's files).")] = None,
                   ) -> None:
    """Prove the ontology and alignments consistent with owlready2's HermiT reasoner."""
    import tempfile

    from fmar.ontology_check import check

    with tempfile.TemporaryDirectory() as tmp:
        if data_dir is not None:

            registry = _open(_settings(data_dir))
            try:
                deployed = Path(tmp) / "deployed-ontology.ttl"
                registry.store.graph(registry.iris.graph("ontology")).serialize(deployed, format="turtle")
            finally:
                registry.close()
            files = [deployed]
        else:
            files = sorted(Settings().resource("ontology").glob("*.ttl"))
        files += list(extra or [])
        problem = check(files)
    if problem:
        console.print(f"[red]inconsistent[/]: {problem}")
        raise typer.Exit(1)
    console.print(f"[green]consistent[/]: {', '.join(f.name for f in files)}")


def main() -> None:
    app()
