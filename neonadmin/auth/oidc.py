"""OpenID Connect sign-in: mozilla-django-oidc, plus the checks it leaves out.

mozilla-django-oidc checks the ID token's signature, algorithm and nonce (and PKCE travels with
the code). It does not check `aud` or `iss`, lets an expired token escape as an unhandled error,
and matches users on email. Here the token must be for our client id, from the configured issuer,
unexpired; people are matched on (issuer, subject); an email counts only when `email_verified`;
roles come from the groups claim.
"""

import logging
from urllib.parse import urlencode

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from neonadmin.auth import SignInRefused, SsoIdentity, claim, groups_from_claim, identity_sign_in

logger = logging.getLogger(__name__)


class OIDCBackend(OIDCAuthenticationBackend):
    def __init__(self, *args, **kwargs):
        # Django instantiates every listed backend (also to load a session's user); only
        # configure the OIDC client when OIDC is the mode, so other modes need no OIDC settings.
        if settings.NEONADMIN_AUTH_MODE == "oidc":
            super().__init__(*args, **kwargs)
        else:
            self.UserModel = get_user_model()

    def authenticate(self, request, **kwargs):
        if settings.NEONADMIN_AUTH_MODE != "oidc":
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        # The library decodes whatever the token response held: without an id_token, PyJWT's
        # DecodeError would escape the callback as a 500.
        if not isinstance(token, str) or not token:
            raise SuspiciousOperation("The identity provider's token response has no ID token.")
        return super().verify_token(token, **kwargs)

    def retrieve_matching_jwk(self, token):
        # The library indexes the token's and the keys' `kid` (KeyError without one) and reads
        # the header unchecked: each is a refusal, not a 500.
        try:
            return super().retrieve_matching_jwk(token)
        except KeyError as exc:
            raise SuspiciousOperation(
                f"The ID token or the provider's key set has no {exc.args[0]!r}, "
                "so no signing key matches."
            ) from exc
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation(f"The ID token is malformed: {exc}") from exc

    def get_payload_data(self, token, key):
        """The ID token's claims, after every check OIDC Core 3.1.3.7 asks of a client."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation(f"The ID token is malformed: {exc}") from exc
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(f"The ID token is signed with {header.get('alg')!r}.")
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_OP_ISSUER,
                leeway=settings.OIDC_CLOCK_SKEW,
                options={"require": ["iss", "aud", "sub", "exp", "iat"]},
            )
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation(f"The ID token was refused: {exc}") from exc
        audiences = payload["aud"] if isinstance(payload["aud"], list) else [payload["aud"]]
        # OIDC Core 3.1.3.7 (4, 5): several audiences need azp, and an azp must be us.
        if (len(audiences) > 1 or "azp" in payload) and payload.get(
            "azp"
        ) != self.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("The ID token was issued to another client (azp).")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        """Match on the ID token's subject; the userinfo response may only add claims."""
        userinfo = self.get_userinfo(access_token, id_token, payload) if access_token else {}
        if userinfo.get("sub", payload["sub"]) != payload["sub"]:
            raise SuspiciousOperation("The userinfo response is about someone else.")
        claims = {**userinfo, **payload}
        identity = SsoIdentity(
            issuer=payload["iss"],
            subject=payload["sub"],
            email=verified_email(payload, userinfo),
            name=claims.get("name") or "",
            groups=groups_from_claim(claim(claims, settings.OIDC_GROUPS_CLAIM)),
        )
        try:
            return identity_sign_in(identity)
        except SignInRefused as refusal:
            # Django's authenticate() swallows PermissionDenied; the callback view shows this.
            self.request.sign_in_refusal = refusal
            logger.warning("OIDC sign-in refused for %s: %s", identity.label, refusal.message)
            raise


def verified_email(*sources: dict) -> str:
    """The email of the first source that has one, if that source says it is verified.

    Many IdPs let people type any address into their profile; an unverified one would put a
    name in the audit log that the person does not own. Email and flag come from one source,
    so a flag about one address never vouches for another.
    """
    for source in sources:
        if source.get("email"):
            verified = source.get("email_verified") in (True, "true")  # some IdPs send a string
            return str(source["email"]) if verified else ""
    return ""


def provider_logout_url(request) -> str:
    """RP-initiated logout: where the browser goes once our session has ended.

    The IdP's end-session endpoint ends its session too, then sends the browser back to our
    sign-in page.
    """
    back = request.build_absolute_uri(reverse("login"))
    if not settings.OIDC_OP_LOGOUT_ENDPOINT:
        return back
    params = {"client_id": settings.OIDC_RP_CLIENT_ID, "post_logout_redirect_uri": back}
    if id_token := request.session.get("oidc_id_token"):
        params["id_token_hint"] = id_token
    return f"{settings.OIDC_OP_LOGOUT_ENDPOINT}?{urlencode(params)}"
