"""The models and their migrations agree, and the models that moved out of
``negotiation`` kept the tables that hold existing data."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_its_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.parametrize("label", ["live_sessions", "review"])
def test_the_moved_models_keep_their_tables(label):
    moved = [
        model
        for model in apps.get_app_config(label).get_models()
        # Born in the room's own app, not moved there: tables of their own.
        if model.__name__
        not in (
            "Invite",
            "RoomConnection",
            "JointCheck",
            "JointCheckConsent",
            "RoomVisit",
            "GuestEmail",
            "WaitingEmail",
            "CadenceProposal",
            "Pause",
        )
    ]
    assert moved
    assert {model._meta.db_table for model in moved} == {
        f"negotiation_{model.__name__.lower()}" for model in moved
    }
