"""Clients built directly against the session emulator, with timeouts and backoff small enough
that retries, hangs and budgets play out in a fraction of a second."""

import contextlib
import socket
from collections.abc import Callable

import pytest

from neon_emulator.testing import run_emulator
from projects.neon import NeonClient
from tests.conftest import SEED_PROJECTS, TEST_NEON_KEY

# Generous timeouts: other suites may share the two CPUs, and a call that should succeed must not
# time out. Tests that expect a read timeout use `impatient_client`.
FAST = {
    "connect_timeout": 2.0,
    "read_timeout": 5.0,
    "retry_budget": 3.0,
    "max_attempts": 4,
    "backoff_base": 0.01,
}
IMPATIENT_READ_TIMEOUT = 0.5
# An injected hang outlives the impatient read timeout, then the emulator drops the connection.
HANG_SECONDS = 2


@pytest.fixture
def emu(emulator):
    """The session emulator, freshly seeded, with no faults and zeroed stats."""
    emulator.reset(seed=SEED_PROJECTS)
    yield emulator
    emulator.clear_faults()


@pytest.fixture
def make_client(emu) -> Callable[..., NeonClient]:
    clients: list[NeonClient] = []

    def make(**overrides) -> NeonClient:
        kwargs = {"api_key": TEST_NEON_KEY, "base_url": emu.base_url, **FAST, **overrides}
        client = NeonClient(**kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def neon_client(make_client) -> NeonClient:
    return make_client()


@pytest.fixture(scope="session")
def slow_ops_emulator():
    """An emulator whose operations run for a minute: a new project stays locked for the test."""
    with run_emulator(seed=0, api_keys=[TEST_NEON_KEY], op_seconds=60) as emu:
        yield emu


@pytest.fixture
def impatient_client(make_client) -> NeonClient:
    """Gives up reading after half a second: for tests that inject a hang."""
    return make_client(read_timeout=IMPATIENT_READ_TIMEOUT)


@pytest.fixture
def closed_port_url() -> str:
    """A local address where nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v2"


@pytest.fixture
def unanswering_listener():
    """A listener whose accept queue is full, so new connections time out in the handshake.

    Yields (base_url, received) where received() drains the queue and returns every byte that
    reached it, to prove a timed-out connect delivered nothing.
    """
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)

    def received() -> bytes:
        server.settimeout(0.2)
        data = b""
        with contextlib.suppress(TimeoutError):
            while True:
                conn, _ = server.accept()
                with conn:
                    conn.settimeout(0.2)
                    with contextlib.suppress(TimeoutError, OSError):
                        data += conn.recv(65536)
        return data

    yield f"http://127.0.0.1:{port}/api/v2", received
    for filler in fillers:
        filler.close()
    server.close()


def wait_until_unlocked(client: NeonClient, project_id: str) -> None:
    """Poll the project's operations (a real API read) until none is running."""
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        page = client.list_operations(project_id, limit=50)
        if all(op.done for op in page.operations):
            return
        time.sleep(0.05)
    raise AssertionError(f"operations of {project_id} still running after 10 s")
