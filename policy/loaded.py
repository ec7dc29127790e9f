"""The policy in force: POLICY_FILE as last read, read again when the file changes (its size or
modification time), so a deploy that ships a new file needs no restart to use it. A file that
does not load leaves no policy in force, and says why (the system check refuses to start with
it; a file changed under a running server shows its problems on the policy page)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from policy.document import Policy, PolicyError, parse


@dataclass(frozen=True)
class Loaded:
    policy: Policy | None  # None: no file configured, or one with problems
    path: str
    problems: tuple[str, ...] = ()


_lock = threading.Lock()
_cache: dict[tuple, Loaded] = {}


def current() -> Loaded:
    path = settings.POLICY_FILE
    if not path:
        return Loaded(None, "")
    try:
        stat = os.stat(path)
    except OSError as exc:
        return Loaded(None, path, (f"{path} cannot be read: {exc.strerror}",))
    key = (path, stat.st_mtime_ns, stat.st_size)
    with _lock:
        if key not in _cache:
            _cache.clear()
            _cache[key] = read(Path(path))
        return _cache[key]


def read(path: Path) -> Loaded:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return Loaded(None, str(path), (f"{path} cannot be read: {exc}",))
    try:
        return Loaded(parse(text, path=str(path), loaded_at=timezone.now()), str(path))
    except PolicyError as exc:
        return Loaded(None, str(path), tuple(exc.problems))
