"""Notifications of failures: per-community settings (recipients, webhook), the consumer of
``monitoring.failure.v1`` that records one delivery per channel, and the dispatcher that sends them
(e-mail over SMTP, signed webhook POSTs) with retries."""
