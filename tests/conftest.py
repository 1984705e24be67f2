"""Session-wide fixtures come from the kernel's test plugin (gridcommons.testing): the real stack,
``migrated`` (every registry service at head), ``internal_headers``, ``company_id``."""
