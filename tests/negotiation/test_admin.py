"""Staff can manage everything in the admin."""

import pytest
from django.urls import reverse

from negotiation.models import DealEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MODELS = [
    "team", "membership", "deal", "party", "issue", "dealevent",
]  # fmt: skip


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("model", MODELS)
def test_changelist_and_change_pages_open(staff_client, deal, model):
    url = reverse(f"admin:negotiation_{model}_changelist")
    assert staff_client.get(url).status_code == 200


def test_party_page_shows_private_preparation_to_staff(staff_client, deal):
    party = deal.parties.get(side="counterpart")
    party.preparation.batna = "Staff-visible BATNA"
    party.preparation.save()
    page = staff_client.get(reverse("admin:negotiation_party_change", args=[party.pk]))
    assert b"Staff-visible BATNA" in page.content


def test_event_log_is_read_only_in_the_admin(staff_client, deal):
    event = DealEvent.objects.filter(deal=deal).first()
    url = reverse("admin:negotiation_dealevent_change", args=[event.pk])
    staff_client.post(url, {"kind": "tampered"})
    event.refresh_from_db()
    assert event.kind == "deal.created"
    assert (
        staff_client.get(reverse("admin:negotiation_dealevent_add")).status_code == 403
    )
