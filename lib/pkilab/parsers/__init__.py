"""pkilab.parsers."""
