"""The HTTP fixtures of tests/api, for the audit tests."""

from tests.api.conftest import world  # noqa: F401
