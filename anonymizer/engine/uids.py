"""Consistent UID replacement: HMAC(installation secret, case key, original UID) -> 2.25.<int>.

The same original UID always maps to the same new UID within a case, in any process, so
series stay series and references keep pointing at the right instances. Different cases
map the same original UID to different new UIDs, so cases cannot be linked by UID.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from functools import lru_cache

# UIDs defined by the standard itself (SOP classes, transfer syntaxes, coding schemes,
# well-known instances) carry no identity and must never be replaced.
STANDARD_UID_ROOT = "1.2.840.10008."

# Attributes whose UI values name a kind of thing, not an instance.
CLASS_UID_KEYWORDS = frozenset(
    {
        "CodingSchemeUID",
        "ContextGroupExtensionCreatorUID",
        "ContextUID",
        "ImplementationClassUID",
        "MappingResourceUID",
        "PrivateInformationCreatorUID",
        "ReferencedTransferSyntaxUIDInFile",
        "TransferSyntaxUID",
    }
)


def is_class_uid_keyword(keyword: str) -> bool:
    """True for attributes such as SOPClassUID or ReferencedSOPClassUID."""
    return keyword.endswith("ClassUID") or keyword in CLASS_UID_KEYWORDS


def is_standard_uid(uid: str) -> bool:
    return uid.startswith(STANDARD_UID_ROOT)


@lru_cache(maxsize=64)
def case_key_bytes(*, secret: str | bytes, case_key: str) -> bytes:
    """The per-case HMAC key derived from the installation secret."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not secret:
        raise ValueError("the anonymizer secret must not be empty")
    if not case_key:
        raise ValueError("a case key is required")
    return hmac.new(secret, b"case\x00" + case_key.encode("utf-8"), hashlib.sha256).digest()


class UIDMapper:
    """Maps original UIDs to new ones for one case; remembers what it has mapped."""

    CACHE_LIMIT = 100_000

    def __init__(self, *, secret: str | bytes, case_key: str) -> None:
        self._hmac = hmac.new(
            case_key_bytes(secret=secret, case_key=case_key), b"uid\x00", hashlib.sha256
        )
        self._cache: dict[str, str] = {}

    def __call__(self, original: str) -> str:
        original = original.strip().rstrip("\x00")
        new = self._cache.get(original)
        if new is None:
            if len(self._cache) >= self.CACHE_LIMIT:
                # The cache only saves time; never let a huge case grow it without bound.
                self._cache.clear()
            mac = self._hmac.copy()
            mac.update(original.encode("ascii", "replace"))
            # A version-4-shaped UUID keeps the 2.25 form canonical (PS3.5 B.2).
            new = f"2.25.{uuid.UUID(bytes=mac.digest()[:16], version=4).int}"
            self._cache[original] = new
        return new

    @classmethod
    @lru_cache(maxsize=16)
    def for_case(cls, *, secret: str | bytes, case_key: str) -> UIDMapper:
        """A shared mapper per case, so its cache serves every file of the case."""
        return cls(secret=secret, case_key=case_key)

    def map_value(self, original: str) -> str:
        """Map a UID unless the standard defines it."""
        if not original or is_standard_uid(original):
            return original
        return self(original)
