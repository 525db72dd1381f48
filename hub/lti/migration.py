"""LTI 1.1 -> 1.3 migration: the `lti1p1` claim of an LTI 1.3 launch names the person's LTI
1.1 identity (1EdTech "LTI 1.3 Migration", claim
`https://purl.imsglobal.org/spec/lti/claim/lti1p1`), so both versions of one LMS user map
to one campus account.

The claim is only believed when it is signed: `oauth_consumer_key_sign` is the base64
HMAC-SHA256, keyed with the LTI 1.1 consumer's shared secret, of
`oauth_consumer_key & deployment_id & iss & client_id & exp & nonce` of this launch. The
campus knows the secret only for its registered consumers, so a claim naming another
consumer, unsigned or badly signed, links nothing (the launch itself still works).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import Any

from .validators import CLAIM_DEPLOYMENT_ID, LTI_CLAIM, Consumer

CLAIM_LTI1P1 = LTI_CLAIM + "lti1p1"
LTI11_ISSUER_PREFIX = "lti11:"  # how LTI 1.1 identities are stored: ("lti11:<key>", user_id)

log = logging.getLogger("nbcampus.lti")


def consumer_key_sign(
    secret: str, key: str, deployment_id: str, issuer: str, client_id: str, exp: Any, nonce: str
) -> str:
    base = "&".join((key, deployment_id, issuer, client_id, str(exp), nonce))
    digest = hmac.new(secret.encode(), base.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def lti11_identity(
    claims: dict[str, Any], client_id: str, consumer: Callable[[str], Consumer | None]
) -> tuple[str, str] | None:
    """The verified LTI 1.1 identity (issuer as stored, user id) a 1.3 launch names, or None.

    `user_id` defaults to the launch's `sub` (the migration spec sends it only when the two
    differ; Moodle uses the same id in both versions)."""
    claim = claims.get(CLAIM_LTI1P1)
    if not isinstance(claim, dict):
        return None
    key = claim.get("oauth_consumer_key")
    if not isinstance(key, str) or not key:
        return None
    known = consumer(key)
    if known is None:
        return None  # not a consumer of this campus: nothing to link to
    user_id = claim.get("user_id") or claims.get("sub")
    sign = claim.get("oauth_consumer_key_sign")
    if not isinstance(user_id, str) or not user_id or not isinstance(sign, str):
        log.warning("LTI 1.3 launch names LTI 1.1 consumer %r without a signature: not linked", key)
        return None
    expected = consumer_key_sign(
        known.secret,
        key,
        str(claims.get(CLAIM_DEPLOYMENT_ID) or ""),
        str(claims.get("iss") or ""),
        client_id,
        claims.get("exp"),
        str(claims.get("nonce") or ""),
    )
    if not hmac.compare_digest(expected, sign):
        log.warning("LTI 1.3 launch: bad oauth_consumer_key_sign for consumer %r: not linked", key)
        return None
    return LTI11_ISSUER_PREFIX + key, user_id
