"""Which scenarios a unit may choose (seed 004): those of its company, not retired, whose scope is

- global (no community, cluster or unit), or
- the unit's community (no cluster, no unit), or
- the unit's cluster (no unit), or
- the unit itself.

Any other pattern of ids is never visible (the table's CHECK refuses them anyway). The SQL predicate
is ``repository.visible_to``; ``is_visible`` is the same rule over plain values, the reference the
tests compare the endpoint with.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """A scenario's scope by internal ids (None = not limited at that level)."""

    community_id: int | None
    cluster_id: int | None
    unit_id: int | None


@dataclass(frozen=True)
class UnitPlace:
    """Where a unit sits: its community, cluster and own ids."""

    community_id: int
    cluster_id: int
    unit_id: int


def is_visible(scope: Scope, unit: UnitPlace) -> bool:
    c, k, u = scope.community_id, scope.cluster_id, scope.unit_id
    return (
        (c is None and k is None and u is None)
        or (c == unit.community_id and k is None and u is None)
        or (c == unit.community_id and k == unit.cluster_id and u is None)
        or (c == unit.community_id and k == unit.cluster_id and u == unit.unit_id)
    )
