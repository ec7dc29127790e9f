from django.conf import settings
from django.contrib.auth.backends import ModelBackend


class DemoBackend(ModelBackend):
    """Username and password, for the local demo of `make run` only (never with DEBUG off)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        # Settings refuse to start in demo mode without NEONADMIN_DEMO and DEBUG; checked again
        # here so that no later change of settings (or a test's) can open password sign-in.
        if not (settings.NEONADMIN_AUTH_MODE == "demo" and settings.DEMO_MODE and settings.DEBUG):
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
