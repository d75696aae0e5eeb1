"""Everyday support vocabulary that differs from the words articles use ("create" vs "add", "ticket" vs
"conversation"). The database backends OR these in beside the reader's word; the Meilisearch index gets
the same map as its `synonyms` setting, so both backends understand the same things.

Keep it to general support language; product-specific terms belong in the articles ("Also known as").
"""

from __future__ import annotations

# word the reader types -> words articles may use instead (one direction; add the reverse if it holds)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "create": ("add", "new"),
    "setup": ("add", "install"),
    "remove": ("delete",),
    "erase": ("delete",),
    "update": ("change", "edit"),
    "modify": ("change", "edit"),
    "edit": ("change",),
    "change": ("edit",),
    "activate": ("enable",),
    "enable": ("turn",),
    "deactivate": ("disable",),
    "disable": ("turn",),
    "fix": ("troubleshooting",),
    "broken": ("troubleshooting",),
    "error": ("troubleshooting",),
    "failing": ("troubleshooting",),
    "fails": ("troubleshooting",),
    "problem": ("troubleshooting",),
    "issue": ("troubleshooting",),
    "login": ("sign", "log"),
    "signin": ("sign",),
    "key": ("token",),
    "token": ("key",),
    "ticket": ("conversation",),
    "tickets": ("conversations",),
    "customer": ("contact",),
    "customers": ("contacts",),
    "client": ("contact",),
    "colleague": ("team", "member"),
    "coworker": ("team", "member"),
    "user": ("member",),
    "label": ("tag",),
    "macro": ("canned",),
    "bill": ("invoice",),
    "parcel": ("delivery", "shipment"),
    "package": ("delivery", "shipment"),
    "timezone": ("time", "zone"),
    "faq": ("article",),
    "2fa": ("two", "factor"),
    "mfa": ("two", "factor"),
    "sso": ("single", "sign"),
}


def expansions(term: str) -> tuple[str, ...]:
    return SYNONYMS.get(term, ())


def meili_synonyms() -> dict[str, list[str]]:
    return {word: list(alts) for word, alts in SYNONYMS.items()}
