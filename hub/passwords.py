"""Password hashing for local accounts (scrypt from the standard library, salted, versioned)
and the rules a chosen password must meet: a minimum length, and not one of the 30,000 most
common passwords of public leaks (the list the zxcvbn library ships and maintains)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

# Cost parameters: ~50 ms and 16 MiB per hash on this class of machine.
_N, _R, _P = 2**14, 8, 1
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # scrypt takes any length; refuse absurd input before hashing


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    salt_b64 = base64.b64encode(salt).decode()
    digest_b64 = base64.b64encode(digest).decode()
    return f"scrypt${_N}${_R}${_P}${salt_b64}${digest_b64}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt_b64),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=32,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def generate_password() -> str:
    """A password for generated accounts: readable, 12 characters, ~70 bits."""
    return secrets.token_urlsafe(9)


@cache
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common_password(password: str) -> bool:
    """In the list of common passwords, ignoring case (the list is lower case)."""
    return password.lower() in _common_passwords()


def password_problem(password: object, min_length: int = MIN_PASSWORD_LENGTH) -> str | None:
    """Why a chosen password is unacceptable, or None when it is fine."""
    if not isinstance(password, str):
        return "password must be a string"
    if len(password) < min_length:
        return f"password must have at least {min_length} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"password must have at most {MAX_PASSWORD_LENGTH} characters"
    if is_common_password(password):
        return "this password is one of the most common ones: choose another"
    return None
