"""pkilab.report."""
