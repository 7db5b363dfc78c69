"""vireid_core.model."""
