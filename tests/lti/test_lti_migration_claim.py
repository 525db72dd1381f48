"""The lti1p1 migration claim (issue 20, item 9): believed only when signed with the secret of
a consumer this campus knows; one test per way it is refused."""

from __future__ import annotations

from typing import Any

import pytest

from nbcampus.hub.lti.migration import CLAIM_LTI1P1, consumer_key_sign, lti11_identity
from nbcampus.hub.lti.validators import CLAIM_DEPLOYMENT_ID, Consumer

KNOWN = Consumer("moodle-legacy", "s3cret", "")


def lookup(key: str) -> Consumer | None:
    return KNOWN if key == KNOWN.key else None


def claims(**claim: Any) -> dict[str, Any]:
    base = {
        "iss": "https://moodle.example.edu",
        "sub": "42",
        "exp": 1900000000,
        "nonce": "n-1",
        CLAIM_DEPLOYMENT_ID: "1",
    }
    sign = consumer_key_sign(
        KNOWN.secret, KNOWN.key, "1", base["iss"], "client-1", base["exp"], base["nonce"]
    )
    base[CLAIM_LTI1P1] = {"oauth_consumer_key": KNOWN.key, "oauth_consumer_key_sign": sign}
    base[CLAIM_LTI1P1].update(claim)
    return base


def test_a_signed_claim_names_the_lti11_identity() -> None:
    assert lti11_identity(claims(user_id="u-11"), "client-1", lookup) == (
        "lti11:moodle-legacy",
        "u-11",
    )


def test_user_id_defaults_to_sub_as_moodle_sends_it() -> None:
    assert lti11_identity(claims(), "client-1", lookup) == ("lti11:moodle-legacy", "42")


@pytest.mark.parametrize(
    "case",
    ["no claim", "unknown consumer", "unsigned", "bad signature", "other client", "not a dict"],
)
def test_refused_claims_link_nothing(case: str) -> None:
    c = claims(user_id="u-11")
    client = "client-1"
    if case == "no claim":
        del c[CLAIM_LTI1P1]
    elif case == "unknown consumer":
        c[CLAIM_LTI1P1]["oauth_consumer_key"] = "someone-else"
    elif case == "unsigned":
        del c[CLAIM_LTI1P1]["oauth_consumer_key_sign"]
    elif case == "bad signature":
        c[CLAIM_LTI1P1]["oauth_consumer_key_sign"] = "AAAA"
    elif case == "other client":
        client = "client-2"  # signed for another registration of the platform
    else:
        c[CLAIM_LTI1P1] = "lti11:moodle-legacy"
    assert lti11_identity(c, client, lookup) is None
