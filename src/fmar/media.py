"""Content negotiation without a web framework: which offered media type an ``Accept`` header prefers."""

from __future__ import annotations

from fmar.errors import NotAcceptable


def media_ranges(header: str | None) -> list[tuple[str, float]]:
    """The media ranges of an Accept header with their weights, in the header's order (``q=0`` included: it
    says "not this one", RFC 9110 §12.4.2)."""
    ranges = []
    for item in (header or "*/*").split(","):
        media, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        if media:
            ranges.append((media.lower(), q))
    return ranges


def choose_media(header: str | None, offered: list[str], what: str = "this resource") -> str:
    """The offered media type the caller accepts most, or 406 listing what is offered. Each offered type takes
    the weight of the most specific range that matches it (``text/turtle;q=0`` refuses Turtle even beside
    ``*/*``); among equal weights, the range named first in the header, then the order of ``offered``."""
    ranges = media_ranges(header)
    best: tuple[tuple[float, int, int], str] | None = None
    for position, candidate in enumerate(offered):
        main = candidate.split("/", 1)[0]
        match: tuple[int, float, int] | None = None  # (specificity, q, index in the header)
        for index, (media, q) in enumerate(ranges):
            specificity = 2 if media == candidate else 1 if media == f"{main}/*" else 0 if media == "*/*" else -1
            if specificity >= 0 and (match is None or specificity > match[0]):
                match = (specificity, q, index)
        if match is None or match[1] <= 0:
            continue
        key = (match[1], -match[2], -position)
        if best is None or key > best[0]:
            best = (key, candidate)
    if best is None:
        raise NotAcceptable(f"{what} is available as {', '.join(offered)}", offered=offered)
    return best[1]
