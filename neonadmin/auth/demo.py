from django.conf import settings
from django.contrib.auth.backends import ModelBackend


class DemoBackend(ModelBackend):
    """Username and password, for the local demo of `make run` only (never with DEBUG off)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        # Settings refuse to start in demo mode unless NEONADMIN_DEMO and DEBUG are both on.
        if settings.NEONADMIN_AUTH_MODE != "demo" or not settings.DEMO_MODE:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
