"""The ``fmarid`` path convertor: a record in a path is its bare FMAR ID or its full IRI.

``/organisations/0193…`` and ``/organisations/http://127.0.0.1:8000/organisations/0193…``
(the IRI percent-encoded or not) reach the same route; the services resolve either form.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class FmarIdConvertor(Convertor[str]):
    regex = f"(?:https?:/{{1,2}}[^?#]*/)?{_UUID}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("fmarid", FmarIdConvertor())
