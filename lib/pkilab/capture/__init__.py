"""pkilab.capture."""
