"""pkilab's parsers where Genie files its own under ``platform: cat7k``: a more specific token wins in Genie's lookup."""

from genie import abstract

abstract.declare_token(platform="cat7k")
