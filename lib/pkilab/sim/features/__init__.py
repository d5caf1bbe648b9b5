"""The simulated router's features; importing this package registers them all."""

from pkilab.sim.features import acl, admin, clock, ip, keys, system

__all__ = ["acl", "admin", "clock", "ip", "keys", "system"]
