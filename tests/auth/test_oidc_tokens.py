"""The OIDC callback against an IdP that returns whatever ID token the test queues: every check
mozilla-django-oidc leaves out (aud, iss, expiry, matching on subject) and every way a sign-in can
fail ends on a page that says so, with nobody signed in."""

from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.utils.html import escape

from neonadmin.auth import NO_MAPPED_GROUP
from neonadmin.models import Identity
from neonadmin.roles import Role, user_role
from neonadmin.views import IDP_ANSWERED, IDP_UNAVAILABLE, NOT_STARTED_HERE, SIGN_IN_FAILED
from tests.auth.conftest import OIDC_CLIENT_ID
from tests.auth.idp import claims_for

pytestmark = pytest.mark.django_db


def start_sign_in(client, next_url="/audit/") -> dict:
    response = client.get(f"/oidc/authenticate/?next={next_url}")
    assert response.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


def id_token(server, key, params, **overrides) -> str:
    claims = claims_for(
        iss=server.url, aud=OIDC_CLIENT_ID, sub="00u1abcd", nonce=params["nonce"],
        email="sam@example.test", email_verified=True, name="Sam Rivera", groups=["platform"],
    )  # fmt: skip
    return key.sign({**claims, **overrides})


def finish(client, params, state=None):
    return client.get("/oidc/callback/", {"code": "c0de", "state": state or params["state"]})


def test_the_sign_in_request_uses_pkce_and_a_nonce(client, stub_oidc_mode, identity_server):
    params = start_sign_in(client)

    assert params["client_id"] == OIDC_CLIENT_ID
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) >= 43
    assert len(params["nonce"]) >= 32 and len(params["state"]) >= 32
    assert params["redirect_uri"] == "http://testserver/oidc/callback/"


def test_a_valid_token_signs_in_with_the_role_from_groups(
    client, stub_oidc_mode, identity_server, signing_key
):
    params = start_sign_in(client)
    identity_server.next_id_token = id_token(identity_server, signing_key, params)
    identity_server.userinfo = {"sub": "00u1abcd", "email": "sam@example.test"}

    response = finish(client, params)

    assert response.status_code == 302 and response["Location"] == "/audit/"
    page = client.get("/audit/")
    user = page.wsgi_request.user
    assert user.get_username() == "00u1abcd"  # from the subject, never the email
    assert user.email == "sam@example.test" and user.get_full_name() == "Sam Rivera"
    assert user_role(user) == Role.OPERATOR
    assert Identity.objects.get(user=user).subject == "00u1abcd"
    assert client.session["oidc_id_token"]  # kept for RP-initiated logout


@pytest.mark.parametrize(
    ("case", "overrides", "reason"),
    [
        ("wrong audience", {"aud": "another-client"}, "Audience doesn't match"),
        ("no audience of ours", {"aud": ["x", "y"]}, "Audience doesn't match"),
        ("wrong issuer", {"iss": "https://evil.example"}, "Invalid issuer"),
        ("expired", {"iat": 1_700_000_000, "exp": 1_700_000_300}, "Signature has expired"),
        ("wrong nonce", {"nonce": "replayed"}, "Nonce"),
        ("azp of another client", {"azp": "another-client"}, "another client (azp)"),
        (
            "several audiences, no azp",
            {"aud": [OIDC_CLIENT_ID, "another-client"]},
            "another client (azp)",
        ),
    ],
)
def test_bad_id_tokens_are_refused(
    client, stub_oidc_mode, identity_server, signing_key, case, overrides, reason
):
    params = start_sign_in(client)
    identity_server.next_id_token = id_token(identity_server, signing_key, params, **overrides)
    identity_server.userinfo = {"sub": "00u1abcd"}

    response = finish(client, params)

    assert response.status_code == 403, case
    page = response.content.decode()
    assert escape(SIGN_IN_FAILED) in page and escape(reason) in page
    assert not client.session.get("_auth_user_id")
    assert not Identity.objects.exists()


def test_a_token_signed_by_another_key_is_refused(
    client, stub_oidc_mode, identity_server, other_key
):
    params = start_sign_in(client)
    forged = id_token(identity_server, other_key, params)
    identity_server.next_id_token = forged

    response = finish(client, params)

    assert response.status_code == 403
    assert not client.session.get("_auth_user_id")


def test_a_forged_state_is_refused(client, stub_oidc_mode, identity_server, signing_key):
    params = start_sign_in(client)
    identity_server.next_id_token = id_token(identity_server, signing_key, params)

    response = finish(client, params, state="forged-state-value")

    assert response.status_code == 403
    assert escape(SIGN_IN_FAILED) in response.content.decode()
    assert not client.session.get("_auth_user_id")


