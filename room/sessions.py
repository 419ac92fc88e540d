"""A user's room sockets end with the user's sign-in.

Every socket of a logged-in user joins the group ``user.<id>``. When the
sign-in ends — the user logs out, the password changes (which, in Django,
ends every other session of that user), the account is switched off or
deleted — the sockets are told ``session.ended`` after commit and close with
``CLOSE_SIGNED_OUT``; all of them, on every process. When the user leaves a
team, they are told ``access.changed``: each resolves its access again and
closes, as a revoked guest's does, only if it lost it.

These are signal receivers (connected in ``LiveSessionsConfig.ready``)
because the events come from Django's own views and from the admin, which
call no service of ours. They only broadcast; they decide nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model, user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save

from negotiation.models import Membership
from negotiation.services.base import broadcast_to

# What a change of these user fields ends: the session auth hash is derived
# from the password hash, and an inactive user cannot be signed in.
_SIGN_IN_FIELDS = ("password", "is_active")


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def end_sessions(user_id: int) -> None:
    """Close every room socket of the user, after commit."""
    _send_on_commit(user_group(user_id), {"type": "session.ended"})


def _send_on_commit(group: str, message: dict[str, Any]) -> None:
    # Robust: a channel layer that is down must not fail the logout or the
    # password change; the sockets then close at their next access check,
    # which reads the session again.
    transaction.on_commit(lambda: broadcast_to(group, message), robust=True)


def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        end_sessions(user.pk)


def _remember_sign_in_fields(sender, instance, update_fields=None, **kwargs) -> None:
    """Keep the password hash and active flag the row has before the save."""
    instance._sign_in_before = None
    if instance.pk is None or instance._state.adding:
        return
    if update_fields is not None and not set(_SIGN_IN_FIELDS) & set(update_fields):
        return  # a login's last_login update, say: nothing to compare
    instance._sign_in_before = (
        sender._default_manager.filter(pk=instance.pk)
        .values_list(*_SIGN_IN_FIELDS)
        .first()
    )


def _user_saved(sender, instance, created, **kwargs) -> None:
    before = getattr(instance, "_sign_in_before", None)
    if created or before is None:
        return
    password, is_active = before
    if instance.password != password or (is_active and not instance.is_active):
        end_sessions(instance.pk)


def _user_deleted(sender, instance, **kwargs) -> None:
    end_sessions(instance.pk)


def _membership_deleted(sender, instance: Membership, **kwargs: Any) -> None:
    _send_on_commit(user_group(instance.user_id), {"type": "access.changed"})


def connect_receivers() -> None:
    user_model = get_user_model()
    user_logged_out.connect(_logged_out, dispatch_uid="room.sessions.logged_out")
    pre_save.connect(
        _remember_sign_in_fields,
        sender=user_model,
        dispatch_uid="room.sessions.user_before_save",
    )
    post_save.connect(
        _user_saved, sender=user_model, dispatch_uid="room.sessions.user_saved"
    )
    post_delete.connect(
        _user_deleted, sender=user_model, dispatch_uid="room.sessions.user_deleted"
    )
    post_delete.connect(
        _membership_deleted,
        sender=Membership,
        dispatch_uid="room.sessions.membership_deleted",
    )
