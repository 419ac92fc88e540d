"""The deal review and its exports: who may open what, what each viewer sees,
each side's own review, managers' comments, lessons, and the timeline replay.

The deal is negotiated through the real services (``negotiate``). Forbidden
paths are tried one by one and must be refused; private values of each side
are searched for in everything the other side (and, for the counterpart, the
host side's managers) can download.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from negotiation.access import deal_access_for_user
from negotiation.models import Deal, DealEvent, Membership, Participant
from review.models import Lesson, PostDealReview, ReviewComment
from tests.factories import MembershipFactory, UserFactory, make_deal
from tests.scenarios import (
    COUNTERPART_FIGURE_TEXTS,
    COUNTERPART_SECRET,
    Negotiation,
    client_for,
    client_for_guest,
    guest_access,
    negotiate,
)

pytestmark = pytest.mark.django_db

HOST_PRIVATE = [
    "186,500",
    "186500",
    "212,000",
    "Move the onboarding squad",
    "You gave twice in a row",  # the host side's coaching nudge
]
HOST_REVIEW = "HOSTREVIEW: we anchored too low on price"
HOST_LESSON = "Open with a package, not a single price"
GUEST_REVIEW = "GUESTREVIEW: they would have gone to 60 days"
MANAGER_COMMENT = "MGRCOMMENT: next time ask for the case study first"


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setattr("negotiation.services.base.broadcast", lambda *a, **k: None)


@pytest.fixture
def done(rep) -> Negotiation:
    return negotiate(owner=rep)


@pytest.fixture
def manager(done):
    return MembershipFactory(
        team=done.deal.team, role=Membership.Role.MANAGER, user=UserFactory()
    ).user


@pytest.fixture
def rep_browser(rep) -> Client:
    return client_for(rep)


@pytest.fixture
def manager_browser(manager) -> Client:
    return client_for(manager)


@pytest.fixture
def guest_browser(done) -> Client:
    return client_for_guest(done.guest.participant)


def url(name: str, deal: Deal, *args) -> str:
    return reverse(f"review:{name}", args=[deal.pk, *args])


def export_urls(deal: Deal, side: str) -> list[str]:
    return [
        url("review-summary", deal, side),
        url("review-markdown", deal, side),
        url("review-ics", deal),
    ]


def review_urls(deal: Deal) -> list[str]:
    steps = DealEvent.objects.filter(deal=deal).count()
    return [url("review", deal)] + [
        f"{url('review', deal)}?step={n}" for n in range(1, steps + 1)
    ]


def body(response) -> str:
    return response.content.decode()


def assert_none_in(texts: list[str], content: str) -> None:
    leaked = [text for text in texts if text in content]
    assert leaked == [], f"leaked: {leaked}"


# --- who may open what ----------------------------------------------------------------


def test_the_rep_the_manager_and_the_guest_each_open_the_review(
    done, rep_browser, manager_browser, guest_browser
):
    for browser in (rep_browser, manager_browser, guest_browser):
        response = browser.get(url("review", done.deal))
        assert response.status_code == 200
        assert "Deal review" in body(response)


def test_another_teams_manager_opens_nothing_of_the_deal(done):
    stranger = MembershipFactory(role=Membership.Role.MANAGER).user
    browser = client_for(stranger)

    for address in [url("review", done.deal), *export_urls(done.deal, "host")]:
        assert browser.get(address).status_code == 404, address
    response = browser.post(url("review-comment", done.deal), {"body": "Hi"})
    assert response.status_code == 404
    assert not ReviewComment.objects.exists()


def test_a_rep_cannot_open_a_colleagues_deal(done):
    colleague = MembershipFactory(team=done.deal.team).user
    browser = client_for(colleague)

    for address in [url("review", done.deal), *export_urls(done.deal, "host")]:
        assert browser.get(address).status_code == 404, address


def test_an_anonymous_visitor_is_sent_to_log_in(done, client):
    response = client.get(url("review", done.deal))

    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_the_counterpart_cannot_open_the_host_sides_export(done, guest_browser):
    for address in export_urls(done.deal, "host")[:2]:
        assert guest_browser.get(address).status_code == 404, address
    for address in export_urls(done.deal, "counterpart"):
        assert guest_browser.get(address).status_code == 200, address


def test_the_host_side_cannot_open_the_counterparts_export(
    done, rep_browser, manager_browser
):
    for browser in (rep_browser, manager_browser):
        for address in export_urls(done.deal, "counterpart")[:2]:
            assert browser.get(address).status_code == 404, address


def test_a_guest_whose_link_was_revoked_is_refused(done, guest_browser):
    Participant.objects.filter(pk=done.guest.participant.pk).update(
        revoked_at=timezone.now()
    )

    # 410: their access ended, and the page says so (tests/test_error_pages.py).
    assert guest_browser.get(url("review", done.deal)).status_code == 410


def test_a_guest_of_another_deal_cannot_open_this_one(done, rep):
    other = negotiate(owner=rep, title="Other deal", nudges=False)
    browser = client_for_guest(other.guest.participant)

    assert browser.get(url("review", done.deal)).status_code == 302  # to log in
    assert browser.get(url("review", other.deal)).status_code == 200


# --- privacy: what each viewer's pages and files hold ---------------------------------


def test_no_page_or_export_of_the_manager_holds_the_counterparts_private_data(
    done, manager_browser
):
    secrets = [COUNTERPART_SECRET, *COUNTERPART_FIGURE_TEXTS]
    pages = review_urls(done.deal) + export_urls(done.deal, "host")
    pages += [
        reverse("review:dashboard"),
        reverse("review:dashboard-csv"),
        reverse("review:lessons"),
    ]
    seen = ""
    for address in pages:
        response = manager_browser.get(address)
        assert response.status_code == 200, address
        seen += body(response)
        assert_none_in(secrets, body(response))
    # The recording is complete enough to catch a leak: the host side's own
    # private figures and the shared concession values do show.
    assert "186,500" in seen
    assert "1,000 / 4,000" in seen


def test_the_rep_never_sees_the_counterparts_private_data(done, rep_browser):
    secrets = [COUNTERPART_SECRET, *COUNTERPART_FIGURE_TEXTS]
    for address in review_urls(done.deal) + export_urls(done.deal, "host"):
        response = rep_browser.get(address)
        assert response.status_code == 200, address
        assert_none_in(secrets, body(response))


def test_the_guest_sees_its_own_preparation_and_nothing_of_the_hosts(
    done, rep_browser, manager_browser, guest_browser
):
    rep_browser.post(
        url("review-save", done.deal),
        {"version": "", "value_created": HOST_REVIEW, "lessons": HOST_LESSON},
    )
    manager_browser.post(url("review-comment", done.deal), {"body": MANAGER_COMMENT})
    host_private = [*HOST_PRIVATE, HOST_REVIEW, HOST_LESSON, MANAGER_COMMENT]

    seen = ""
    for address in review_urls(done.deal) + export_urls(done.deal, "counterpart"):
        response = guest_browser.get(address)
        assert response.status_code == 200, address
        seen += body(response)
        assert_none_in(host_private, body(response))
    # Its own walk-away figure is there: the guest reads its own side.
    assert "731,946" in seen


def test_concession_values_reach_the_other_side_only_when_shared(
    done, manager_browser, guest_browser
):
    host_view = body(manager_browser.get(url("review", done.deal)))
    guest_view = body(guest_browser.get(url("review", done.deal)))

    assert "1,000 / 4,000" in host_view  # the guest shared these
    assert "not shared" in host_view  # and not those
    # The host side's valuation (5,000 / 12,000) was never shared.
    assert "5,000 / 12,000" in host_view
    assert "5,000 / 12,000" not in guest_view


# --- each side's own review -----------------------------------------------------------


def test_each_side_writes_its_own_review_and_reads_only_its_own(
    done, rep_browser, guest_browser, manager_browser
):
    response = rep_browser.post(
        url("review-save", done.deal),
        {"version": "", "our_goals_met": "mostly", "their_goals_met": "yes",
         "value_created": HOST_REVIEW, "lessons": HOST_LESSON},
    )  # fmt: skip
    assert response.status_code == 302
    response = guest_browser.post(
        url("review-save", done.deal),
        {"version": "", "our_goals_met": "partly", "value_left": GUEST_REVIEW},
    )
    assert response.status_code == 302

    host_review = PostDealReview.objects.get(party=done.host.party)
    assert host_review.our_goals_met == "mostly"
    assert host_review.updated_by == done.host.participant
    rep_page = body(rep_browser.get(url("review", done.deal)))
    manager_page = body(manager_browser.get(url("review", done.deal)))
    guest_page = body(guest_browser.get(url("review", done.deal)))
    assert HOST_REVIEW in rep_page
    assert GUEST_REVIEW not in rep_page
    assert HOST_REVIEW in manager_page
    assert GUEST_REVIEW not in manager_page
    assert GUEST_REVIEW in guest_page
    assert HOST_REVIEW not in guest_page


def test_a_manager_reads_the_review_but_cannot_write_it(done, manager_browser):
    response = manager_browser.post(
        url("review-save", done.deal), {"version": "", "value_created": "x"}
    )

    assert response.status_code == 403
    assert not PostDealReview.objects.exists()
    page = body(manager_browser.get(url("review", done.deal)))
    assert url("review-save", done.deal) not in page


def test_a_deal_is_reviewed_once_it_has_ended(rep, rep_browser):
    deal = make_deal(owner=rep, title="Still open")

    response = rep_browser.post(
        url("review-save", deal), {"version": "", "value_created": "Too early"}
    )

    assert response.status_code == 422
    assert "reviewed once it has ended" in body(response)
    assert not PostDealReview.objects.exists()


def test_a_stale_review_edit_is_refused_and_shows_what_was_saved(done, rep_browser):
    rep_browser.post(
        url("review-save", done.deal), {"version": "", "value_created": "First"}
    )
    rep_browser.post(
        url("review-save", done.deal), {"version": "1", "value_created": "Second"}
    )

    response = rep_browser.post(
        url("review-save", done.deal), {"version": "1", "value_created": "Stale"}
    )

    assert response.status_code == 422
    assert "Someone saved a newer version" in body(response)
    assert "Second" in body(response)
    assert PostDealReview.objects.get().value_created == "Second"


def test_the_host_sides_lessons_fill_the_team_library(done, rep_browser, guest_browser):
    rep_browser.post(
        url("review-save", done.deal),
        {"version": "", "lessons": f"- {HOST_LESSON}\n\nAsk for the budget early\n"},
    )
    guest_browser.post(
        url("review-save", done.deal), {"version": "", "lessons": "GUEST lesson"}
    )

    lessons = Lesson.objects.order_by("text")
    assert [lesson.text for lesson in lessons] == [
        "Ask for the budget early",
        HOST_LESSON,
    ]
    assert {lesson.team_id for lesson in lessons} == {done.deal.team_id}
    assert {lesson.context for lesson in lessons} == {done.deal.context}

    rep_browser.post(
        url("review-save", done.deal), {"version": "1", "lessons": HOST_LESSON}
    )
    assert list(Lesson.objects.values_list("text", flat=True)) == [HOST_LESSON]


def test_lessons_show_when_preparing_a_new_deal_of_the_same_context(done, rep):
    Lesson.objects.create(
        team=done.deal.team, context="sales", text=HOST_LESSON, source_deal=done.deal
    )
    Lesson.objects.create(team=done.deal.team, context="hiring", text="Hiring only")
    new = make_deal(owner=rep, title="Next sales deal", context="sales")
    other_context = make_deal(owner=rep, title="A hire", context="procurement")

    def panel(access) -> str:
        return render_to_string("review/prep_lessons.html", {"access": access})

    new_access = deal_access_for_user(rep, new.pk)
    assert HOST_LESSON in panel(new_access)
    assert "Hiring only" not in panel(new_access)
    assert HOST_LESSON not in panel(deal_access_for_user(rep, other_context.pk))
    # The deal the lesson came from does not teach itself.
    assert HOST_LESSON not in panel(done.host)
    # The counterpart never sees the host team's library.
    participant = Participant.objects.create(
        party=new.parties.get(side="counterpart"), display_name="Guest"
    )
    assert panel(guest_access(new, participant)).strip() == ""


# --- managers' comments and lessons ---------------------------------------------------


def test_a_manager_comments_and_the_rep_reads_it(
    done, manager, manager_browser, rep_browser, guest_browser
):
    response = manager_browser.post(
        url("review-comment", done.deal), {"body": MANAGER_COMMENT}
    )

    assert response.status_code == 302
    comment = ReviewComment.objects.get()
    assert comment.author == manager
    assert MANAGER_COMMENT in body(rep_browser.get(url("review", done.deal)))
    assert MANAGER_COMMENT in body(
        rep_browser.get(url("review-markdown", done.deal, "host"))
    )
    assert MANAGER_COMMENT not in body(guest_browser.get(url("review", done.deal)))


def test_only_managers_comment(done, rep_browser, guest_browser):
    assert (
        rep_browser.post(
            url("review-comment", done.deal), {"body": "Self-praise"}
        ).status_code
        == 403
    )
    assert guest_browser.post(
        url("review-comment", done.deal), {"body": "Hello"}
    ).status_code in (302, 403)  # a guest has no account: sent to log in
    assert not ReviewComment.objects.exists()


def test_an_empty_comment_is_refused_with_the_error_shown(done, manager_browser):
    response = manager_browser.post(url("review-comment", done.deal), {"body": "  "})

    assert response.status_code == 422
    assert not ReviewComment.objects.exists()


def test_a_manager_curates_the_library(done, manager_browser, rep_browser):
    manager_browser.post(url("review-lesson", done.deal), {"text": "Bundle support"})
    lesson = Lesson.objects.get()
    assert (lesson.source_deal, lesson.team) == (done.deal, done.deal.team)

    delete = reverse("review:lesson-delete", args=[lesson.pk])
    assert rep_browser.post(delete).status_code == 403
    assert "Bundle support" in body(rep_browser.get(reverse("review:lessons")))
    assert manager_browser.post(delete).status_code == 302
    assert not Lesson.objects.exists()


def test_the_library_shows_only_the_users_teams(done, manager_browser):
    Lesson.objects.create(team=done.deal.team, context="sales", text="Ours")
    other_team = MembershipFactory(role=Membership.Role.MANAGER).team
    Lesson.objects.create(team=other_team, context="sales", text="Theirs")

    page = body(manager_browser.get(reverse("review:lessons")))

    assert "Ours" in page
    assert "Theirs" not in page


# --- the timeline replay --------------------------------------------------------------


def step_of(deal: Deal, kind: str) -> int:
    kinds = list(DealEvent.objects.filter(deal=deal).values_list("kind", flat=True))
    return kinds.index(kind) + 1


def replay_terms(page: str) -> str:
    start = page.index('class="replay-terms"')
    return page[start : page.index("</table>", start)]


def test_stepping_through_the_log_shows_the_term_sheet_at_each_point(
    done, manager_browser
):
    accepted = step_of(done.deal, "trade.accepted")
    review = url("review", done.deal)

    before = body(manager_browser.get(f"{review}?step={accepted - 1}"))
    at = body(manager_browser.get(f"{review}?step={accepted}"))

    assert "225000" in replay_terms(before)  # the package picked earlier
    assert "201000" not in replay_terms(before)
    assert "201000" in replay_terms(at)
    assert "changed here" in replay_terms(at)
    assert f"Step {accepted} of" in at
    assert f'href="{review}?step={accepted + 1}#replay"' in at  # forward
    assert f'href="{review}?step={accepted - 1}#replay"' in at  # back
    assert "accepted “if we give Price: 201000" in at


def test_a_step_out_of_range_is_clamped_into_the_log(done, manager_browser):
    review = url("review", done.deal)
    total = DealEvent.objects.filter(deal=done.deal).count()

    assert "Step 1 of" in body(manager_browser.get(f"{review}?step=-4"))
    assert f"Step {total} of {total}" in body(manager_browser.get(f"{review}?step=x"))


def test_htmx_gets_the_replay_fragment_only(done, manager_browser):
    response = manager_browser.get(
        f"{url('review', done.deal)}?step=3",
        headers={"HX-Request": "true", "HX-Target": "replay"},
    )

    content = body(response)
    assert content.lstrip().startswith('<section class="card replay" id="replay"')
    assert "<html" not in content
    assert "Step 3 of" in content


# --- pictures and exports -------------------------------------------------------------


def test_the_review_draws_its_pictures_as_accessible_svg(done, rep_browser):
    page = body(rep_browser.get(url("review", done.deal)))

    for title in (
        "Concession timeline",
        "Shared priority rankings",
        "Commitment progress",
        "Price: how the term moved",
        "Price: agreed against walk-away and target",
        "Time in each stage",
    ):
        assert f">{title}</title>" in page, title
    assert page.count('role="img"') >= 6
    assert 'style="' not in page  # the CSP allows no inline styles


def test_overdue_commitments_are_highlighted_for_both_sides(
    done, rep_browser, guest_browser
):
    for browser in (rep_browser, guest_browser):
        page = body(browser.get(url("review", done.deal)))
        assert "1 commitment overdue." in page
        assert f'class="overdue" id="commitment-{done.commitment.pk}"' in page


def test_the_markdown_export_is_one_sides_internal_review(done, rep_browser):
    response = rep_browser.get(url("review-markdown", done.deal, "host"))
    host = done.host.party.organisation

    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="acme-renewal-internal-review-{slugify(host)}-only.md"'
    )
    text = body(response)
    assert text.startswith(f"# Internal review — {host} only: Acme renewal")
    assert f"do not forward it to {done.guest.party.organisation}" in text
    assert "| Price | 201000 |" in text
    assert "| Onboarding | Two on-site weeks |" in text
    assert "**(overdue)**" in text
    assert "Walk-away figure 186,500" in text


def test_user_text_cannot_inject_markdown_or_html_into_the_export(done, rep_browser):
    Deal.objects.filter(pk=done.deal.pk).update(
        shared_purpose="# Owned\n<script>alert(1)</script> | [x](javascript:1)"
    )

    text = body(rep_browser.get(url("review-markdown", done.deal, "host")))

    assert "\\# Owned" in text
    assert "<script>" not in text
    assert "\\<script\\>" in text
    assert "\\[x\\](javascript:1)" in text


def test_the_print_page_lays_out_the_sides_internal_review(done, guest_browser):
    page = body(guest_browser.get(url("review-summary", done.deal, "counterpart")))
    guest = done.guest.party.organisation

    assert f'<h1 id="summary-title">Internal review — {guest} only</h1>' in page
    assert f"<title>Internal review — {guest} only" in page
    assert 'class="internal-notice"' in page
    assert "Two on-site weeks" in page


def test_the_calendar_holds_the_check_ins_and_due_dates(done, guest_browser):
    response = guest_browser.get(url("review-ics", done.deal))

    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    text = body(response)
    assert text.count("BEGIN:VEVENT") >= 4
    assert "SUMMARY:Check-in: Acme renewal" in text
    assert "SUMMARY:Due: Dashboards live in every store" in text
    assert f"DTSTART;VALUE=DATE:{done.commitment.due_date:%Y%m%d}" in text


def test_an_anonymous_user_is_not_a_guest(done):
    from negotiation.access import room_access

    with pytest.raises(Exception):  # noqa: B017, PT011 - Http404
        room_access(AnonymousUser(), {}, done.deal.pk)


def test_a_colleague_learns_the_lesson_without_seeing_the_deal(done, rep):
    """Reps see their own deals only: a colleague's deal title stays hidden."""
    Lesson.objects.create(
        team=done.deal.team, context="sales", text=HOST_LESSON, source_deal=done.deal
    )
    colleague = MembershipFactory(team=done.deal.team).user
    own_deal = make_deal(owner=colleague, title="Colleague's new deal")

    library = body(client_for(colleague).get(reverse("review:lessons")))
    panel = render_to_string(
        "review/prep_lessons.html",
        {"access": deal_access_for_user(colleague, own_deal.pk)},
    )

    for page in (library, panel):
        assert HOST_LESSON in page
        assert done.deal.title not in page
    assert done.deal.title in body(client_for(rep).get(reverse("review:lessons")))


def test_staff_get_no_pass_outside_the_admin(done):
    """Support works in the admin; the product's pages treat staff like anyone."""
    staff = UserFactory(is_staff=True, is_superuser=True)
    browser = client_for(staff)

    assert browser.get(url("review", done.deal)).status_code == 404
    assert (
        browser.get(url("review-markdown", done.deal, "counterpart")).status_code == 404
    )
    assert browser.get(reverse("review:dashboard")).status_code == 403
