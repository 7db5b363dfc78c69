"""vireid_core."""
