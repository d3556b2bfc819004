"""Retention: old events move to a signed N-Quads file; the store's chain and the file each still verify."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fmar.access.principal import SYSTEM
from fmar.audit.archive import archive, verify_archive
from fmar.audit.verify import verify
from fmar.cli import app
from fmar.errors import Conflict, Gone
from fmar.registry import Registry
from tests.conftest import org_body


def register(registry: Registry, n: int) -> str:
    org, _ = registry.organisations.create(SYSTEM, org_body(companyNumber=f"0{n}234567", vatNumber=None))
    return registry.iris.identifier(org)


def test_archived_events_leave_the_store_and_both_parts_verify(registry: Registry, tmp_path: Path) -> None:
    old = [register(registry, n) for n in range(3)]
    cutoff = datetime.now(UTC)
    register(registry, 7)
    before = verify(registry.store, registry.iris)
    done = archive(registry.write, registry.store, registry.tokens, SYSTEM, cutoff, tmp_path)
    assert done is not None and done.first == 1 and done.last.sequence == before.events - 1
    after = verify(registry.store, registry.iris)
    assert after.intact, after.finding
    assert after.events == 2 and after.start == done.last.__class__(done.last.sequence, done.last.hash)
    claims, checked = verify_archive(done.path, registry.tokens)
    assert checked.intact and claims["events"] == done.events and checked.head == done.last
    # the record made after the cutoff keeps its history; the older ones' is in the archive
    with pytest.raises(Gone):
        registry.history.as_of(SYSTEM, "organisations", old[0], (cutoff - timedelta(seconds=1)).isoformat())
    _, graph, _ = registry.history.as_of(SYSTEM, "organisations", old[0], cutoff.isoformat())
    assert len(graph) > 5  # as it is now: nothing changed it since
    assert registry.write.chain.head.sequence == before.events + 1
    register(registry, 8)
    assert verify(registry.store, registry.iris).intact
    assert archive(registry.write, registry.store, registry.tokens, SYSTEM, cutoff, tmp_path) is None  # nothing older is left


def test_an_altered_archive_file_or_signature_is_caught(registry: Registry, tmp_path: Path) -> None:
    register(registry, 1)
    done = archive(registry.write, registry.store, registry.tokens, SYSTEM, datetime.now(UTC), tmp_path)
    assert done is not None
    text = done.path.read_text()
    done.path.write_text(text.replace("organisation.create", "organisation.deregister", 1))
    with pytest.raises(ValueError, match="SHA-256"):
        verify_archive(done.path, registry.tokens)
    done.path.write_text(text)
    signature = done.path.with_suffix(".nq.jws")
    signature.write_text(signature.read_text()[:-10] + "AAAAAAAAA\n")
    with pytest.raises(ValueError, match="signature"):
        verify_archive(done.path, registry.tokens)


def test_a_broken_chain_is_not_archived(registry: Registry, tmp_path: Path) -> None:
    import pyoxigraph as ox

    register(registry, 1)
    store: ox.Store = registry.store._store  # type: ignore[attr-defined]
    (quad,) = list(store.quads_for_pattern(None, ox.NamedNode("https://w3id.org/fmar#sequence"), ox.Literal(
        "2", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")), None))
    store.remove(quad)
    with pytest.raises(Conflict):
        archive(registry.write, registry.store, registry.tokens, SYSTEM, datetime.now(UTC), tmp_path)
    assert not list(tmp_path.iterdir())


def test_fmar_audit_archive_and_verify_archive(tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "data"
    assert runner.invoke(app, ["init", "--data-dir", str(data)]).exit_code == 0
    assert runner.invoke(app, ["audit", "archive", "--data-dir", str(data)]).exit_code == 2  # no cutoff given
    done = runner.invoke(app, ["audit", "archive", "--data-dir", str(data), "--before", datetime.now(UTC).isoformat()])
    assert done.exit_code == 0, done.output
    (file,) = (data / "audit-archive").glob("*.nq")
    assert runner.invoke(app, ["audit", "verify-archive", str(file), "--data-dir", str(data)]).exit_code == 0
    assert runner.invoke(app, ["audit", "verify", "--data-dir", str(data)]).exit_code == 0
    bad = runner.invoke(app, ["audit", "archive", "--data-dir", str(data), "--before", "last week"])
    assert bad.exit_code == 2
