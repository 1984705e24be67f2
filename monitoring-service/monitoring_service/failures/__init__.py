"""Failures: opened by a job's NG, closed by its next OK (or by deactivation / a unit's retirement)."""
