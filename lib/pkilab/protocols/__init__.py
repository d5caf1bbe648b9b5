"""pkilab.protocols."""
