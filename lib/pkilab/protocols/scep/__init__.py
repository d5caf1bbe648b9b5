"""pkilab.protocols.scep."""