def test_a_callback_this_browser_never_started_is_refused(client, stub_oidc_mode, identity_server):
    response = client.get("/oidc/callback/", {"code": "c0de", "state": "x" * 32})

    assert response.status_code == 403
    assert "not started from this browser" in response.content.decode()


def test_an_idp_error_shows_its_code_and_never_its_description(
    client, stub_oidc_mode, identity_server
):
    params = start_sign_in(client)

    response = client.get(
        "/oidc/callback/",
        {
            "error": "access_denied",
            "error_description": "Call +1 555 0100",
            "state": params["state"],
        },
    )

    assert response.status_code == 403
    page = response.content.decode()
    assert escape(IDP_ANSWERED.format(code="access_denied")) in page
    assert "555" not in page
    assert params["state"] not in client.session.get("oidc_states", {})


def test_an_unknown_idp_error_code_is_not_echoed(client, stub_oidc_mode, identity_server):
    params = start_sign_in(client)

    response = client.get(
        "/oidc/callback/", {"error": "visit_evil.example", "state": params["state"]}
    )

    assert response.status_code == 403
    assert "evil.example" not in response.content.decode()


@pytest.mark.parametrize("state", [None, "x" * 32])
def test_an_error_link_this_session_never_started_does_not_sign_out(
    admin_client_, stub_oidc_mode, state
):
    admin_client_.get("/oidc/authenticate/")  # a sign-in of this session exists, but not this one
    query = {"error": "access_denied", **({"state": state} if state else {})}

    response = admin_client_.get("/oidc/callback/", query)

    assert response.status_code == 403
    assert escape(NOT_STARTED_HERE) in response.content.decode()
    assert admin_client_.session.get("_auth_user_id")


def test_an_unreachable_idp_is_a_clear_502(client, stub_oidc_mode, identity_server):
    stub_oidc_mode.OIDC_OP_TOKEN_ENDPOINT = "http://127.0.0.1:9/token"
    params = start_sign_in(client)

    response = finish(client, params)

    assert response.status_code == 502
    assert IDP_UNAVAILABLE in response.content.decode()


def test_a_slow_idp_times_out_with_a_clear_502(
    client, stub_oidc_mode, identity_server, signing_key
):
    stub_oidc_mode.OIDC_TIMEOUT = (1.0, 0.2)
    params = start_sign_in(client)
    identity_server.next_id_token = id_token(identity_server, signing_key, params)
    identity_server.token_delay = 1.0

    response = finish(client, params)

    assert response.status_code == 502
    assert IDP_UNAVAILABLE in response.content.decode()


def test_userinfo_about_someone_else_is_refused(
    client, stub_oidc_mode, identity_server, signing_key
):
    params = start_sign_in(client)
    identity_server.next_id_token = id_token(identity_server, signing_key, params)
    identity_server.userinfo = {"sub": "somebody-else", "groups": ["platform-admins"]}

    response = finish(client, params)

    assert response.status_code == 403
    assert not client.session.get("_auth_user_id")


def test_a_person_in_no_mapped_group_is_refused(
    client, stub_oidc_mode, identity_server, signing_key
):
    params = start_sign_in(client)
    identity_server.next_id_token = id_token(
        identity_server, signing_key, params, groups=["marketing"]
    )

    response = finish(client, params)

    assert response.status_code == 403
    assert escape(NO_MAPPED_GROUP.format(who="sam@example.test")) in response.content.decode()
    assert not client.session.get("_auth_user_id")


def test_roles_are_resynced_at_every_sign_in(client, stub_oidc_mode, identity_server, signing_key):
    for groups, role in ((["platform-admins"], Role.ADMIN), (["engineering"], Role.VIEWER)):
        params = start_sign_in(client)
        identity_server.next_id_token = id_token(
            identity_server, signing_key, params, groups=groups
        )
        finish(client, params)
        assert user_role(Identity.objects.get().user) == role


def test_people_are_matched_on_subject_not_email(
    client, stub_oidc_mode, identity_server, signing_key, django_user_model
):
    """An account that merely has the same email is not taken over."""
    existing = django_user_model.objects.create_user("old-sam", email="sam@example.test")

    params = start_sign_in(client)
    identity_server.next_id_token = id_token(identity_server, signing_key, params)
    finish(client, params)

    signed_in = client.get("/audit/").wsgi_request.user
    assert signed_in.pk != existing.pk
    assert Identity.objects.get().user == signed_in


