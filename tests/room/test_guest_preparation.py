"""A guest of the counterpart side prepares privately on the same pages as the
host: their own side's preparation only, never the host's, and never visible
to the host side or its managers. Revoking their link shuts them out at once."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from negotiation.models import Deal, EvidenceItem, Party, Preparation, PriorityEntry
from negotiation.services import preparation as prep_services
from room.services import invite_revoke
from tests.factories import UserFactory, make_deal
from tests.room.conftest import join_as

pytestmark = pytest.mark.django_db

SECTIONS = ("walkaway", "counterparty", "readiness", "matrix", "anchors", "evidence")
GUEST_BATNA = "GUEST-ONLY-batna-Qv7-go-with-Initech"
HOST_BATNA = "HOST-ONLY-batna-Lm3-renew-with-Globex"


def prep_urls(deal: Deal) -> list[str]:
    return [reverse("negotiation:prep", args=[deal.pk])] + [
        reverse("negotiation:prep-section", args=[deal.pk, section])
        for section in SECTIONS
    ]


def walkaway_url(deal: Deal) -> str:
    return reverse("negotiation:prep-section", args=[deal.pk, "walkaway"])


def prep_of(deal: Deal, side: str) -> Preparation:
    return Preparation.objects.get(party__deal=deal, party__side=side)


def html(response) -> str:
    return response.content.decode()


def save_guest_batna(guest_client: Client, deal: Deal) -> None:
    response = guest_client.post(
        walkaway_url(deal),
        {
            "version": "1",
            "batna": GUEST_BATNA,
            "reservation_point": GUEST_BATNA,
            "reservation_value": "4242017",
            "target_outcome": GUEST_BATNA,
        },
    )
    assert response.status_code == 302, html(response)


# --- The guest's own side ------------------------------------------------------


def test_a_guest_opens_every_page_of_their_own_sides_preparation(guest_client, deal):
    host_organisation = deal.parties.get(side=Party.Side.HOST).organisation
    room = reverse("live:room", args=[deal.pk])

    for url in prep_urls(deal):
        response = guest_client.get(url)
        assert response.status_code == 200, url
        page = html(response)
        assert response.context["prep"].party.side == Party.Side.COUNTERPART
        assert "Only your side sees this" in page
        assert f"{host_organisation} never sees these pages" in page
        # Guests cannot open the deal list or the deal page: the room instead.
        assert f'href="{room}"' in page
        assert f'href="{reverse("negotiation:deal-list")}"' not in page
        assert f'href="{deal.get_absolute_url()}"' not in page
        assert 'action="/accounts/logout/"' not in page


def test_a_guest_saves_their_batna_on_their_own_side(guest_client, deal):
    response = guest_client.post(
        walkaway_url(deal),
        {"version": "1", "batna": GUEST_BATNA, "reservation_value": "4242017"},
        follow=True,
    )

    assert response.redirect_chain == [(walkaway_url(deal), 302)]
    assert "Walk-away saved." in html(response)
    assert GUEST_BATNA in html(response)
    assert prep_of(deal, "counterpart").batna == GUEST_BATNA
    assert prep_of(deal, "host").batna == ""


def test_a_guest_fills_their_matrix_and_evidence(guest_client, deal):
    issue = deal.issues.first()

    matrix = guest_client.post(
        reverse("negotiation:prep-priority", args=[deal.pk, issue.pk]),
        {"version": "", "importance": "4", "can_give": "Longer term"},
    )
    evidence = guest_client.post(
        reverse("negotiation:prep-evidence-add", args=[deal.pk]),
        {"kind": "benchmark", "title": "Initech quote"},
    )

    assert matrix.status_code == 302
    assert evidence.status_code == 302
    entry = PriorityEntry.objects.get(issue=issue)
    assert entry.party.side == Party.Side.COUNTERPART
    assert entry.can_give == "Longer term"
    assert EvidenceItem.objects.get().party.side == Party.Side.COUNTERPART


def test_a_guest_never_sees_the_host_sides_preparation(guest_client, deal, host_access):
    prep_services.preparation_update(
        access=host_access,
        section="walkaway",
        version=1,
        batna=HOST_BATNA,
        reservation_point=HOST_BATNA,
    )
    prep_services.evidence_add(
        access=host_access, kind="benchmark", title=HOST_BATNA, detail=HOST_BATNA
    )

    for url in prep_urls(deal):
        assert HOST_BATNA not in html(guest_client.get(url)), url


def test_a_logged_in_user_who_joined_as_a_guest_prepares_the_counterpart_side(
    deal, invite_and_token
):
    # Someone at the counterpart who happens to have a Parley account of their
    # own: for this deal they are the guest, nothing more.
    client = Client()
    client.force_login(UserFactory(username="dana"))
    join_as(client, invite_and_token[1], "Dana Ortiz")

    response = client.get(reverse("negotiation:prep", args=[deal.pk]))
    save_guest_batna(client, deal)

    assert response.status_code == 200
    assert response.context["prep"].party.side == Party.Side.COUNTERPART
    assert prep_of(deal, "counterpart").batna == GUEST_BATNA


# --- The other side never sees it ------------------------------------------------


@pytest.mark.parametrize("viewer", ["host rep", "team manager"])
def test_the_guests_batna_never_reaches_the_host_side_or_its_managers(
    request, viewer, guest_client, deal
):
    save_guest_batna(guest_client, deal)
    client = request.getfixturevalue(
        "rep_client" if viewer == "host rep" else "manager_client"
    )

    urls = [
        deal.get_absolute_url(),
        reverse("negotiation:issue-list", args=[deal.pk]),
        reverse("live:invites", args=[deal.pk]),
        *prep_urls(deal),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        page = html(response)
        assert GUEST_BATNA not in page, url
        assert "4242017" not in page, url
        assert "4,242,017" not in page, url


# --- Where a guest cannot go --------------------------------------------------


def test_a_guest_cannot_open_the_host_sides_deal_pages(guest_client, deal):
    for url in (
        deal.get_absolute_url(),
        reverse("negotiation:deal-list"),
        reverse("negotiation:issue-list", args=[deal.pk]),
        reverse("negotiation:deal-edit", args=[deal.pk]),
    ):
        response = guest_client.get(url)
        assert response.status_code in (302, 404), url
        if response.status_code == 302:
            assert response["Location"].startswith(reverse("login")), url


def test_a_guest_cannot_open_or_write_another_deals_preparation(guest_client, rep):
    other = make_deal(owner=rep, title="Another deal of the same rep")

    for url in prep_urls(other):
        response = guest_client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))
    response = guest_client.post(
        walkaway_url(other), {"version": "1", "batna": GUEST_BATNA}
    )
    assert response.status_code == 302
    assert not Preparation.objects.filter(batna=GUEST_BATNA).exists()


def test_a_revoked_guest_loses_the_preparation_pages_at_once(
    guest, deal, host_access, invite_and_token
):
    guest_client, _ = guest
    save_guest_batna(guest_client, deal)

    invite_revoke(access=host_access, invite_id=invite_and_token[0].pk)

    # 410: their access ended, and the page says so (tests/test_error_pages.py).
    for url in prep_urls(deal):
        assert guest_client.get(url).status_code == 410, url
    response = guest_client.post(
        walkaway_url(deal), {"version": "2", "batna": "Changed after revoking"}
    )
    assert response.status_code == 410
    assert prep_of(deal, "counterpart").batna == GUEST_BATNA


def test_anonymous_visitors_without_a_guest_session_are_sent_to_log_in(client, deal):
    for url in prep_urls(deal):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={url}"


def test_on_a_closed_deal_the_guest_reads_but_cannot_write(guest_client, deal):
    save_guest_batna(guest_client, deal)
    Deal.objects.filter(pk=deal.pk).update(status=Deal.Status.NO_DEAL)

    page = guest_client.get(walkaway_url(deal))
    response = guest_client.post(
        walkaway_url(deal), {"version": "2", "batna": "Too late"}
    )

    assert page.status_code == 200
    assert GUEST_BATNA in html(page)
    assert "can no longer be edited" in html(page)
    assert response.status_code == 403
    assert prep_of(deal, "counterpart").batna == GUEST_BATNA
