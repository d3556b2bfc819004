"""The ``fmar`` command: init (with demo data, twice), token, and serve on a real uvicorn."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from fmar.access.tokens import TokenService
from fmar.cli import app
from fmar.config import Settings
from tests.serving import FMAR, fmar_serve

runner = CliRunner()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data")
    result = runner.invoke(app, ["init", "--data-dir", str(path), "--demo"])
    assert result.exit_code == 0, result.output
    return path


def test_init_registers_demo_data_once(data_dir: Path) -> None:
    demo = json.loads((data_dir / "demo.json").read_text())
    assert set(demo["organisations"]) == {"fsp", "dno", "platform", "supplier", "regulator"}
    assert demo["clients"][0]["client_secret"]
    assert (data_dir / "demo.json").stat().st_mode & 0o077 == 0
    again = runner.invoke(app, ["init", "--data-dir", str(data_dir), "--demo"])
    assert again.exit_code == 0 and "already present" in again.output
    assert json.loads((data_dir / "demo.json").read_text()) == demo


def test_token_needs_only_the_key(data_dir: Path) -> None:
    fsp = json.loads((data_dir / "demo.json").read_text())["organisations"]["fsp"]
    result = runner.invoke(app, ["token", "--data-dir", str(data_dir), "--role", "fsp", "--org", fsp])
    assert result.exit_code == 0, result.output
    claims = TokenService(Settings(data_dir=data_dir)).verify(result.stdout.strip())
    assert claims["role"] == "fsp" and claims["org"].endswith(fsp)
    bad = runner.invoke(app, ["token", "--data-dir", str(data_dir), "--role", "wizard"])
    assert bad.exit_code != 0


def test_data_dir_from_the_environment(data_dir: Path) -> None:
    result = runner.invoke(app, ["token", "--role", "admin"], env={"FMAR_DATA_DIR": str(data_dir)})
    assert result.exit_code == 0
    TokenService(Settings(data_dir=data_dir)).verify(result.stdout.strip())


def test_serve_answers_on_127_0_0_1_with_demo_data(data_dir: Path) -> None:
    with fmar_serve(data_dir) as base:
        # fmar token works while the server holds the store
        token = subprocess.run([FMAR, "token", "--data-dir", str(data_dir), "--role", "regulator"], check=True,
                               capture_output=True, text=True).stdout.strip()
        listed = httpx.get(f"{base}/organisations", headers={"Authorization": f"Bearer {token}"}).json()
        assert len(listed["items"]) == 5
        client = json.loads((data_dir / "demo.json").read_text())["clients"][0]
        grant = httpx.post(f"{base}/auth/token", data={"grant_type": "client_credentials"},
                           auth=(client["client_id"], client["client_secret"]))
        assert grant.status_code == 200


def test_serve_refuses_an_uninitialised_directory(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--data-dir", str(tmp_path / "empty")])
    assert result.exit_code == 1 and "not initialised" in " ".join(result.output.split())


def test_import_reports_resumes_and_exports(data_dir: Path, tmp_path: Path) -> None:
    from fmar.arm.generator import generate

    fsp = json.loads((data_dir / "demo.json").read_text())["organisations"]["fsp"]
    source = tmp_path / "assets.ndjson"
    bodies = [json.dumps(b) for b in generate(30, seed=42)]
    bodies[5] = "{not json"
    source.write_text("\n".join(bodies) + "\n")
    report = tmp_path / "report.ndjson"
    first = runner.invoke(app, ["import", str(source), "--data-dir", str(data_dir), "--org", fsp, "--batch", "10",
                                "--report", str(report)])
    assert first.exit_code == 2, first.output  # one record was rejected
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert [line["index"] for line in lines] == list(range(30))
    assert sum(line["status"] == "created" for line in lines) == 29
    again = runner.invoke(app, ["import", str(source), "--data-dir", str(data_dir), "--org", fsp])
    assert again.exit_code == 0 and "30 imported before" in " ".join(again.output.split())
    out = tmp_path / "export.csv"
    exported = runner.invoke(app, ["export", "--data-dir", str(data_dir), "--org", fsp, "--format", "csv",
                                   "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    demo_assets = json.loads((data_dir / "demo.json").read_text())["assets"]
    assert len(out.read_text().splitlines()) == 1 + demo_assets + 29


@pytest.mark.slow
def test_ontology_check_of_the_repository_and_of_a_data_directory(data_dir: Path) -> None:
    assert runner.invoke(app, ["ontology", "check"]).exit_code == 0
    assert runner.invoke(app, ["ontology", "check", "--data-dir", str(data_dir)]).exit_code == 0
    contradiction = str(Path(__file__).parent / "fixtures" / "contradictory.ttl")
    caught = runner.invoke(app, ["ontology", "check", contradiction])
    assert caught.exit_code == 1 and "inconsistent" in caught.output


def test_commands_say_when_the_store_is_in_use(data_dir: Path) -> None:
    from fmar.config import Settings
    from fmar.registry import build

    holder = build(Settings(data_dir=data_dir))  # as a running server would
    try:
        result = runner.invoke(app, ["export", "--data-dir", str(data_dir)])
        assert result.exit_code == 3 and "fmar serve" in " ".join(result.output.split())
    finally:
        holder.close()
