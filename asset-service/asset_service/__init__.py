"""asset-service: assets and their lifecycle (seed 002)."""
