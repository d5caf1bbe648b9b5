"""pkilab.protocols.ike."""
