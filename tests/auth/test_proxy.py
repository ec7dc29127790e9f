"""SSO-proxy mode: the proxy's signed assertion on every request is the only way in.

Tokens are signed with keys made at test time; the JWKS is fetched over HTTP from a local server.
"""

import base64
import json
import time
from dataclasses import replace

import jwt
import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils.html import escape

from neonadmin.auth import (
    ACCOUNT_DISABLED,
    NO_MAPPED_GROUP,
    SsoIdentity,
    identity_user_unchanged,
    proxy,
)
from neonadmin.auth.proxy import BAD_ASSERTION, NO_ASSERTION, known_user
from neonadmin.models import Identity
from neonadmin.roles import Role, user_role
from tests.auth.conftest import PROXY_AUDIENCE, PROXY_HEADER, PROXY_ISSUER
from tests.auth.idp import claims_for

pytestmark = pytest.mark.django_db

AUDIT = "/audit/"  # a page every role may read, that calls no external service
META = "HTTP_" + PROXY_HEADER.upper().replace("-", "_")


def assertion(key, *, groups=("engineering",), **overrides) -> str:
    claims = claims_for(
        iss=PROXY_ISSUER, aud=PROXY_AUDIENCE, sub="7335d417-61da-459d-899c-0a01c76812be",
        email="kim@example.test", groups=list(groups),
    )  # fmt: skip
    return key.sign({**claims, **overrides})


def test_valid_assertion_signs_in_with_the_role_from_groups(client, proxy_mode, signing_key):
    response = client.get(AUDIT, **{META: assertion(signing_key, groups=["platform"])})

    assert response.status_code == 200
    user = response.wsgi_request.user
    # The proxy verified the email; the username comes from the subject all the same.
    assert (user.get_username(), user.email) == (
        "7335d417-61da-459d-899c-0a01c76812be", "kim@example.test",
    )  # fmt: skip
    assert user_role(user) == Role.OPERATOR
    identity = Identity.objects.get(user=user)
    assert (identity.issuer, identity.subject) == (
        PROXY_ISSUER, "7335d417-61da-459d-899c-0a01c76812be",
    )  # fmt: skip
    # Who is signed in, in the top bar: the name, else the email (templates/base.html).
    assert b'<span class="who">kim@example.test</span>' in response.content


@pytest.mark.parametrize(
    ("case", "make"),
    [
        ("wrong key", lambda good, other: assertion(other)),
        ("wrong audience", lambda good, other: assertion(good, aud="someone-elses-app")),
        ("wrong issuer", lambda good, other: assertion(good, iss="https://evil.example")),
        ("expired", lambda good, other: assertion(good, exp=1_700_000_000, iat=1_699_999_000)),
        ("no subject", lambda good, other: good.sign(_without("sub", assertion(good)))),
        ("not a JWT", lambda good, other: "not-a-jwt"),
        ("unsigned", lambda good, other: _unsigned(assertion(good))),
    ],
)
def test_bad_assertions_are_refused(client, proxy_mode, signing_key, other_key, case, make):
    token = make(signing_key, other_key)

    response = client.get(AUDIT, **{META: token})

    assert response.status_code == 403, case
    assert "refused" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated
    assert not Identity.objects.exists()


def _without(name: str, token: str) -> dict:
    claims = jwt.decode(token, options={"verify_signature": False})
    return {k: v for k, v in claims.items() if k != name}


def _unsigned(token: str) -> str:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).rstrip(b"=")
    return header.decode() + "." + token.split(".")[1] + "."


def test_missing_assertion_is_refused(client, proxy_mode):
    response = client.get(AUDIT)

    assert response.status_code == 403
    assert NO_ASSERTION in response.content.decode()


def test_a_session_does_not_outlive_the_assertion(client, proxy_mode, signing_key):
    """A request that bypassed the proxy must not ride on an earlier session."""
    assert client.get(AUDIT, **{META: assertion(signing_key)}).status_code == 200

    response = client.get(AUDIT)

    assert response.status_code == 403
    assert not client.session.get("_auth_user_id")


def test_roles_follow_the_groups_of_each_assertion(client, proxy_mode, signing_key):
    client.get(AUDIT, **{META: assertion(signing_key, groups=["platform-admins"])})
    response = client.get(AUDIT, **{META: assertion(signing_key, groups=["engineering"])})

    assert user_role(response.wsgi_request.user) == Role.VIEWER
    assert Identity.objects.count() == 1


def test_a_person_in_no_mapped_group_is_refused_with_a_clear_page(client, proxy_mode, signing_key):
    client.get(AUDIT, **{META: assertion(signing_key, groups=["platform-admins"])})

    response = client.get(AUDIT, **{META: assertion(signing_key, groups=["marketing"])})

    assert response.status_code == 403
    page = response.content.decode()
    assert NO_MAPPED_GROUP.format(who="kim@example.test") in page
    assert "marketing" in page and "platform-admins" in page  # theirs, and what would do
    user = Identity.objects.get().user
    assert user_role(user) is None  # the earlier admin role is gone


