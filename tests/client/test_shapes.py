"""A 200 whose JSON is well-formed but not the shape the spec promises.

The emulator only produces unparseable bodies, so these few cases use a small real HTTP server
that answers with fixed JSON. The client must raise NeonBadResponse carrying the status and the
request id it sent, never a bare KeyError, TypeError or AttributeError.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from projects.neon import MSG_BAD_RESPONSE, NeonBadResponse
from tests.conftest import TEST_NEON_KEY

VALID_PROJECT = {
    "id": "odd-shape-1",
    "name": "odd",
    "region_id": "aws-us-east-2",
    "platform_id": "aws",
    "pg_version": 17,
    "provisioner": "k8s-neonvm",
    "proxy_host": "us-east-2.aws.neon.tech",
    "store_passwords": True,
    "created_at": "2026-11-01T10:00:00Z",
    "updated_at": "2026-11-01T10:00:00Z",
}


@pytest.fixture
def shaped_server():
    """Serves `answers[path]` as a 200 JSON body; records each request's X-Request-ID."""
    answers: dict[str, object] = {}
    received: list[str] = []
    server = _serve(answers, received, [])
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}/api/v2", answers, received
    server.shutdown()
    server.server_close()


@pytest.fixture
def keepalive_server():
    """Answers GET /regions over HTTP/1.1 keep-alive; records the client port of each request."""
    peers: list[int] = []
    answers = {"/regions": {"regions": [{"region_id": "aws-us-east-2", "name": "Ohio"}]}}
    server = _serve(answers, [], peers, keep_alive=True)
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}/api/v2", peers
    server.shutdown()
    server.server_close()


def _serve(answers, received, peers, *, keep_alive=False) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

        def do_GET(self):
            received.append(self.headers.get("X-Request-ID", ""))
            peers.append(self.client_address[1])
            path = self.path.split("?")[0].removeprefix("/api/v2")
            body = json.dumps(answers[path]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    return server


@pytest.mark.parametrize(
    ("path", "answer", "call"),
    [
        ("/projects", {"projects": "none"}, lambda c: c.list_projects()),
        ("/projects", {"projects": [], "pagination": "x"}, lambda c: c.list_projects()),
        ("/projects", {"projects": ["odd-shape-1"]}, lambda c: c.list_projects()),
        ("/regions", [], lambda c: c.list_regions()),
        (
            "/users/me/organizations",
            {"organizations": [{"id": "o"}]},
            lambda c: c.list_organizations(),
        ),
        ("/auth", {"auth_method": "api_key_user"}, lambda c: c.get_auth_details()),
        (
            "/projects/odd-shape-1",
            {"project": {**VALID_PROJECT, "created_at": "yesterday"}},
            lambda c: c.get_project("odd-shape-1"),
        ),
        (
            "/projects/odd-shape-1",
            {"project": {**VALID_PROJECT, "owner": "someone"}},
            lambda c: c.get_project("odd-shape-1"),
        ),
        (
            "/projects/odd-shape-1/connection_uri",
            {"uri": 42},
            lambda c: c.connection_uri("odd-shape-1", database_name="neondb", role_name="r"),
        ),
    ],
)
def test_wrong_shape_is_a_bad_response_with_request_id(
    make_client, shaped_server, path, answer, call
):
    base_url, answers, received = shaped_server
    answers[path] = answer
    client = make_client(api_key=TEST_NEON_KEY, base_url=base_url)

    with pytest.raises(NeonBadResponse) as caught:
        call(client)

    error = caught.value
    assert error.status == 200
    assert error.request_id == received[-1] != ""
    assert error.message.startswith(("Neon", MSG_BAD_RESPONSE))
    assert len(received) == 1  # a broken answer is not retried


def test_right_shape_parses(make_client, shaped_server):
    base_url, answers, _ = shaped_server
    answers["/projects/odd-shape-1"] = {"project": VALID_PROJECT}
    project = make_client(base_url=base_url).get_project("odd-shape-1")
    assert project.id == "odd-shape-1" and project.created_at.year == 2026


def test_short_lived_threads_reuse_one_kept_alive_connection(make_client, keepalive_server):
    # runserver handles each request in a new thread; the pool outlives them all.
    base_url, peers = keepalive_server
    client = make_client(base_url=base_url)

    for _ in range(10):
        thread = threading.Thread(target=client.list_regions)
        thread.start()
        thread.join()

    assert len(peers) == 10
    assert len(set(peers)) == 1  # one TCP connection carried every request
