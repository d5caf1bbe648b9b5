"""Packet capture analysis with scapy: IKE exchanges, authentication methods, ESP vs cleartext.

See :mod:`pkilab.capture.ipsec` (``analyze(pcap)`` → :class:`~pkilab.capture.ipsec.CaptureSummary`).
"""

from pkilab.capture.ipsec import CaptureError, CaptureSummary, EspPacket, IsakmpMessage, analyze

__all__ = ["CaptureError", "CaptureSummary", "EspPacket", "IsakmpMessage", "analyze"]
