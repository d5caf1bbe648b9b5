"""pkilab.labs."""
