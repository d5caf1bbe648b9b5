"""pkilab's parsers where Genie files its own under ``revision: 1`` (Genie's lookup prefers them)."""

from genie import abstract

abstract.declare_token(revision="1")
