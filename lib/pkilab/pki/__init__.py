"""pkilab.pki."""
