"""Program logs (apis-main, apis-ccc, apis-log records): ingestion (HTTP and Kafka doors), storage in daily
partitions with a retention, and the operators' search."""
