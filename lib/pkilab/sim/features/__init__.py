"""The simulated router's features; importing this package registers them all."""

from pkilab.sim.features import (
    acl,
    admin,
    ca_server,
    clock,
    crypto_show,
    enroll,
    ip,
    keys,
    lines,
    login,
    system,
    trustpoint,
)

__all__ = [
    "acl",
    "admin",
    "ca_server",
    "clock",
    "crypto_show",
    "enroll",
    "ip",
    "keys",
    "lines",
    "login",
    "system",
    "trustpoint",
]
