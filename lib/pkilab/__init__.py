"""pkilab: a hardware-in-the-loop test harness for Cisco IOS PKI on IPsec VPNs."""

__version__ = "0.1.0"
