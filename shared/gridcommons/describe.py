"""Self-explaining enums for the OpenAPI documents: every enum value carries its meaning.

A string enum of a wire schema is declared with the meaning of each value::

    @explained_enum(
        {
            "50HZ": "50Hertz Transmission (DE): north and east of Germany",
            "AMPN": "Amprion (DE): west of Germany",
        }
    )
    class DeliveryArea(StrEnum):
        \"\"\"Delivery area (TSO control area) of the grid connection.\"\"\"

        HZ50 = "50HZ"
        AMPN = "AMPN"

The decorator refuses (at import) a mapping that does not explain exactly the enum's values. The
members stay plain strings; the enum's JSON schema carries the meanings in forms that Swagger UI,
ReDoc and SDK generators tolerate (unknown ``x-`` keys are ignored by the others):

- ``description``: the class docstring followed by one Markdown line per value, ``- `VALUE` — meaning``
  (what Swagger UI shows under the field and in the schema view);
- ``x-enumDescriptions``: ``{value: meaning}`` (ReDoc / Redocly);
- ``x-enum-descriptions``: the meanings as a list in the order of ``enum`` (openapi-generator).

For an enum that is not an ``Enum`` class (a ``Literal``, a ``str`` parameter with allowed values,
a quantity's unit), ``explain_values(meanings)`` is a ``json_schema_extra`` callable that adds the
same keys and keeps the field's own description in front of the value lines::

    Role = Annotated[Literal["admin", "member"], Field(json_schema_extra=explain_values({...}))]
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

E = TypeVar("E", bound=type[Enum])


def enum_extra(meanings: dict[str, str], description: str = "") -> dict[str, Any]:
    """The description keys of an enum schema whose values mean ``meanings`` (value -> meaning)."""
    lines = "\n".join(f"- `{value}` — {text}" for value, text in meanings.items())
    text = description.strip()
    return {
        "description": f"{text}\n\n{lines}" if text else lines,
        "x-enumDescriptions": dict(meanings),
        "x-enum-descriptions": list(meanings.values()),
    }


def explain_values(meanings: dict[str, str], *, enum: bool = False) -> Callable[[dict[str, Any]], None]:
    """A ``json_schema_extra`` callable: the field's description (if any) plus one line per value;
    ``enum=True`` also declares the values as the schema's ``enum`` (a plain ``str`` parameter)."""

    def update(schema: dict[str, Any]) -> None:
        if enum:
            schema["enum"] = list(meanings)
        schema.update(enum_extra(meanings, str(schema.get("description", ""))))

    return update


def explained_enum(meanings: dict[str, str]) -> Callable[[E], E]:
    """Class decorator of a string enum: ``meanings`` explains each value (exactly the enum's values)."""

    def decorate(cls: E) -> E:
        values = [str(m.value) for m in cls]
        if sorted(values) != sorted(meanings) or not all(t.strip() for t in meanings.values()):
            raise TypeError(f"{cls.__name__}: explain exactly the values {values}")
        ordered = {v: meanings[v] for v in values}
        doc = inspect.cleandoc(cls.__doc__ or "")

        def schema(_cls: Any, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
            js = handler(core_schema)
            handler.resolve_ref_schema(js).update(enum_extra(ordered, doc))
            return js

        cls.__get_pydantic_json_schema__ = classmethod(schema)  # type: ignore[attr-defined]
        cls.meanings = ordered  # type: ignore[attr-defined]
        return cls

    return decorate
