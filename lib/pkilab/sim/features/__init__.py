"""The simulated router's features; importing this package registers them all."""

from pkilab.sim.features import admin, clock, ip, system

__all__ = ["admin", "clock", "ip", "system"]
