"""vireid_core.learning."""
