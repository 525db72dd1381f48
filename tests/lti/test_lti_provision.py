"""Role mapping, stable user names and the tool key: the rules a launch provisions with."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from nbcampus.hub.lti.keys import ToolKey
from nbcampus.hub.lti.provision import campus_role
from nbcampus.hub.lti.store import LtiStore, derive_username

V2 = "http://purl.imsglobal.org/vocab/lis/v2/"


@pytest.mark.parametrize(
    "roles, expected",
    [
        ([V2 + "membership#Learner"], "student"),
        ([V2 + "membership#Instructor"], "instructor"),
        ([V2 + "membership/Instructor#TeachingAssistant"], "instructor"),
        ([V2 + "membership#ContentDeveloper"], "instructor"),
        ([V2 + "institution/person#Administrator"], "staff"),
        ([V2 + "system/person#Administrator", V2 + "membership#Learner"], "staff"),
        ([V2 + "membership#Learner", V2 + "membership#Instructor"], "instructor"),
        (["http://example.org/made-up#Wizard"], "student"),
        ([], "student"),
        (None, "student"),
        ("Learner,urn:lti:role:ims/lis/TeachingAssistant", "instructor"),  # LTI 1.1 style
        ("Administrator", "staff"),
    ],
)
def test_lti_roles_map_to_campus_roles(roles: object, expected: str) -> None:
    assert campus_role(roles) == expected  # type: ignore[arg-type]


def test_usernames_are_stable_and_valid(tmp_path: Path) -> None:
    store = LtiStore.open(f"sqlite:///{tmp_path / 'lti.sqlite'}")
    name, created = store.username_for("https://lms.example.org", "sub-1", "Ada.Lovelace@x.org")
    assert created and name.startswith("ada.lovelace-")
    # the same person later, with another email: the same account
    assert store.username_for("https://lms.example.org", "sub-1", "other@x.org") == (name, False)
    # the same sub from another platform is another person
    other, _ = store.username_for("https://canvas.instructure.com", "sub-1", "Ada.Lovelace@x.org")
    assert other != name
    assert derive_username("i", "s", "--!!--").startswith("lti-")


def test_tool_key_is_private_and_stable(tmp_path: Path) -> None:
    key = ToolKey.load_or_create(tmp_path / "secrets")
    path = tmp_path / "secrets" / "lti_tool_key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ToolKey.load_or_create(tmp_path / "secrets").kid == key.kid
    path.chmod(0o644)
    with pytest.raises(Exception, match="permissions"):
        ToolKey.load_or_create(tmp_path / "secrets")
