"""pkilab's parsers for Genie devices of ``os: iosxe``."""

from genie import abstract

abstract.declare_token(os="iosxe")
