from django.apps import AppConfig
from django.conf import settings
from django.core.checks import Tags, register
from django.db.models.signals import post_delete, post_save

from neonadmin.form_renderer import drawn_templates_overridden


class NeonAdminConfig(AppConfig):
    name = "neonadmin"
    verbose_name = "Neon Admin"

    def ready(self):
        from neonadmin.auth import checks  # noqa: F401 - registers the sign-in checks
        from neonadmin.auth.proxy import forget_known_users

        register(drawn_templates_overridden, Tags.templates)
        # A disabled (or deleted) account saved here is refused at the next request, not after
        # proxy.KNOWN_SECONDS.
        for signal in (post_save, post_delete):
            signal.connect(forget_known_users, sender=settings.AUTH_USER_MODEL)
