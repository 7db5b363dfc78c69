"""vireid_core.association."""
