"""Content negotiation without a web framework: which offered media type an ``Accept`` header prefers."""

from __future__ import annotations

from fmar.errors import NotAcceptable


def accepted(header: str | None) -> list[tuple[str, float]]:
    """Media ranges of an Accept header, best first (RFC 9110 §12.5.1)."""
    ranges = []
    for n, item in enumerate((header or "*/*").split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media:
            ranges.append((media.lower(), q, -n))
    ranges.sort(key=lambda r: (r[1], r[2]), reverse=True)
    return [(m, q) for m, q, _ in ranges if q > 0]


def choose_media(header: str | None, offered: list[str], what: str = "this resource") -> str:
    """The first offered media type the caller accepts most, or 406 listing what is offered."""
    for media, _ in accepted(header):
        for candidate in offered:
            main, _, sub = media.partition("/")
            if media in {candidate, "*/*"} or (sub == "*" and candidate.startswith(main + "/")):
                return candidate
    raise NotAcceptable(f"{what} is available as {', '.join(offered)}", offered=offered)
