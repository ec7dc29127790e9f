"""The processes a dashboard benchmark runs against: the emulator standing for Neon, and the
dashboard in its production shape, one or more instances.

Both are separate processes, as in production, so that neither shares a GIL with the other or
with the simulated operators. Everything started here is stopped when its `with` block ends,
whatever happened inside it.
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
import requests

from scripts.prodserver import ROOT, free_port, prepare, production_env

KEY = "bench-neon-key-not-real"
STOP_SECONDS = 30


class Emulator:
    """`python -m neon_emulator` in a child process, and its control routes."""

    def __init__(self, process: subprocess.Popen, api_url: str) -> None:
        self.process = process
        self.api_url = api_url  # http://127.0.0.1:PORT/api/v2
        self.root_url = api_url.removesuffix("/api/v2")
        self._control = requests.Session()

    def stats(self) -> dict[str, int]:
        """Requests received per route; refused ones also under "429 <route>"."""
        return self._call("GET", "/_emulator/stats").json()

    def clear_stats(self) -> None:
        self._call("DELETE", "/_emulator/stats")

    def set_faults(self, *faults: dict) -> None:
        self._call("POST", "/_emulator/faults", json={"faults": list(faults)})

    def clear_faults(self) -> None:
        self._call("DELETE", "/_emulator/faults")

    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self._control.request(method, self.root_url + path, timeout=10, **kwargs)
        response.raise_for_status()
        return response

    def stop(self) -> None:
        self._control.close()
        stop_process(self.process)


@contextmanager
def emulator(
    *,
    seed: int,
    latency_ms: int,
    log_path: Path,
    rate_limit: str | None = None,
    burst: str | None = None,
) -> Iterator[Emulator]:
    """The emulator as its own process; what it says on stderr (a traceback, a dropped
    connection) goes to `log_path`, to read when a run reports an error from Neon."""
    command = [sys.executable, "-m", "neon_emulator", "--port", "0", "--seed", str(seed)]
    command += ["--api-key", KEY, "--latency-ms", str(latency_ms)]
    if rate_limit:
        command += ["--rate-limit", rate_limit]
    if burst:
        command += ["--burst", burst]
    with log_path.open("w") as log:  # the child keeps its own copy of the file
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        banner = process.stdout.readline()  # "neon emulator listening on http://…/api/v2"
        if "http://" not in banner:
            process.wait(timeout=STOP_SECONDS)
            raise RuntimeError(f"the emulator did not start:\n{log_path.read_text()[-2000:]}")
        running = Emulator(process, banner.strip().rsplit(" ", 1)[-1])
    except BaseException:
        stop_process(process)
        raise
    try:
        yield running
    finally:
        running.stop()


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def flush_redis(url: str) -> None:
    """Start from an empty cache and budget: the benchmark owns this Redis database."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.flushdb()
    finally:
        client.close()


def dashboard_env(*, workdir: Path, neon_url: str, extra: dict[str, str]) -> dict[str, str]:
    """Production configuration (scripts/prodserver.py's), plus the variables a benchmark sets:
    REDIS_URL, the budget, gunicorn's size."""
    env = production_env(workdir=workdir, neon_url=neon_url, neon_key=KEY)
    return env | {"GUNICORN_ACCESSLOG": "", **extra}


@dataclass(frozen=True)
class Instance:
    url: str
    pid: int  # gunicorn's master; its workers are its children


@contextmanager
def gunicorn(env: dict[str, str], log_path: Path) -> Iterator[Instance]:
    """One instance: `gunicorn -c gunicorn.conf.py neonadmin.wsgi` on a free port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        # The log goes to a file: an unread pipe would fill up and stall the server.
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "neonadmin.wsgi"],
            cwd=ROOT,
            env=env | {"GUNICORN_BIND": f"127.0.0.1:{port}"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(url, server, log_path)
            yield Instance(url, server.pid)
        finally:
            stop_process(server)


def _wait_until_up(url: str, server: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{url}/healthz", timeout=1)
            return
        except requests.RequestException as exc:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{log_path.read_text()}") from exc
            time.sleep(0.2)


@contextmanager
def dashboards(
    *, count: int, workdir: Path, neon_url: str, extra_env: dict[str, str]
) -> Iterator[list[Instance]]:
    """`count` instances sharing one database (and Redis, when `extra_env` names it), as
    instances behind one load balancer do."""
    env = dashboard_env(workdir=workdir, neon_url=neon_url, extra=extra_env)
    prepare(env)
    with ExitStack() as stack:
        yield [
            stack.enter_context(gunicorn(env, workdir / f"gunicorn-{n}.log")) for n in range(count)
        ]


# --- Where the CPU goes (Linux: /proc) ----------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # the fields after "pid (comm)"


def cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    """CPU time used so far by `pid` (and its live children): user + system."""
    pids = [pid]
    if with_children:
        for entry in Path("/proc").iterdir():
            fields = _stat(int(entry.name)) if entry.name.isdigit() else None
            if fields and int(fields[1]) == pid:
                pids.append(int(entry.name))
    total = 0
    for each in pids:
        fields = _stat(each)
        if fields:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def machine_jiffies() -> tuple[int, int]:
    """(busy, all) since boot, over every core."""
    try:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
    except OSError:
        return 0, 0
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass(frozen=True)
class CpuUse:
    machine_busy: float  # share of all cores, 0..1
    cores: dict[str, float]  # cores used, per process group


class CpuMeter:
    """Cores used over a stretch of time: the machine's, and per group of processes."""

    def __init__(self, *, dashboards: list[Instance], emulator: Emulator) -> None:
        self._groups = {
            "dashboard": lambda: sum(cpu_seconds(i.pid, with_children=True) for i in dashboards),
            "emulator": lambda: cpu_seconds(emulator.process.pid),
            "operators": time.process_time,  # this process: the simulated operators
        }
        self._start: tuple = ()

    def _sample(self) -> tuple:
        return time.monotonic(), machine_jiffies(), {k: f() for k, f in self._groups.items()}

    def start(self) -> None:
        self._start = self._sample()

    def stop(self) -> CpuUse:
        (t0, (busy0, all0), cpu0), (t1, (busy1, all1), cpu1) = self._start, self._sample()
        seconds = max(t1 - t0, 1e-9)
        return CpuUse(
            machine_busy=(busy1 - busy0) / (all1 - all0) if all1 > all0 else float("nan"),
            cores={name: (cpu1[name] - cpu0[name]) / seconds for name in cpu1},
        )
