"""A local, faithful emulator of the Neon management API v2 (see README.md)."""

__all__ = ["create_app", "run_emulator"]


def __getattr__(name):
    # Imported lazily so that `python -m neon_emulator` does not pay for the test helper.
    if name == "create_app":
        from neon_emulator.app import create_app

        return create_app
    if name == "run_emulator":
        from neon_emulator.testing import run_emulator

        return run_emulator
    raise AttributeError(name)
