"""A clone on its own runs its tests: the W3C conformance tests skip with a message saying where they are read
from, and ``$FMAR_W3C_REQUIRED`` (which ``.ci/run`` sets) turns their absence into a failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = ["tests/conformance/test_sparql_protocol.py", "tests/validation/test_w3c_shacl.py"]


def _pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FMAR_W3C")}
    environment.update(FMAR_W3C_DIR=str(tmp_path / "no-such-folder"), **env)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", *MODULES], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=300, check=False)


def test_without_the_suites_their_tests_are_skipped_saying_where_they_come_from(tmp_path: Path) -> None:
    run = _pytest(tmp_path)
    assert run.returncode in (0, 5), run.stdout + run.stderr  # 5: no test ran here (in the whole suite, others do)
    assert "2 skipped" in run.stdout
    for suite in ("sparql11-protocol", "shacl"):
        assert f"is read in place from {tmp_path / 'no-such-folder' / suite}" in run.stdout


def test_ci_makes_their_absence_a_failure(tmp_path: Path) -> None:
    run = _pytest(tmp_path, FMAR_W3C_REQUIRED="1")
    assert run.returncode != 0
    assert "FMAR_W3C_REQUIRED is set" in run.stdout


@pytest.mark.skipif(not os.access(ROOT / ".ci" / "run", os.X_OK), reason="no .ci/run in this checkout")
def test_ci_requires_the_suites() -> None:
    assert "FMAR_W3C_REQUIRED=1" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
