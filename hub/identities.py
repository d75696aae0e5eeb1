"""Normalised addresses: the same person must produce the same identity whichever way they write it."""

from __future__ import annotations

import phonenumbers

from hub.inbound import Identity


class InvalidAddress(ValueError):
    pass


def normalise_email(address: str) -> str:
    value = address.strip().strip("<>").strip()
    if "@" not in value or value.startswith("@") or value.endswith("@") or " " in value:
        raise InvalidAddress(f"{address!r} is not an email address")
    return value.casefold()


def normalise_phone(number: str, default_region: str = "US") -> str:
    raw = number.strip()
    if raw.lower().startswith(("tel:", "sms:")):
        raw = raw[4:]
    try:
        parsed = phonenumbers.parse(raw, None if raw.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidAddress(f"{number!r} is not a phone number: {exc}") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidAddress(f"{number!r} is not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise(identity: Identity) -> Identity:
    if identity.kind == "email":
        return Identity("email", normalise_email(identity.address), identity.verified)
    if identity.kind == "phone":
        return Identity("phone", normalise_phone(identity.address), identity.verified)
    address = identity.address.strip()
    if not address:
        raise InvalidAddress(f"empty {identity.kind} identity")
    return Identity(identity.kind, address, identity.verified)