def test_the_default_role_admits_people_without_groups(client, proxy_mode, signing_key):
    proxy_mode.NEONADMIN_DEFAULT_ROLE = "viewer"

    response = client.get(AUDIT, **{META: assertion(signing_key, groups=[])})

    assert response.status_code == 200
    assert user_role(response.wsgi_request.user) == Role.VIEWER


def test_people_are_matched_on_subject_not_email(client, proxy_mode, signing_key):
    client.get(AUDIT, **{META: assertion(signing_key, sub="first-person")})
    # Someone else, who now holds the same email address at the IdP.
    response = client.get(AUDIT, **{META: assertion(signing_key, sub="second-person")})

    assert Identity.objects.count() == 2
    first, second = (i.user for i in Identity.objects.order_by("id"))
    assert first != second
    assert response.wsgi_request.user == second


def test_signing_keys_are_cached(client, proxy_mode, signing_key, identity_server):
    for _ in range(3):
        client.get(AUDIT, **{META: assertion(signing_key)})

    assert identity_server.jwks_requests == 1


def test_an_unreachable_jwks_is_refused_not_an_error(client, proxy_mode, signing_key):
    proxy_mode.NEONADMIN_PROXY_JWKS_URL = "http://127.0.0.1:9/jwks"

    response = client.get(AUDIT, **{META: assertion(signing_key)})

    assert response.status_code == 403
    assert "signing keys could not be fetched" in response.content.decode()


def test_healthz_needs_no_assertion(client, proxy_mode):
    assert client.get(reverse("healthz")).status_code == 200


# --- Plain (unsigned) identity headers, oauth2-proxy style ------------------------------------

PLAIN = {"HTTP_X_FORWARDED_EMAIL": "lee@example.test", "HTTP_X_FORWARDED_GROUPS": "platform,x"}


def test_plain_headers_are_ignored_when_not_enabled(client, proxy_mode):
    proxy_mode.NEONADMIN_TRUSTED_PROXIES = ["127.0.0.0/8"]

    response = client.get(AUDIT, REMOTE_ADDR="127.0.0.1", **PLAIN)

    assert response.status_code == 403
    assert not Identity.objects.exists()


def test_plain_headers_from_an_untrusted_address_are_ignored(client, proxy_mode):
    proxy_mode.NEONADMIN_PROXY_TRUST_PLAIN_HEADERS = True
    proxy_mode.NEONADMIN_TRUSTED_PROXIES = ["10.0.0.0/8"]

    response = client.get(AUDIT, REMOTE_ADDR="192.0.2.7", **PLAIN)

    assert response.status_code == 403
    assert NO_ASSERTION in response.content.decode()
    assert not Identity.objects.exists()


def test_plain_headers_from_a_trusted_proxy_sign_in(client, proxy_mode):
    proxy_mode.NEONADMIN_PROXY_TRUST_PLAIN_HEADERS = True
    proxy_mode.NEONADMIN_TRUSTED_PROXIES = ["10.0.0.0/8"]

    response = client.get(AUDIT, REMOTE_ADDR="10.1.2.3", **PLAIN)

    assert response.status_code == 200
    user = response.wsgi_request.user
    assert (user.get_username(), user.email) == ("lee@example.test", "lee@example.test")
    assert user_role(response.wsgi_request.user) == Role.OPERATOR


def test_only_the_email_and_groups_headers_are_trusted(client, proxy_mode):
    proxy_mode.NEONADMIN_PROXY_TRUST_PLAIN_HEADERS = True
    proxy_mode.NEONADMIN_TRUSTED_PROXIES = ["10.0.0.0/8"]
    passed_through = {
        "HTTP_X_FORWARDED_USER": "admin",
        "HTTP_X_FORWARDED_PREFERRED_USERNAME": "The Administrator",
    }

    alone = client.get(AUDIT, REMOTE_ADDR="10.1.2.3", **passed_through)
    response = client.get(AUDIT, REMOTE_ADDR="10.1.2.3", **PLAIN, **passed_through)

    assert alone.status_code == 403
    assert response.status_code == 200
    identity = Identity.objects.get()
    assert identity.subject == "lee@example.test"
    assert identity.user.get_full_name() == ""


