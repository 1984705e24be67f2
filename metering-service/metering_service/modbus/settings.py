"""Settings of the Modbus poller (``METERING_MODBUS_*`` in the service settings)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PollerSettings:
    refresh_seconds: float = 15.0  # how often the hosts and their assignments are re-read
    max_concurrent: int = 100  # hosts polled at once by one replica
    timeout_seconds: float = 3.0  # connect and per-request timeout
    backoff_max_seconds: float = 300.0
    max_hosts: int = 5000  # hosts one replica takes at most (the others are left to other replicas)
    max_gap: int = 0  # words between two registers still read by one request
