"""pkilab.procedures."""
