"""pkilab.config."""
