"""pkilab's parsers for Genie devices of ``os: ios``."""

from genie import abstract

abstract.declare_token(os="ios")
