"""Share links that let a counterpart into one deal's room without an account."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from negotiation.models import Deal, Participant

TOKEN_BYTES = 32  # 256 bits from the OS's CSPRNG


def hash_token(token: str) -> str:
    """Only this digest is stored: a leaked database does not leak live links."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


class Invite(models.Model):
    """A share link for one deal's counterpart side.

    The token itself is shown once, when the link is created. It is exchanged
    once for a guest session; after that the link cannot admit anyone else.
    """

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="invites")
    label = models.CharField(
        max_length=120,
        blank=True,
        help_text="Who this link is for, e.g. “Dana (Head of Retail Ops)”.",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    participant = models.OneToOneField(
        Participant,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invite",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.label or f"Invite #{self.pk}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.participant_id:
            return "used"
        if self.is_expired:
            return "expired"
        return "active"


class RoomConnection(models.Model):
    """One open websocket in a room, for presence across server processes.

    A row is removed when its socket closes; ``seen_at`` is refreshed by the
    client's heartbeat, so rows left behind by a crashed process age out.
    """

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="connections"
    )
    channel_name = models.CharField(max_length=255, unique=True)
    connected_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.participant} on {self.channel_name}"
