"""Unit telemetry (seed 004 ``unitData``): the reports of the energy units of a community's clusters."""