def test_the_callback_needs_no_session_and_oidc_routes_are_off_in_other_modes(client, settings):
    settings.NEONADMIN_AUTH_MODE = "proxy"
    settings.NEONADMIN_PROXY_JWT_HEADER = ""

    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/", {"code": "c", "state": "s"}).status_code == 404


def test_oidc_discover_prints_the_settings(oidc_provider):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("oidc_discover", oidc_provider, stdout=out)

    lines = dict(line.split("=", 1) for line in out.getvalue().splitlines())
    assert lines["OIDC_OP_ISSUER"] == oidc_provider
    assert lines["OIDC_OP_JWKS_ENDPOINT"] == f"{oidc_provider}/jwks"
    assert lines["OIDC_OP_LOGOUT_ENDPOINT"].endswith("/oauth2/end_session")


@pytest.mark.parametrize(
    "overrides", [{"groups": ["marketing"]}, {"aud": "another-client"}], ids=["no group", "bad aud"]
)
def test_a_refused_sign_in_ends_the_earlier_session(
    admin_client_, stub_oidc_mode, identity_server, signing_key, overrides
):
    params = start_sign_in(admin_client_)
    identity_server.next_id_token = id_token(identity_server, signing_key, params, **overrides)

    response = finish(admin_client_, params)

    assert response.status_code == 403
    assert not admin_client_.session.get("_auth_user_id")
    assert not admin_client_.session.get("oidc_id_token")


def test_a_callback_with_a_state_this_session_never_started_keeps_it(
    admin_client_, stub_oidc_mode, identity_server
):
    start_sign_in(admin_client_)

    response = admin_client_.get("/oidc/callback/", {"code": "c0de", "state": "x" * 32})

    assert response.status_code == 403
    assert admin_client_.session.get("_auth_user_id")


def test_an_id_token_without_kid_is_refused(client, stub_oidc_mode, identity_server, signing_key):
    params = start_sign_in(client)
    token = id_token(identity_server, signing_key, params)
    identity_server.next_id_token = jwt.encode(
        jwt.decode(token, options={"verify_signature": False}), signing_key.private, "RS256"
    )

    response = finish(client, params)

    assert response.status_code == 403
    assert escape(SIGN_IN_FAILED) in response.content.decode()
    assert "kid" in response.content.decode()
    assert not client.session.get("_auth_user_id")


def test_a_token_response_without_an_id_token_is_refused(client, stub_oidc_mode, identity_server):
    params = start_sign_in(client)
    identity_server.next_id_token = None

    response = finish(client, params)

    assert response.status_code == 403
    assert escape(SIGN_IN_FAILED) in response.content.decode()
    assert not client.session.get("_auth_user_id")


@pytest.mark.parametrize(
    ("token_claims", "userinfo"),
    [
        ({"email": "boss@example.test", "email_verified": False}, {}),
        ({"email": "boss@example.test", "email_verified": "false"}, {}),
        ({"email": None}, {"email": "boss@example.test"}),
        ({"email": "boss@example.test"}, {"email": "sam@example.test", "email_verified": True}),
    ],
    ids=["false", "false as a string", "no flag in userinfo", "flag about another address"],
)
def test_an_unverified_email_is_ignored(
    client, stub_oidc_mode, identity_server, signing_key, token_claims, userinfo
):
    params = start_sign_in(client)
    claims = {"email_verified": None, **token_claims}
    identity_server.next_id_token = id_token(identity_server, signing_key, params, **claims)
    identity_server.userinfo = {"sub": "00u1abcd", **userinfo}

    finish(client, params)

    user = Identity.objects.get().user
    assert (user.get_username(), user.email) == ("00u1abcd", "")


def test_the_username_stays_when_the_email_changes(
    client, stub_oidc_mode, identity_server, signing_key
):
    for email in ("sam@example.test", "sam.rivera@example.test"):
        params = start_sign_in(client)
        identity_server.next_id_token = id_token(identity_server, signing_key, params, email=email)
        finish(client, params)

    user = Identity.objects.get().user
    assert (user.get_username(), user.email) == ("00u1abcd", "sam.rivera@example.test")


def test_a_subject_that_is_already_a_username_gets_its_own(
    client, stub_oidc_mode, identity_server, signing_key, django_user_model
):
    django_user_model.objects.create_user("00u1abcd")
    params = start_sign_in(client)
    identity_server.next_id_token = id_token(identity_server, signing_key, params)

    finish(client, params)

    username = Identity.objects.get().user.get_username()
    assert username.startswith("00u1abcd~") and len(username) == len("00u1abcd~") + 10
