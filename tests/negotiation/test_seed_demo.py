"""The seed_demo contract: idempotent, a team with half a year of history, and
each side's private values on its own side only.

Seeding plays a dozen deals through the services, so the module seeds once
(``demo``) inside a transaction rolled back at its end; each test runs in its
own savepoint within it, as usual.
"""

import datetime
import json
from collections import Counter
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone

from negotiation.access import GUESTS_SESSION_KEY
from negotiation.models import (
    Deal,
    DealEvent,
    Membership,
    Participant,
    Party,
    Preparation,
    PriorityEntry,
)
from review.models import Lesson, PostDealReview, ReviewComment
from review.selectors import overdue_commitments_q
from room.models import CheckIn, Commitment, Concession, Nudge, Trade
from tests.conftest import password_login

pytestmark = pytest.mark.django_db

LIVE_TITLE = "Acme Retail renewal 2027"
CLOSED = (Deal.Status.AGREED, Deal.Status.NO_DEAL)
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args: str) -> dict:
    out = StringIO()
    call_command(
        "seed_demo", "--json", "--base-url", "http://testserver", *args,
        stdout=out, stderr=StringIO(),
    )  # fmt: skip
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo, seeded once for the module and rolled back after it.

    Tests run with DEBUG off, where seeding must be forced; the test database
    is no site anyone can reach.
    """
    fast = override_settings(PASSWORD_HASHERS=FAST_HASHERS)  # as tests/conftest.py
    with django_db_blocker.unblock(), fast, transaction.atomic():
        yield seed("--allow-production")
        transaction.set_rollback(True)


def live_deal() -> Deal:
    return Deal.objects.get(title=LIVE_TITLE)


def closed_deals():
    return Deal.objects.filter(status__in=CLOSED)


def guest_client(deal: Deal) -> Client:
    """A browser holding the counterpart's guest session for this deal."""
    participant = Participant.objects.filter(
        party__deal=deal, party__side=Party.Side.COUNTERPART
    ).first()
    client = Client()
    session = client.session
    session[GUESTS_SESSION_KEY] = {str(deal.pk): participant.pk}
    session.save()
    return client


def private_texts(deal: Deal, side: str) -> list[str]:
    """The sentences of one side's private preparation for this deal."""
    prep = Preparation.objects.get(party__deal=deal, party__side=side)
    texts = [prep.batna, prep.reservation_point, prep.target_outcome]
    return [text for text in texts if text]


def test_seed_demo_prints_the_contract(demo):
    assert set(demo) >= {"host", "deal_url", "invite_url", "private"}
    assert demo["host"] == {"username": "demo-rep", "password": "parley-demo-rep"}
    assert demo["manager"] == {
        "username": "demo-manager",
        "password": "parley-demo-manager",
    }
    assert demo["deal_url"] == f"http://testserver/deals/{live_deal().pk}/"
    assert set(demo["private"]) == {"host", "counterpart"}
    assert all(len(values) >= 4 for values in demo["private"].values())


def _snapshot() -> dict:
    """Every row the demo writes, as comparable values."""
    return {
        model.__name__: sorted(map(str, model.objects.values_list()))
        for model in (
            Deal, Membership, Participant, DealEvent, PriorityEntry, Trade,
            Concession, Commitment, CheckIn, Nudge, PostDealReview, Lesson,
            ReviewComment, get_user_model(),
        )
    }  # fmt: skip


def test_seed_demo_is_idempotent(demo):
    first = dict(demo)
    first.pop("invite_url")
    before = _snapshot()

    second = seed("--allow-production")

    second.pop("invite_url")
    assert second == first
    after = _snapshot()
    # Logging in rewrites the password hash (same password): compare the rest.
    users = get_user_model().__name__
    before.pop(users), after.pop(users)
    assert after == before
    assert get_user_model().objects.filter(username__startswith="demo-").count() == 4


def test_the_team_has_three_reps_and_a_manager(demo):
    team = live_deal().team
    reps = Membership.objects.filter(team=team, role=Membership.Role.REP)
    assert reps.count() >= 3
    assert Membership.objects.filter(
        team=team, role=Membership.Role.MANAGER, user__username="demo-manager"
    ).exists()
    owners = set(closed_deals().values_list("owner__username", flat=True))
    assert len(owners) >= 3, "every rep has closed deals"


