"""pkilab.sim."""
