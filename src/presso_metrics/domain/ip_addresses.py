"""IP addresses and CIDR blocks, read the way event-ruler reads them (``CIDR.java``).

- Text is an address only if it looks like one to event-ruler's regular expressions: four runs of
  decimal digits joined by dots, or hex digits and colons with at least one colon. Java's
  ``InetAddress`` then reads each IPv4 part as decimal, so ``010.0.0.1`` is ``10.0.0.1`` (not octal
  and not refused, unlike Python's ``ipaddress``).
- A CIDR block is an address, one ``/`` and a prefix length: below 32 for IPv4 and below 128 for
  IPv6 (event-ruler refuses ``/32`` and ``/128``: "IPv4 mask bits must be < 32"). Host bits may be
  set: ``10.0.0.1/24`` covers ``10.0.0.0`` to ``10.0.0.255`` (``CIDRTest.TestCorrectRanges``).
- A pattern's plain string that is an address matches that address however the event spells it
  (``JsonRuleCompiler`` turns such strings into one-address ranges).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from presso_metrics.exceptions import PatternError

_IPV4 = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6 = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")
_PREFIX_LENGTH = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class Address:
    bits: int  # 32 or 128
    value: int


def parse_address(text: str) -> Address | None:
    """The IP address ``text`` spells, or None if it is not one."""
    if _IPV4.fullmatch(text):
        octets = [int(part) for part in text.split(".")]
        if any(octet > 255 for octet in octets):
            return None
        return Address(32, int.from_bytes(bytes(octets), "big"))
    if _IPV6.fullmatch(text):
        try:
            return Address(128, int(ipaddress.IPv6Address(text)))
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class AddressRange:
    bits: int
    low: int
    high: int

    def contains(self, text: str) -> bool:
        address = parse_address(text)
        return (
            address is not None
            and address.bits == self.bits
            and self.low <= address.value <= self.high
        )


def parse_cidr(text: str, where: str) -> AddressRange:
    """Parse a CIDR block; one EventBridge refuses raises :class:`PatternError` at ``where``."""
    parts = text.split("/")
    if len(parts) != 2:
        single = text if parse_address(text) is not None else "10.0.0.1"
        raise PatternError(
            where,
            f"{text!r} is not a CIDR block: write an address, one '/' and the prefix length, "
            f'e.g. "10.0.0.0/24"; to match a single address, give it as a value: ["{single}"]',
        )
    address_text, length_text = parts
    if not _PREFIX_LENGTH.fullmatch(length_text):
        raise PatternError(
            where,
            f"{text!r} is not a CIDR block: the prefix length after '/' must be a whole "
            "number, e.g. 10.0.0.0/24",
        )
    length = int(length_text)
    if length < 0:
        raise PatternError(
            where, f"{text!r} is not a CIDR block: the prefix length must not be negative"
        )
    address = parse_address(address_text)
    if address is None:
        raise PatternError(
            where,
            f"{text!r} is not a CIDR block: {address_text!r} is not an IPv4 or IPv6 address; "
            "write it like 10.0.0.0/24 or 2001:db8::/32",
        )
    if length >= address.bits:
        kind = "IPv4" if address.bits == 32 else "IPv6"
        raise PatternError(
            where,
            f"{text!r} is not a CIDR block EventBridge accepts: {kind} prefix lengths must be "
            f"below {address.bits}; to match the single address, give it as a value: "
            f'["{address_text}"]',
        )
    host = (1 << (address.bits - length)) - 1
    return AddressRange(address.bits, address.value & ~host, address.value | host)
