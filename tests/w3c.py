"""Where the W3C test suites are read from, in place: ``../shared/w3c`` beside the repository, or
``$FMAR_W3C_DIR``. A clone on its own has no such folder: the conformance tests are then skipped with a
message saying where they come from, unless ``$FMAR_W3C_REQUIRED`` is set (``.ci/run`` sets it), which makes
their absence a failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rdflib import Namespace

#: The W3C test manifest vocabulary every suite's manifests use.
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
W3C = Path(os.environ.get("FMAR_W3C_DIR") or Path(__file__).resolve().parents[2] / "shared" / "w3c")


def missing(suite: Path, name: str) -> str:
    """What to say when ``suite`` (its manifest) is not there."""
    return (f"the {name} is read in place from {suite} (../shared/w3c beside the repository, or $FMAR_W3C_DIR); "
            "it is not there, so its tests do not run")


def require(manifest: Path, name: str) -> None:
    """At a test module's top: skip the module when the suite's ``manifest`` is absent (fail under
    ``$FMAR_W3C_REQUIRED``)."""
    if manifest.is_file():
        return
    message = missing(manifest.parent, name)
    if os.environ.get("FMAR_W3C_REQUIRED"):
        pytest.fail(message + " ($FMAR_W3C_REQUIRED is set)", pytrace=False)
    pytest.skip(message, allow_module_level=True)