def test_a_signed_assertion_wins_over_plain_headers(client, proxy_mode, other_key):
    """With both, the (here forged) assertion decides: plain headers never paper over it."""
    proxy_mode.NEONADMIN_PROXY_TRUST_PLAIN_HEADERS = True
    proxy_mode.NEONADMIN_TRUSTED_PROXIES = ["10.0.0.0/8"]

    response = client.get(AUDIT, REMOTE_ADDR="10.1.2.3", **{META: assertion(other_key)}, **PLAIN)

    assert response.status_code == 403
    assert escape(BAD_ASSERTION.split(":")[0]) in response.content.decode()


def test_a_disabled_account_is_refused(client, proxy_mode, signing_key):
    """Disabled in this process: refused at the very next request (see the bound below)."""
    client.get(AUDIT, **{META: assertion(signing_key)})
    user = Identity.objects.get().user
    user.is_active = False
    user.save()

    response = client.get(AUDIT, **{META: assertion(signing_key)})

    assert response.status_code == 403
    assert escape(ACCOUNT_DISABLED.format(who="kim@example.test")) in response.content.decode()


def test_a_known_person_is_signed_in_by_one_query_and_no_session(
    client, proxy_mode, signing_key, django_assert_num_queries
):
    """The assertion on each request is the sign-in: nothing is written for it, and a person
    whose email, name and groups are unchanged is read back in one query, role included."""
    client.get(AUDIT, **{META: assertion(signing_key, groups=["platform-admins"])})
    person = SsoIdentity(
        issuer=PROXY_ISSUER,
        subject="7335d417-61da-459d-899c-0a01c76812be",
        email="kim@example.test",
        groups=["platform-admins"],
    )

    with django_assert_num_queries(1):
        user = identity_user_unchanged(person)
        role = user_role(user)
    with django_assert_num_queries(0):  # this process let the same identity in just now
        known = known_user(person)
        known_role = user_role(known)

    assert role == known_role == Role.ADMIN
    assert known == user and known is not known_user(person)  # a copy for each request
    assert not Session.objects.exists()
    response = client.get(AUDIT, **{META: assertion(signing_key, groups=["platform-admins"])})
    assert response.status_code == 200
    assert response.wsgi_request.user == user
    assert not Session.objects.exists()
    assert known_user(replace(person, groups=["engineering"])) is None  # any change: not known


def test_an_account_disabled_elsewhere_is_refused_within_the_bound(
    client, proxy_mode, signing_key, monkeypatch
):
    """Disabled by another process (no signal reaches this one): let in on memory for at most
    KNOWN_SECONDS, then refused."""
    monkeypatch.setattr(proxy, "KNOWN_SECONDS", 0.3)
    client.get(AUDIT, **{META: assertion(signing_key)})
    User.objects.filter(sso_identity__isnull=False).update(is_active=False)  # no post_save

    assert client.get(AUDIT, **{META: assertion(signing_key)}).status_code == 200
    time.sleep(0.4)
    response = client.get(AUDIT, **{META: assertion(signing_key)})

    assert response.status_code == 403
    assert escape(ACCOUNT_DISABLED.format(who="kim@example.test")) in response.content.decode()


@pytest.mark.parametrize(
    "change",
    [{"groups": ["platform-admins"]}, {"email": "kim@new.example"}, {"name": "Kim Lee"}],
)
def test_a_changed_assertion_signs_the_person_in_again(client, proxy_mode, signing_key, change):
    first = client.get(AUDIT, **{META: assertion(signing_key)})
    unchanged = client.get(AUDIT, **{META: assertion(signing_key)})

    response = client.get(AUDIT, **{META: assertion(signing_key, **change)})

    user = Identity.objects.get().user
    assert response.status_code == 200
    assert (user.email, user.get_full_name()) == (
        change.get("email", "kim@example.test"), change.get("name", ""),
    )  # fmt: skip
    assert Identity.objects.get().groups == change.get("groups", ["engineering"])
    # A sign-in gives the browser a new CSRF token, as Django's login does; a request that
    # changes nothing does not.
    token = first.cookies["csrftoken"].value
    assert unchanged.cookies["csrftoken"].value == token
    assert response.cookies["csrftoken"].value != token


def test_groups_mapping_to_no_role_any_more_are_refused_at_once(client, proxy_mode, signing_key):
    """Unchanged groups that the settings no longer map to a role (NEONADMIN_*_GROUPS changed)."""
    client.get(AUDIT, **{META: assertion(signing_key, groups=["platform-admins"])})
    proxy_mode.NEONADMIN_ADMIN_GROUPS = []

    response = client.get(AUDIT, **{META: assertion(signing_key, groups=["platform-admins"])})

    assert response.status_code == 403
    assert user_role(Identity.objects.get().user) is None


def test_an_htmx_request_without_identity_reloads_the_page(client, proxy_mode):
    response = client.get(AUDIT, headers={"HX-Request": "true"})

    assert response.status_code == 403
    assert response["HX-Refresh"] == "true"  # the page reloads and shows why
