"""The HTTP fixtures of tests/api (the app over an in-memory registry) serve the SPARQL tests too."""

from tests.api.conftest import world  # noqa: F401 - a fixture, found by name
