"""Every export, for each side: the shareable ones hold only what both sides
see; a side's internal review says it is internal, in its title, its file
name and on every printed page.

The deal is negotiated through the real services; each side then scores it,
writes its review, and the host side's manager comments. Every one of those
private values is searched for in the shareable exports of both sides.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils.text import slugify

from negotiation.access import deal_access_for_user
from negotiation.models import Membership
from negotiation.services.preparation import IssueScoreInput, scoring_save
from review import services as review_services
from tests.factories import MembershipFactory, UserFactory
from tests.scenarios import (
    COUNTERPART_FIGURE_TEXTS,
    COUNTERPART_SECRET,
    Negotiation,
    client_for,
    client_for_guest,
    negotiate,
)

pytestmark = pytest.mark.django_db

HOST_SECRETS = [
    "186,500",
    "186500",  # walk-away figure
    "212,000",
    "212000",  # target
    "Move the onboarding squad",  # BATNA
    "Nothing under 186,500",  # reservation point
    "HOSTREVIEW-8841",
    "MGRCOMMENT-7730",
    "41.37",  # the host's minimum score
]
COUNTERPART_SECRETS = [
    COUNTERPART_SECRET,
    *COUNTERPART_FIGURE_TEXTS,
    "GUESTREVIEW-5514",
    "38.29",  # the counterpart's minimum score
]


def _score(access, minimum: str, weights: tuple[int, int, int]) -> None:
    price, payment, support = access.deal.issues.order_by("position")
    scoring_save(
        access=access,
        version=None,
        reservation_score=Decimal(minimum),
        issues={
            price.pk: IssueScoreInput(
                weights[0], points=[(Decimal(150000), 0), (Decimal(250000), 100)]
            ),
            payment.pk: IssueScoreInput(
                weights[1], points=[(Decimal(0), 100), (Decimal(90), 0)]
            ),
            support.pk: IssueScoreInput(
                weights[2],
                ratings={
                    "Remote only": 100,
                    "Two on-site weeks": 40,
                    "Dedicated lead": 0,
                },
            ),
        },
    )


@pytest.fixture
def done(rep) -> Negotiation:
    done = negotiate(owner=rep)
    _score(done.host, "41.37", (57, 29, 14))
    _score(done.guest, "38.29", (23, 61, 16))
    review_services.review_save(
        access=done.host, version=None, value_created="HOSTREVIEW-8841"
    )
    review_services.review_save(
        access=done.guest, version=None, value_left="GUESTREVIEW-5514"
    )
    manager = MembershipFactory(
        team=done.deal.team, role=Membership.Role.MANAGER, user=UserFactory()
    ).user
    review_services.review_comment_add(
        access=deal_access_for_user(manager, done.deal.pk),
        author=manager,
        body="MGRCOMMENT-7730",
    )
    return done


def shareable(deal_id: int) -> list[str]:
    return [
        reverse("live:summary", args=[deal_id]),
        reverse("review:review-ics", args=[deal_id]),
    ]


def internal(deal_id: int, side: str) -> list[str]:
    return [
        reverse("review:review-summary", args=[deal_id, side]),
        reverse("review:review-markdown", args=[deal_id, side]),
    ]


def leaked(secrets: list[str], text: str) -> list[str]:
    return [secret for secret in secrets if secret in text]


def test_the_shareable_exports_hold_no_private_value_of_either_side(done, rep):
    browsers = {
        "host": client_for(rep),
        "counterpart": client_for_guest(done.guest.participant),
    }
    for side, browser in browsers.items():
        for address in shareable(done.deal.pk):
            response = browser.get(address)
            assert response.status_code == 200, (side, address)
            text = response.content.decode()
            assert leaked(HOST_SECRETS + COUNTERPART_SECRETS, text) == [], address
            assert "Internal review" not in text
    # The summary does hold the agreement.
    text = browsers["host"].get(shareable(done.deal.pk)[0]).content.decode()
    assert "Two on-site weeks" in text


def test_each_sides_internal_review_is_named_internal_and_holds_only_its_side(
    done, rep
):
    sides = {
        "host": (client_for(rep), done.host.party, HOST_SECRETS, COUNTERPART_SECRETS),
        "counterpart": (
            client_for_guest(done.guest.participant),
            done.guest.party,
            COUNTERPART_SECRETS,
            HOST_SECRETS,
        ),
    }
    for side, (browser, party, own, others) in sides.items():
        title = f"Internal review — {party.organisation} only"
        page, markdown = (browser.get(a) for a in internal(done.deal.pk, side))

        text = page.content.decode()
        assert f"<title>{title}" in text
        assert f">{title}</h1>" in text
        assert 'class="internal-notice"' in text
        assert "css/internal.css" in text  # the notice on every printed page
        assert leaked(others, text) == []
        assert leaked(own, text) != []  # it is the side's own, private file

        assert markdown["Content-Disposition"] == (
            'attachment; filename="acme-renewal-internal-review-'
            f'{slugify(party.organisation)}-only.md"'
        )
        text = markdown.content.decode()
        assert text.startswith(f"# {title}: Acme renewal")
        assert "do not forward it" in text
        assert leaked(others, text) == []
        assert leaked(own, text) != []


def test_the_internal_print_stylesheet_marks_every_page(done, rep):
    css = Path(finders.find("css/internal.css")).read_text(encoding="utf-8")
    page = client_for(rep).get(internal(done.deal.pk, "host")[0]).content.decode()

    assert "@top-center" in css
    assert "INTERNAL REVIEW" in css
    assert 'style="' not in page  # the CSP allows no inline style
