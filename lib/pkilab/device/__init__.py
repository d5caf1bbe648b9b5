"""pkilab.device."""
