"""CSV imports of readings into one series (backfills of millions of rows), streamed, with a progress resource."""
