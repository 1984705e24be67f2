"""Enum values explain themselves in the JSON schema (``gridcommons.describe``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from gridcommons.describe import explain_values, explained_enum
from gridcommons.quantity import Power


@explained_enum({"50HZ": "50Hertz Transmission", "PSE": "Polskie Sieci Elektroenergetyczne"})
class Area(StrEnum):
    """Delivery area."""

    HZ50 = "50HZ"
    PSE = "PSE"


class Model(BaseModel):
    area: Area = Field(description="Where.")
    role: Annotated[
        Literal["admin", "member"], Field(json_schema_extra=explain_values({"admin": "manages", "member": "reads"}))
    ] = Field(description="Role.")
    power: Power = Field(description="Power.")


def test_enum_schema_lists_every_value_with_its_meaning() -> None:
    schema = Model.model_json_schema()
    area = schema["$defs"]["Area"]
    assert area["enum"] == ["50HZ", "PSE"]
    assert (
        area["description"]
        == "Delivery area.\n\n- `50HZ` — 50Hertz Transmission\n- `PSE` — Polskie Sieci Elektroenergetyczne"
    )
    assert area["x-enumDescriptions"] == {"50HZ": "50Hertz Transmission", "PSE": "Polskie Sieci Elektroenergetyczne"}
    assert area["x-enum-descriptions"] == ["50Hertz Transmission", "Polskie Sieci Elektroenergetyczne"]
    role = schema["properties"]["role"]
    assert role["enum"] == ["admin", "member"]
    assert role["description"] == "Role.\n\n- `admin` — manages\n- `member` — reads"
    assert role["x-enumDescriptions"] == {"admin": "manages", "member": "reads"}
    unit = schema["$defs"]["Power"]["properties"]["unit"]
    assert unit["enum"] == ["MW"] and set(unit["x-enumDescriptions"]) == {"MW"}
    # members stay plain strings
    assert (
        Area("50HZ") is Area.HZ50
        and Area.HZ50 == "50HZ"
        and Model(area="PSE", role="admin", power={"amount": 1, "unit": "MW"}).area is Area.PSE
    )


def test_a_value_without_meaning_is_refused_at_import() -> None:
    with pytest.raises(TypeError, match="explain exactly the values"):

        @explained_enum({"A": "the a"})
        class Missing(StrEnum):
            A = "A"
            B = "B"

    with pytest.raises(TypeError, match="explain exactly the values"):

        @explained_enum({"A": " "})
        class Blank(StrEnum):
            A = "A"
