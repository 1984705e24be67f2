"""monitoring-service: Fleet monitoring (seed 004 monitoring, apis_log): jobs, failures, notifications, ingested program logs."""
