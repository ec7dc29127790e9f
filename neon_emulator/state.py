"""The emulator's account kept in a file (``--state PATH``), so a restart brings back the same
projects, organizations and deletions instead of a fresh seed.

The file is the store's own state, pickled, written atomically (a temporary file, then a
rename) after every request that may have changed it and when the server stops. It is the
emulator's private working data: only a file this emulator wrote is ever read, and a file of
another format version is refused with a message rather than half-read.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

from neon_emulator.store import Store

# 2: projects have slots and seeded ones keep their parts unbuilt (store.Project), ids are
# kept as codes (ids.draw): a file of format 1 would unpickle into half-working objects.
# 3: branches have expiry, restore and backup schedule fields, projects their snapshots; a
# format 2 file would leave those slots unset.
# 4: projects have quota_held_us and endpoints suspended_us (quota holds): a format 3 file would
# leave the project slot unset.
FORMAT = 4
NOT_KEPT = frozenset({"lock"})  # rebuilt by each Store


class StateError(Exception):
    pass


def save(store: Store, path: Path) -> None:
    """Write the store's state to `path` atomically. Call it holding the store's lock."""
    state = {key: value for key, value in vars(store).items() if key not in NOT_KEPT}
    data = pickle.dumps({"format": FORMAT, "store": state}, protocol=pickle.HIGHEST_PROTOCOL)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(store: Store, path: Path) -> None:
    """Replace the store's state with the one saved in `path`."""
    try:
        saved = pickle.loads(path.read_bytes())  # noqa: S301 - our own file (module docstring)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise StateError(f"{path} could not be read: {exc}") from exc
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise StateError(
            f"{path} is not a state file of this emulator (format {FORMAT}); remove it to start "
            "from the seed again"
        )
    vars(store).update(saved["store"])
