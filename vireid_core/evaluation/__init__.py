"""vireid_core.evaluation."""
