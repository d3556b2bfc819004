"""RFC 9110 content negotiation: each offered type weighs what the most specific matching range says."""

from __future__ import annotations

import pytest

from fmar.errors import NotAcceptable
from fmar.media import choose_media

OFFERED = ["application/ld+json", "application/json", "text/turtle", "application/n-triples"]


@pytest.mark.parametrize(("header", "chosen"), [
    (None, "application/ld+json"),
    ("*/*", "application/ld+json"),
    ("text/turtle", "text/turtle"),
    ("text/turtle, application/ld+json", "text/turtle"),
    ("application/ld+json;q=0.5, text/turtle", "text/turtle"),
    ("application/ld+json;q=0, */*", "application/json"),  # q=0 refuses it even beside a wildcard
    ("*/*, application/ld+json;q=0", "application/json"),
    ("text/*;q=0.2, application/*;q=0.1", "text/turtle"),
    ("application/*;q=0, */*", "text/turtle"),
    ("TEXT/Turtle", "text/turtle"),
    ("text/turtle;q=abc, application/n-triples", "application/n-triples"),  # an unreadable weight is 0
])
def test_the_most_specific_range_decides(header: str | None, chosen: str) -> None:
    assert choose_media(header, OFFERED) == chosen


@pytest.mark.parametrize("header", ["text/html", "*/*;q=0", "application/*;q=0, text/*;q=0",
                                    "application/ld+json;q=0, application/json;q=0, text/turtle;q=0, "
                                    "application/n-triples;q=0, */*"])
def test_nothing_acceptable_is_406(header: str) -> None:
    with pytest.raises(NotAcceptable):
        choose_media(header, OFFERED)
