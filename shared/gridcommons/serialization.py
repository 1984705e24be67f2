"""The one fast path for response bodies, where a benchmark shows that ``response_model`` costs too much.

Every endpoint answers through FastAPI's ``response_model`` (the model validates and serialises what
the route returns), except the few whose benchmark (``bench/README.md``) showed the model per row to
cost more than the database work:

- ``POST /api/reservations`` (1,000 rows per request, ``bench/asset_reservations.py``): the rows are
  formatted once into JSON-ready dicts that the response and the event share;
- ``GET /api/limits`` (a page of 1,000 periods × sources, ``bench/asset_limits.py``): PostgreSQL builds
  the page's JSON text (``json_agg``), which is passed through.

The database's JSON columns are encoded by ``json_text`` (the engines' ``json_serializer``): orjson, and
the standard library for what orjson refuses (integers beyond 64 bits, keys that are not text).

Such a route still declares ``response_model=`` (the OpenAPI document) and returns ``fast_json(...)``;
a test per fast route asserts that its body equals the response model's serialisation of the same
data (``matches_model``), so the two cannot drift apart.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi import Response
from pydantic import BaseModel

JSON = "application/json"


def fast_json(content: Any, *, status_code: int = 200) -> Response:
    """A JSON response from JSON-ready data (dicts, lists, str, int, bool, None; encoded with orjson) or
    from JSON text already built (``str`` / ``bytes``, e.g. by PostgreSQL), sent as it is."""
    if isinstance(content, str):
        body = content.encode()
    elif isinstance(content, bytes):
        body = content
    else:
        body = orjson.dumps(content)
    return Response(body, status_code=status_code, media_type=JSON)


def matches_model(model: type[BaseModel], body: Any) -> bool:
    """Whether ``body`` (a decoded JSON body of a fast route) is exactly what ``response_model=model``
    would have sent for the same data: validated by the model and serialised again, it is unchanged."""
    return bool(model.model_validate(body).model_dump(mode="json") == body)


def json_text(value: Any) -> str:
    """JSON text of a JSON column's value (SQLAlchemy ``json_serializer``): orjson, several times faster
    than ``json.dumps`` on the large documents ingestion writes (deal reports, outbox events); what
    orjson refuses (integers beyond 64 bits, non-text keys) is encoded by ``json.dumps`` as before."""
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value)