def test_a_dozen_deals_closed_over_the_last_six_months(demo):
    now = timezone.now()
    closed = closed_deals()
    assert closed.count() >= 12
    for deal in closed:
        assert now - datetime.timedelta(days=183) <= deal.closed_at < now, deal
        assert deal.created_at < deal.closed_at - datetime.timedelta(days=5), deal
        # Backdated whole: no row of it was last touched today.
        assert deal.updated_at < now - datetime.timedelta(days=2), deal
    statuses = set(closed.values_list("status", flat=True))
    assert statuses == {Deal.Status.AGREED, Deal.Status.NO_DEAL}
    assert set(closed.values_list("context", flat=True)) == set(Deal.Context.values)
    # Closings are spread over the half-year, not bunched on one day.
    months = {deal.closed_at.strftime("%Y-%m") for deal in closed}
    assert len(months) >= 5


def test_each_closed_deal_has_a_full_history_in_its_log(demo):
    for deal in closed_deals():
        events = list(deal.events.order_by("seq"))
        kinds = {event.kind for event in events}
        assert len(events) >= 20, deal
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        stamps = [event.created_at for event in events]
        assert stamps == sorted(stamps), f"{deal}: the log runs backwards"
        assert stamps[-1] - stamps[0] >= datetime.timedelta(days=7), deal
        assert {"stage.accepted", "trade.proposed", "concession.added"} <= kinds
        if deal.status == Deal.Status.AGREED:
            assert deal.stage == Deal.Stage.IMPLEMENTATION
            assert {"trade.countered", "trade.accepted", "term.updated"} <= kinds
            assert {"commitment.confirmed", "agreement.confirmed"} <= kinds
            assert "checkin.added" in kinds, deal
            # Every issue has its agreed value.
            assert deal.terms.count() == deal.issues.count()
        else:
            assert "deal.no_deal" in kinds
            assert deal.outcome_note
            assert deal.trades.filter(status=Trade.Status.DECLINED).exists()


def test_an_overdue_commitment_and_pitfalls_flagged(demo):
    overdue = Commitment.objects.filter(
        overdue_commitments_q(timezone.localdate()),
        deal__status=Deal.Status.AGREED,
    )
    assert overdue.exists()
    host_nudges = Nudge.objects.filter(
        deal__status__in=CLOSED, party__side=Party.Side.HOST
    )
    # Raised by the detectors as the deals were played, on their own events.
    assert host_nudges.filter(event__isnull=False).count() >= 5
    assert host_nudges.values("kind").distinct().count() >= 4
    assert Nudge.objects.filter(
        deal=live_deal(), party__side=Party.Side.HOST, kind=Nudge.Kind.CONCEDING
    ).exists()


def test_reviews_and_lessons_of_the_closed_deals(demo):
    closed = closed_deals()
    host_reviews = PostDealReview.objects.filter(
        deal__in=closed, party__side=Party.Side.HOST
    )
    assert host_reviews.count() == closed.count()
    assert PostDealReview.objects.filter(party__side=Party.Side.COUNTERPART).exists()
    lessons = Lesson.objects.filter(team=live_deal().team)
    assert lessons.count() >= closed.count()
    assert set(lessons.values_list("context", flat=True)) == set(Deal.Context.values)
    assert ReviewComment.objects.filter(deal__in=closed).exists()


def test_both_sides_of_the_live_deal_are_prepared(demo):
    deal = live_deal()
    for party in deal.parties.all():
        assert party.preparation.batna
        assert party.preparation.reservation_value is not None
        assert party.priorities.exists()
        assert party.evidence.exists()
    assert deal.issues.count() >= 4


def test_demo_rep_sees_own_private_values_and_never_the_counterparts(demo, client):
    assert password_login(client, **demo["host"])
    deal = live_deal()
    pages = [
        "/deals/",
        demo["deal_url"].removeprefix("http://testserver"),
        f"/deals/{deal.pk}/issues/",
        f"/deals/{deal.pk}/edit/",
        f"/deals/{deal.pk}/prep/",
    ] + [
        f"/deals/{deal.pk}/prep/{section}/"
        for section in (
            "walkaway", "counterparty", "readiness", "matrix", "anchors", "evidence"
        )
    ]  # fmt: skip
    everything = ""
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        everything += response.content.decode()
    for value in demo["private"]["counterpart"]:
        assert value not in everything
    for value in demo["private"]["host"]:
        assert value in everything, value


def test_demo_manager_reviews_host_side_only(demo, client):
    assert password_login(client, **demo["manager"])
    deal = live_deal()
    everything = "".join(
        client.get(page).content.decode()
        for page in (f"/deals/{deal.pk}/", f"/deals/{deal.pk}/prep/walkaway/")
    )
    assert demo["private"]["host"][0] in everything
    for value in demo["private"]["counterpart"]:
        assert value not in everything


