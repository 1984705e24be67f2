"""metering-service: Meters and their readings (seeds 001, 003, 004 unitData): meter register, usage points, readings, unit telemetry, ingestion and aggregation."""
