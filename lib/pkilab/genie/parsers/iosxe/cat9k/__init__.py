"""pkilab's parsers where Genie files its own under ``platform: cat9k`` (Genie's lookup prefers them)."""

from genie import abstract

abstract.declare_token(platform="cat9k")
