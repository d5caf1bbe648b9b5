"""pkilab's parsers where Genie files its own under ``revision: 1``: a more specific token wins in Genie's lookup."""

from genie import abstract

abstract.declare_token(revision="1")