def test_seed_demo_prints_a_working_invite_link(demo, client):
    # The token rides in the fragment; the join page's script posts it.
    path, token = demo["invite_url"].removeprefix("http://testserver").split("#")
    assert path == "/join/"
    response = client.post("/join/open/", {"link": token})
    assert response.status_code == 302
    assert response["Location"] == "/join/"
    assert LIVE_TITLE.encode() in client.get("/join/").content


def test_seed_demo_leaves_a_live_room_worth_looking_at(demo, client):
    deal = live_deal()
    assert deal.stage == Deal.Stage.MIDGAME
    assert deal.status == Deal.Status.OPEN
    assert deal.trades.filter(status="accepted").exists()
    assert deal.trades.filter(status="open").exists()
    # It started days ago; its last step was before now.
    assert deal.created_at < timezone.now() - datetime.timedelta(days=3)
    assert deal.events.order_by("-seq").first().created_at < timezone.now()
    assert password_login(client, **demo["host"])
    room = client.get(f"/room/{deal.pk}/").content.decode()
    assert "Dedicated onboarding lead" in room
    assert "60 days" in room


def test_the_dashboard_shows_the_closed_deals(demo, client):
    assert password_login(client, **demo["manager"])
    response = client.get("/deals/dashboard/")

    assert response.status_code == 200
    page = response.content.decode()
    closed = closed_deals()
    agreed = closed.filter(status=Deal.Status.AGREED).count()
    rate = round(100 * agreed / closed.count())
    assert f"{rate}% of closed deals agreed" in page
    for name in ("Robin", "Sam", "Alex"):
        assert name in page
    kinds = Counter(
        Nudge.objects.filter(party__side=Party.Side.HOST).values_list("kind", flat=True)
    )
    top_pitfall, _ = kinds.most_common(1)[0]
    assert Nudge.Kind(top_pitfall).label in page
    late = Commitment.objects.filter(
        overdue_commitments_q(timezone.localdate()), deal__status=Deal.Status.AGREED
    ).first()
    assert late.description in page
    assert "No closed deal yet" not in page


def test_a_closed_deals_review_page_shows_its_history(demo, client):
    assert password_login(client, **demo["manager"])
    deal = (
        Deal.objects.filter(status=Deal.Status.AGREED, review_comments__isnull=False)
        .order_by("closed_at")
        .first()
    )
    response = client.get(f"/deals/{deal.pk}/review/")

    assert response.status_code == 200
    page = response.content.decode()
    for term in deal.terms.select_related("issue"):
        assert term.value in page, term.issue.name
    trades = deal.trades.count()
    assert f"{trades} conditional trade" in page
    assert deal.review_comments.first().body in page
    lesson = Lesson.objects.filter(source_deal=deal).first()
    assert lesson.text in page
    for commitment in deal.commitments.all():
        assert commitment.description in page


def test_no_demo_deal_shows_a_side_the_other_sides_private_preparation(demo, client):
    assert password_login(client, **demo["host"])
    rep = get_user_model().objects.get(username="demo-rep")
    deals = Deal.objects.filter(owner=rep)
    assert deals.filter(status__in=CLOSED).count() >= 4
    for deal in deals:
        guest = guest_client(deal)
        pages = (f"/room/{deal.pk}/",) + (
            (f"/deals/{deal.pk}/review/",) if deal.status in CLOSED else ()
        )
        for path in pages:
            host_page = client.get(path)
            guest_page = guest.get(path)
            assert host_page.status_code == guest_page.status_code == 200, path
            for text in private_texts(deal, Party.Side.COUNTERPART):
                assert text not in host_page.content.decode(), (path, text)
            for text in private_texts(deal, Party.Side.HOST):
                assert text not in guest_page.content.decode(), (path, text)
    # Both sides prepared every deal: the checks above are not vacuous.
    for deal in deals:
        for side in Party.Side.values:
            assert len(private_texts(deal, side)) == 3, (deal, side)


def test_seed_demo_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False
    deals, users = Deal.objects.count(), get_user_model().objects.count()

    with pytest.raises(CommandError, match="--allow-production"):
        call_command("seed_demo", "--json", stdout=StringIO())
    assert Deal.objects.count() == deals
    assert get_user_model().objects.count() == users


def test_seed_demo_with_debug_off_seeds_when_forced_and_warns(demo, settings):
    settings.DEBUG = False
    out, err = StringIO(), StringIO()

    call_command("seed_demo", "--json", "--allow-production", stdout=out, stderr=err)

    assert json.loads(out.getvalue())["host"]["username"] == "demo-rep"
    assert "Warning" in err.getvalue()
    assert "log in as the demo users" in err.getvalue()
