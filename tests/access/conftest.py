"""The HTTP fixtures of tests/api, for the policy tests that go through the API."""

from tests.api.conftest import world  # noqa: F401 - the fixture
