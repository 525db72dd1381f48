"""Role mapping, stable user names and the tool key: the rules a launch provisions with."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from nbcampus.hub.lti.keys import ToolKey
from nbcampus.hub.lti.provision import context_role, school_role
from nbcampus.hub.lti.store import LtiStore, derive_username

V2 = "http://purl.imsglobal.org/vocab/lis/v2/"


@pytest.mark.parametrize(
    "roles, expected_class_role, expected_school_role",
    [
        ([V2 + "membership#Learner"], "student", "student"),
        ([V2 + "membership#Instructor"], "instructor", "student"),
        ([V2 + "membership/Instructor#TeachingAssistant"], "ta", "student"),
        ([V2 + "membership#ContentDeveloper"], "student", "student"),  # no teaching role
        ([V2 + "membership#Administrator"], "student", "student"),  # a course admin: not staff
        ([V2 + "institution/person#Administrator"], "student", "staff"),
        ([V2 + "system/person#Administrator", V2 + "membership#Learner"], "student", "staff"),
        ([V2 + "membership#Learner", V2 + "membership#Instructor"], "instructor", "student"),
        (["http://example.org/made-up#Wizard"], "student", "student"),
        ([], "student", "student"),
        (None, "student", "student"),
        ("Learner,urn:lti:role:ims/lis/TeachingAssistant", "ta", "student"),  # LTI 1.1 style
        ("Administrator", "student", "student"),  # LTI 1.1: a context role
        ("urn:lti:instrole:ims/lis/Administrator", "student", "staff"),
        ("Instructor,urn:lti:sysrole:ims/lis/SysAdmin", "instructor", "staff"),
    ],
)
def test_lti_course_roles_map_to_class_roles_and_only_school_admins_to_staff(
    roles: object, expected_class_role: str, expected_school_role: str
) -> None:
    assert context_role(roles) == expected_class_role  # type: ignore[arg-type]
    assert school_role(roles) == expected_school_role  # type: ignore[arg-type]


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
