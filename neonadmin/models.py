from django.conf import settings
from django.db import models


class Identity(models.Model):
    """The SSO identity a dashboard user stands for.

    People are matched on (issuer, subject) — the IdP's stable id — never on email, which the IdP
    may let people change or reuse.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    groups = models.JSONField(default=list, blank=True, help_text="Groups at the last sign-in.")
    last_sign_in = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="identity_issuer_subject")
        ]
        verbose_name_plural = "identities"

    def __str__(self) -> str:
        return f"{self.subject} @ {self.issuer}"
