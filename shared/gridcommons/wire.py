"""``WireModel``: the one base of every wire model (request and response bodies, query objects, event
payloads) of the platform.

What it holds for every field of every model, so that no model repeats it:

- **extra fields forbidden**: an unknown field is a 422 (``extra_forbidden``), not silently dropped;
  the JSON schema says ``additionalProperties: false``;
- **text without NUL**: every ``str`` value (and every ``str`` in a list of them) is checked as
  ``gridcommons.validation.Text`` (no NUL, no lone surrogate: PostgreSQL refuses both);
- **finite numbers**: ``NaN`` and ``Infinity`` are refused for floats and decimals;
- **instants in UTC**: a datetime value must carry an offset and is normalised to UTC within
  ``[1900-01-01, 9999-01-01)`` (the strict *input* format — ISO 8601 text with an offset, no epoch
  numbers — is the field type ``UtcInstant``; decimals in and out are the ``gridcommons.quantity`` types).

Format rules (patterns, lengths, ranges, one field against another) stay in the service's
``schemas.py``; business rules (which area belongs to which region, the limits of a battery, ...)
belong in its ``service.py``, where the HTTP door and the Kafka door both pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, field_validator

from .validation import check_text, to_utc


def _check_value(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return check_text(value)
    if kind is datetime:
        if value.tzinfo is None:
            raise ValueError("must be an instant with an offset (e.g. 2026-05-01T08:00:00Z)")
        return to_utc(value)
    if kind is list:
        for item in value:
            if type(item) is str:
                check_text(item)
    return value


class WireModel(BaseModel):
    """Base of every wire model: extra fields forbidden, text without NUL, finite numbers, UTC instants."""

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _house_rules(cls, value: Any) -> Any:
        return _check_value(value)

    @classmethod
    def from_row(cls, row: Any) -> Self:
        """The model from a database row (a mapping: its columns that are fields of the model, since a row
        carries more, e.g. ``company_id``) or an object with attributes."""
        if isinstance(row, Mapping):
            fields = cls.model_fields
            return cls.model_validate({k: v for k, v in row.items() if k in fields})
        return cls.model_validate(row, from_attributes=True)
