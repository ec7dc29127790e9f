"""A hand-made identity server for the tests that need an IdP or proxy to misbehave on purpose.

It publishes a JWKS over real HTTP and signs whatever tokens a test asks for with a key made at
test time, so tests can prove that a wrong key, audience, issuer or expiry is refused. The
well-behaved OIDC provider of the end-to-end tests is oidc-provider-mock (tests/auth/conftest.py).
"""

import json
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class SigningKey:
    kid: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def __post_init__(self):
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def sign(self, claims: dict, *, headers: dict | None = None) -> str:
        return jwt.encode(
            claims, self.private, algorithm="RS256", headers={"kid": self.kid, **(headers or {})}
        )


def claims_for(*, iss: str, aud: str, sub: str, lifetime: int = 300, **extra) -> dict:
    now = int(time.time())
    return {"iss": iss, "aud": aud, "sub": sub, "iat": now, "exp": now + lifetime, **extra}


class StubIdentityServer:
    """/jwks (published keys), /token (returns `next_id_token`), /userinfo (`userinfo`)."""

    def __init__(self):
        self.published: list[SigningKey] = []
        self.next_id_token = ""
        self.userinfo: dict = {}
        self.jwks_requests = 0
        self.token_delay = 0.0  # seconds the token endpoint takes to answer

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/jwks":
            self.jwks_requests += 1
            body = {"keys": [key.jwk() for key in self.published]}
        elif request.path == "/token" and request.method == "POST":
            time.sleep(self.token_delay)
            body = {"id_token": self.next_id_token, "access_token": "at", "token_type": "Bearer"}
        elif request.path == "/userinfo":
            body = self.userinfo
        else:
            return Response("not found", status=404)(environ, start_response)
        return Response(json.dumps(body), content_type="application/json")(environ, start_response)


@contextmanager
def serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
