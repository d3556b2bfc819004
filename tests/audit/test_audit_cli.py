"""``fmar audit verify`` and ``fmar audit head``: beside a running server and without one; exit status 0 only
for an intact chain."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from typer.testing import CliRunner

from fmar.access.tokens import TokenService
from fmar.cli import app
from fmar.config import Settings
from tests.conftest import org_body
from tests.serving import FMAR, fmar_serve

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    result = runner.invoke(app, ["init", "--data-dir", str(tmp_path / "data"), "--demo"])
    assert result.exit_code == 0, result.output
    return tmp_path / "data"


def fmar(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FMAR, *args], capture_output=True, text=True, timeout=60)


def test_verify_beside_a_running_server_and_against_an_exported_head(data_dir: Path, tmp_path: Path) -> None:
    head = tmp_path / "head.json"
    with fmar_serve(data_dir) as base:
        exported = fmar("audit", "head", "--data-dir", str(data_dir), "--out", str(head))
        assert exported.returncode == 0, exported.stderr
        admin = TokenService(Settings(data_dir=data_dir)).issue(role="admin", subject="auditor-test")
        created = httpx.post(f"{base}/organisations", headers={"Authorization": f"Bearer {admin}"},
                             json=org_body(companyNumber="07654321", vatNumber=None))
        assert created.status_code == 201
        checked = fmar("audit", "verify", "--data-dir", str(data_dir), "--head", str(head), "--json")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        result = json.loads(checked.stdout)
        assert result["intact"] and result["head"]["sequence"] == json.loads(head.read_text())["sequence"] + 1
        over_http = httpx.get(f"{base}/audit/verify", headers={"Authorization": f"Bearer {admin}"}).json()
        assert over_http["intact"] and over_http["head"] == result["head"]
    assert fmar("audit", "verify", "--data-dir", str(data_dir)).returncode == 0


def test_verify_exits_1_naming_the_altered_event(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir)
    store = ox.Store(str(settings.store_path))
    rows = list(store.query("""PREFIX fmar: <https://w3id.org/fmar#>
        SELECT ?e ?g ?op WHERE { GRAPH ?g { ?e fmar:sequence 5 ; fmar:operation ?op } }"""))
    event, graph, operation = rows[0]["e"], rows[0]["g"], rows[0]["op"]
    store.remove(ox.Quad(event, ox.NamedNode("https://w3id.org/fmar#operation"), operation, graph))
    store.add(ox.Quad(event, ox.NamedNode("https://w3id.org/fmar#operation"), ox.Literal("nothing.happened"), graph))
    store.flush()
    del store
    result = runner.invoke(app, ["audit", "verify", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert "altered" in result.output and event.value in " ".join(result.output.split()).replace(" ", "")


def test_a_head_file_that_is_not_one_is_refused(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "head.json"
    bad.write_text("{}")
    result = runner.invoke(app, ["audit", "verify", "--data-dir", str(data_dir), "--head", str(bad)])
    assert result.exit_code == 2 and "fmar audit head" in result.output


def test_init_warns_of_events_from_before_the_chain(data_dir: Path) -> None:
    store = ox.Store(str(Settings(data_dir=data_dir).store_path))
    store.add(ox.Quad(ox.NamedNode("http://127.0.0.1:8000/audit/old"),
                      ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                      ox.NamedNode("https://w3id.org/fmar#AuditEvent"), ox.NamedNode("http://127.0.0.1:8000/graph/audit")))
    store.flush()
    del store
    result = runner.invoke(app, ["init", "--data-dir", str(data_dir)])
    assert result.exit_code == 0 and "before the hash chain" in " ".join(result.output.split())
    assert runner.invoke(app, ["audit", "verify", "--data-dir", str(data_dir)]).exit_code == 1
