"""pkilab's parsers where Genie files its own under ``platform: cat6k`` (Genie's lookup prefers them)."""

from genie import abstract

abstract.declare_token(platform="cat6k")
