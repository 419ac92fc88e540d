"""The private preparation pages: each section saves and shows, bad input and
stale edits change nothing, and nobody but the side itself (and, read-only, its
team's managers) ever reaches them."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from negotiation.models import (
    AnchorEntry,
    Deal,
    EvidenceItem,
    Preparation,
    PriorityEntry,
    Scoring,
)
from negotiation.services import preparation as prep_services
from tests.factories import IssueFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def section_url(deal: Deal, section: str) -> str:
    return reverse("negotiation:prep-section", args=[deal.pk, section])


def overview_url(deal: Deal) -> str:
    return reverse("negotiation:prep", args=[deal.pk])


def host_prep(deal: Deal) -> Preparation:
    return Preparation.objects.get(party__deal=deal, party__side="host")


def html(response) -> str:
    return response.content.decode()


# --- Overview and progress ----------------------------------------------------


def test_overview_of_a_fresh_deal_lists_what_is_still_empty(rep_client, deal):
    response = rep_client.get(overview_url(deal))

    assert response.status_code == 200
    page = html(response)
    assert "Only your side sees this" in page
    assert "Still empty: BATNA, reservation point" in page
    assert "importance of Price, importance of Payment terms" in page
    # Only "Issues mapped" of the eight checklist items is done.
    assert response.context["prep"].percent_done == 12
    assert 'value="12" max="100"' in page
    assert "Run the readiness check before the joint session." in page


def test_overview_checklist_links_to_each_section_page(rep_client, deal):
    page = html(rep_client.get(overview_url(deal)))

    for section in ("walkaway", "matrix", "counterparty", "evidence", "anchors"):
        assert f'href="{section_url(deal, section)}"' in page
    assert f'href="{reverse("negotiation:issue-list", args=[deal.pk])}"' in page


def test_every_page_is_marked_private_and_links_to_every_section(rep_client, deal):
    for url in [overview_url(deal)] + [
        section_url(deal, s)
        for s in ("walkaway", "counterparty", "readiness", "matrix", "anchors")
    ]:
        page = html(rep_client.get(url))
        assert "Only your side sees this" in page, url
        assert 'class="private-note"' in page
        assert f'href="{section_url(deal, "evidence")}"' in page
        assert f'href="{overview_url(deal)}"' in page


# --- Walk-away ----------------------------------------------------------------


def test_saving_the_walkaway_shows_it_and_clears_it_from_the_checklist(
    rep_client, deal
):
    response = rep_client.post(
        section_url(deal, "walkaway"),
        {
            "version": "1",
            "batna": "Renew with Globex at list price",
            "reservation_point": "Three-year term at 92k a year",
            "reservation_value": "92000",
            "target_outcome": "Three years at 105k with a pilot",
            "sensitive_figures": "Unit cost: 61.40",
        },
        follow=True,
    )

    assert response.redirect_chain == [(section_url(deal, "walkaway"), 302)]
    assert "Walk-away saved." in html(response)
    prep = host_prep(deal)
    assert prep.batna == "Renew with Globex at list price"
    assert prep.sensitive_figures == "Unit cost: 61.40"
    assert prep.reservation_value == Decimal("92000")
    assert prep.version == 2
    overview = html(rep_client.get(overview_url(deal)))
    assert "Renew with Globex at list price" in overview
    assert "92,000" in overview
    assert "Still empty: BATNA" not in overview


def test_a_walkaway_figure_that_is_not_a_number_is_refused(rep_client, deal):
    response = rep_client.post(
        section_url(deal, "walkaway"),
        {"version": "1", "batna": "Keep the old vendor", "reservation_value": "abc"},
    )

    assert response.status_code == 422
    assert "Enter a number" in html(response)
    # The user's input is still in the form.
    assert "Keep the old vendor" in html(response)
    prep = host_prep(deal)
    assert prep.batna == ""
    assert prep.reservation_value is None
    assert prep.version == 1


def test_a_stale_walkaway_edit_shows_the_saved_values_and_overwrites_nothing(
    rep_client, deal, host_access
):
    # A colleague on the same side saves first.
    prep_services.preparation_update(
        access=host_access, section="walkaway", version=1, batna="Colleague's BATNA"
    )

    response = rep_client.post(
        section_url(deal, "walkaway"),
        {"version": "1", "batna": "My own BATNA"},
    )

    assert response.status_code == 422
    page = html(response)
    assert 'class="conflict"' in page
    assert "Someone saved a newer version" in page
    assert "Colleague&#x27;s BATNA" in page  # the value saved now
    assert "My own BATNA" in page  # the attempted value, still in the form
    assert host_prep(deal).batna == "Colleague's BATNA"
    # Saving again from the conflict page is a deliberate overwrite.
    assert response.context["form"]["version"].value() == "2"


def test_user_text_is_escaped(rep_client, deal, host_access):
    prep_services.preparation_update(
        access=host_access,
        section="walkaway",
        version=1,
        batna="<script>alert(1)</script>",
    )

    for url in (overview_url(deal), section_url(deal, "walkaway")):
        page = html(rep_client.get(url))
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- Counterparty map ---------------------------------------------------------


def test_saving_the_counterparty_map_shows_it(rep_client, deal):
    response = rep_client.post(
        section_url(deal, "counterparty"),
        {
            "version": "1",
            "their_constraints": "Budget frozen until Q3",
            "their_decision_path": "CFO signs above 50k",
            "their_pressures": "Audit finding on their current tool",
            "their_success": "A rollout they can show the board",
        },
    )

    assert response.status_code == 302
    assert host_prep(deal).their_decision_path == "CFO signs above 50k"
    overview = html(rep_client.get(overview_url(deal)))
    assert "CFO signs above 50k" in overview
    assert "Still empty: their constraints" not in overview


def reading(page: str, label: str) -> str:
    """The value a read-only summary shows under ``label``."""
    found = re.search(rf"<dt>{label}</dt>\s*<dd>(.*?)</dd>", page, re.S)
    assert found, label
    return found.group(1).strip()


def test_the_counterparty_map_records_how_they_communicate_and_decide(rep_client, deal):
    page = html(rep_client.get(section_url(deal, "counterparty")))
    assert 'name="their_style"' in page
    assert 'name="their_decisions"' in page

    response = rep_client.post(
        section_url(deal, "counterparty"),
        {
            "version": "1",
            "their_constraints": "Budget frozen until Q3",
            "their_style": "high_context",
            "their_decisions": "hierarchical",
        },
    )

    assert response.status_code == 302
    prep = host_prep(deal)
    assert (prep.their_style, prep.their_decisions) == ("high_context", "hierarchical")
    assert prep.their_constraints == "Budget frozen until Q3"
    page = html(rep_client.get(section_url(deal, "counterparty")))
    assert '<option value="high_context" selected>' in page
    assert '<option value="hierarchical" selected>' in page
    overview = html(rep_client.get(overview_url(deal)))
    assert reading(overview, "How they communicate") == "High-context"
    assert reading(overview, "How they decide") == "Hierarchical"


def test_an_unknown_culture_reading_is_refused_and_changes_nothing(rep_client, deal):
    response = rep_client.post(
        section_url(deal, "counterparty"),
        {
            "version": "1",
            "their_constraints": "Budget frozen until Q3",
            "their_style": "loud",
        },
    )

    assert response.status_code == 422
    assert "Select a valid choice" in html(response)
    assert "Budget frozen until Q3" in html(response)  # the input is kept
    prep = host_prep(deal)
    assert (prep.version, prep.their_style, prep.their_constraints) == (1, "", "")


def test_a_manager_sees_the_culture_reading_but_cannot_change_it(
    client, deal, host_access, manager
):
    prep_services.culture_set(access=host_access, version=1, their_style="direct")
    client.force_login(manager)
    manager_client = client

    page = html(manager_client.get(section_url(deal, "counterparty")))
    assert reading(page, "How they communicate") == "Direct"
    assert 'name="their_style"' not in page
    response = manager_client.post(
        section_url(deal, "counterparty"), {"version": "2", "their_style": ""}
    )
    assert response.status_code == 403
    assert host_prep(deal).their_style == "direct"


# --- Readiness check ----------------------------------------------------------


def test_a_ticked_readiness_flag_shows_the_recommendation(rep_client, deal):
    response = rep_client.post(
        section_url(deal, "readiness"),
        {"version": "1", "crisis_deadline": "on", "readiness_notes": "Go-live in 5d"},
    )
    assert response.status_code == 302

    prep = host_prep(deal)
    assert prep.crisis_deadline
    assert not prep.zero_sum_signals
    assert prep.readiness_reviewed_at is not None
    for url in (overview_url(deal), section_url(deal, "readiness")):
        page = html(rep_client.get(url))
        assert "Hold off on a collaborative session for now." in page
        assert "A deadline or crisis leaves no time to explore together." in page
        assert "Go-live in 5d" in page


def test_a_clear_readiness_check_says_good_to_go(rep_client, deal):
    rep_client.post(section_url(deal, "readiness"), {"version": "1"})

    page = html(rep_client.get(overview_url(deal)))
    assert "Good to go" in page
    assert "Hold off" not in page
    assert "review the readiness check" not in page


# --- Priority matrix ----------------------------------------------------------


def test_the_matrix_is_one_form_with_a_row_per_issue(rep_client, deal):
    page = html(rep_client.get(section_url(deal, "matrix")))

    assert page.count('<form method="post" action="') == 2  # the matrix, log out
    assert f'action="{section_url(deal, "matrix")}" id="matrix-form"' in page
    for issue in deal.issues.all():
        assert f'id="issue-{issue.pk}"' in page
        assert f'name="issue{issue.pk}_importance"' in page
        assert f'id="id_issue{issue.pk}_importance"' in page
    assert "5 · essential" in page
    assert page.count("Save the matrix") == 1


def matrix_post(deal: Deal, rows: dict[int, dict[str, str]]) -> dict[str, str]:
    """What the matrix form posts: every issue's row, edited or not."""
    data = {}
    for issue in deal.issues.all():
        entry = PriorityEntry.objects.filter(issue=issue).first()
        row = {
            "version": str(entry.version) if entry else "",
            "importance": str(entry.importance) if entry else "",
            "can_give": entry.can_give if entry else "",
            "want_get": entry.want_get if entry else "",
            "ideal_outcome": entry.ideal_outcome if entry else "",
        } | rows.get(issue.pk, {})
        data |= {f"issue{issue.pk}_{name}": value for name, value in row.items()}
    return data


def test_every_row_of_the_matrix_is_saved_by_one_post(rep_client, deal):
    IssueFactory(deal=deal, name="Onboarding", unit="", position=2)
    issues = list(deal.issues.all())
    edits = {
        issue.pk: {"importance": str(n), "want_get": f"Ask {n} on {issue.name}"}
        for n, issue in enumerate(issues[:3], start=3)
    }

    response = rep_client.post(section_url(deal, "matrix"), matrix_post(deal, edits))

    assert response.status_code == 302
    assert response["Location"] == section_url(deal, "matrix")
    saved = {
        e.issue_id: (e.importance, e.want_get) for e in PriorityEntry.objects.all()
    }
    assert saved == {
        pk: (int(edit["importance"]), edit["want_get"]) for pk, edit in edits.items()
    }
    page = html(rep_client.get(section_url(deal, "matrix")))
    assert all(edit["want_get"] in page for edit in edits.values())


def test_an_unchanged_row_is_not_saved_again(rep_client, deal, host_access):
    first, second = deal.issues.all()[:2]
    prep_services.priority_set(
        access=host_access, issue_id=first.pk, version=None, importance=2
    )

    response = rep_client.post(
        section_url(deal, "matrix"),
        matrix_post(deal, {second.pk: {"importance": "4"}}),
    )

    assert response.status_code == 302
    assert PriorityEntry.objects.get(issue=first).version == 1
    assert PriorityEntry.objects.get(issue=second).importance == 4


def test_one_bad_row_saves_no_row_and_keeps_every_row_typed(rep_client, deal):
    IssueFactory(deal=deal, name="Onboarding", unit="", position=2)
    first, second, third = deal.issues.all()

    response = rep_client.post(
        section_url(deal, "matrix"),
        matrix_post(
            deal,
            {
                first.pk: {"importance": "5", "can_give": "Kept as typed one"},
                second.pk: {"importance": "9", "can_give": "Kept as typed two"},
                third.pk: {"importance": "2", "can_give": "Kept as typed three"},
            },
        ),
    )

    assert response.status_code == 422
    page = html(response)
    assert "Choose an importance from 1 (nice to have) to 5 (essential)." in page
    assert all(f"Kept as typed {n}" in page for n in ("one", "two", "three"))
    assert not PriorityEntry.objects.exists()


def test_a_row_changed_meanwhile_saves_no_row(rep_client, deal, host_access):
    first, second = deal.issues.all()[:2]
    edits = matrix_post(
        deal,
        {
            first.pk: {"importance": "5"},
            second.pk: {"importance": "3", "want_get": "Mine"},
        },
    )
    prep_services.priority_set(
        access=host_access, issue_id=second.pk, version=None, importance=1
    )

    response = rep_client.post(section_url(deal, "matrix"), edits)

    assert response.status_code == 422
    assert 'class="conflict"' in html(response)
    assert "Mine" in html(response)
    assert not PriorityEntry.objects.filter(issue=first).exists()
    assert PriorityEntry.objects.get(issue=second).importance == 1


def test_saving_a_matrix_row_creates_then_updates_it(rep_client, deal):
    issue = deal.issues.get(name="Price")
    url = reverse("negotiation:prep-priority", args=[deal.pk, issue.pk])

    response = rep_client.post(
        url,
        {
            "version": "",
            "importance": "5",
            "can_give": "A longer term",
            "want_get": "Upfront payment",
            "ideal_outcome": "105k",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"{section_url(deal, 'matrix')}#issue-{issue.pk}"
    entry = PriorityEntry.objects.get(issue=issue)
    assert (entry.importance, entry.version) == (5, 1)

    response = rep_client.post(url, {"version": "1", "importance": "4"})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.importance, entry.version, entry.can_give) == (4, 2, "")
    page = html(rep_client.get(section_url(deal, "matrix")))
    assert "Importance 4 / 5" in page
    assert '<option value="4" selected>' in page
    assert (
        f'name="issue{issue.pk}_version" value="2" id="id_issue{issue.pk}_version"'
        in (page)
    )


def test_an_importance_outside_the_scale_is_refused(rep_client, deal):
    issue = deal.issues.first()

    response = rep_client.post(
        reverse("negotiation:prep-priority", args=[deal.pk, issue.pk]),
        {"version": "", "importance": "9", "can_give": "Anything"},
    )

    assert response.status_code == 422
    assert "Choose an importance from 1 (nice to have) to 5 (essential)." in html(
        response
    )
    assert "Anything" in html(response)
    assert not PriorityEntry.objects.exists()


def test_a_matrix_row_created_meanwhile_is_a_conflict(rep_client, deal, host_access):
    issue = deal.issues.first()
    prep_services.priority_set(
        access=host_access, issue_id=issue.pk, version=None, importance=2
    )

    response = rep_client.post(
        reverse("negotiation:prep-priority", args=[deal.pk, issue.pk]),
        {"version": "", "importance": "5", "want_get": "Mine"},
    )

    assert response.status_code == 422
    page = html(response)
    assert 'class="conflict"' in page
    assert "2 · useful" in page  # what is saved now
    assert "Mine" in page
    entry = PriorityEntry.objects.get(issue=issue)
    assert (entry.importance, entry.want_get, entry.version) == (2, "", 1)


def test_saving_again_after_a_conflict_is_a_deliberate_overwrite(
    rep_client, deal, host_access
):
    issue = deal.issues.first()
    prep_services.priority_set(
        access=host_access, issue_id=issue.pk, version=None, importance=2
    )
    url = reverse("negotiation:prep-priority", args=[deal.pk, issue.pk])
    conflict = rep_client.post(url, {"version": "", "importance": "5"})
    assert conflict.status_code == 422

    # The form came back carrying the current version: submitting it again saves.
    form = conflict.context["rows"][0].form
    response = rep_client.post(
        url, {"version": form["version"].value(), "importance": "5"}
    )

    assert response.status_code == 302
    entry = PriorityEntry.objects.get(issue=issue)
    assert (entry.importance, entry.version) == (5, 2)


def test_a_matrix_row_of_an_issue_of_another_deal_is_not_found(
    rep_client, deal, other_deal
):
    foreign_issue = other_deal.issues.get()

    response = rep_client.post(
        reverse("negotiation:prep-priority", args=[deal.pk, foreign_issue.pk]),
        {"version": "", "importance": "3"},
    )

    assert response.status_code == 404
    assert not PriorityEntry.objects.exists()


def test_the_matrix_page_runs_a_fixed_number_of_queries(
    rep_client, deal, django_assert_max_num_queries
):
    url = section_url(deal, "matrix")
    rep_client.get(url)  # warm up: session, user
    with django_assert_max_num_queries(20) as few:
        rep_client.get(url)
    for position in range(2, 10):
        IssueFactory(deal=deal, position=position)
    with django_assert_max_num_queries(len(few.captured_queries)):
        rep_client.get(url)


# --- Anchor worksheet ---------------------------------------------------------


def test_the_anchor_worksheet_is_one_form_with_a_row_per_issue(rep_client, deal):
    page = html(rep_client.get(section_url(deal, "anchors")))

    assert page.count('<form method="post" action="') == 2  # the sheet, log out
    assert f'action="{section_url(deal, "anchors")}" id="anchors-form"' in page
    assert "data-unsaved-guard" in page
    for issue in deal.issues.all():
        assert f'id="issue-{issue.pk}"' in page
        for name in ("version", "low", "high", "opening_position", "benchmark"):
            assert f'name="issue{issue.pk}_{name}"' in page
    assert page.count("Save the worksheet") == 1


def anchors_post(deal: Deal, rows: dict[int, dict[str, str]]) -> dict[str, str]:
    """What the anchor worksheet posts: every issue's row, edited or not."""
    data = {}
    for issue in deal.issues.all():
        entry = AnchorEntry.objects.filter(issue=issue).first()
        row = {
            "version": str(entry.version) if entry else "",
            "low": "" if entry is None or entry.low is None else str(entry.low),
            "high": "" if entry is None or entry.high is None else str(entry.high),
            "opening_position": entry.opening_position if entry else "",
            "benchmark": entry.benchmark if entry else "",
        } | rows.get(issue.pk, {})
        data |= {f"issue{issue.pk}_{name}": value for name, value in row.items()}
    return data


def test_every_row_of_the_anchor_worksheet_is_saved_by_one_post(
    rep_client, deal, host_access
):
    IssueFactory(deal=deal, name="Onboarding", unit="", position=2)
    price, terms, onboarding = deal.issues.all()
    kept = prep_services.anchor_set(
        access=host_access, issue_id=onboarding.pk, version=None, low=1, high=2
    )
    edits = {
        price.pk: {"low": "98000", "high": "115000", "benchmark": "Median, 200 seats"},
        terms.pk: {"low": "30", "high": "45", "opening_position": "30 days net"},
    }

    response = rep_client.post(section_url(deal, "anchors"), anchors_post(deal, edits))

    assert response.status_code == 302
    assert response["Location"] == section_url(deal, "anchors")
    saved = {e.issue_id: (e.low, e.high) for e in AnchorEntry.objects.all()}
    assert saved == {
        price.pk: (Decimal("98000"), Decimal("115000")),
        terms.pk: (Decimal("30"), Decimal("45")),
        onboarding.pk: (Decimal("1"), Decimal("2")),
    }
    # The row nobody changed was not saved again.
    assert AnchorEntry.objects.get(pk=kept.pk).version == kept.version
    page = html(rep_client.get(section_url(deal, "anchors")))
    assert "98,000 \u2013 115,000 EUR" in page
    assert "Median, 200 seats" in page


def test_one_bad_anchor_row_saves_no_row_and_shows_its_error_by_it(rep_client, deal):
    IssueFactory(deal=deal, name="Onboarding", unit="", position=2)
    price, terms, onboarding = deal.issues.all()

    response = rep_client.post(
        section_url(deal, "anchors"),
        anchors_post(
            deal,
            {
                price.pk: {"low": "98000", "high": "115000", "benchmark": "Typed one"},
                terms.pk: {"low": "60", "high": "30", "benchmark": "Typed two"},
                onboarding.pk: {"low": "lots", "benchmark": "Typed three"},
            },
        ),
    )

    assert response.status_code == 422
    assert not AnchorEntry.objects.exists()
    page = html(response)
    assert all(f"Typed {n}" in page for n in ("one", "two", "three"))

    def row(issue) -> str:
        start = page.index(
            f'<article class="card private issue-row" id="issue-{issue.pk}"'
        )
        return page[start : page.index("</article>", start)]

    assert "The high end must not be below the low end" in row(terms)
    assert "The high end must not be below the low end" not in row(price)
    assert "The high end must not be below the low end" not in row(onboarding)
    assert "has-error" in row(onboarding)
    assert "has-error" not in row(price)


def test_an_anchor_row_changed_meanwhile_saves_no_row(rep_client, deal, host_access):
    price, terms = deal.issues.all()[:2]
    edits = anchors_post(
        deal,
        {price.pk: {"low": "1", "high": "2"}, terms.pk: {"low": "30", "high": "45"}},
    )
    prep_services.anchor_set(
        access=host_access, issue_id=terms.pk, version=None, low=10, high=20
    )

    response = rep_client.post(section_url(deal, "anchors"), edits)

    assert response.status_code == 422
    assert 'class="conflict"' in html(response)
    assert not AnchorEntry.objects.filter(issue=price).exists()
    assert AnchorEntry.objects.get(issue=terms).high == 20


def test_saving_an_anchor_shows_the_range(rep_client, deal):
    issue = deal.issues.get(name="Price")

    response = rep_client.post(
        reverse("negotiation:prep-anchor", args=[deal.pk, issue.pk]),
        {
            "version": "",
            "low": "98000",
            "high": "115000",
            "opening_position": "115k for three years",
            "benchmark": "Gartner median for 200 seats",
        },
    )

    assert response.status_code == 302
    entry = AnchorEntry.objects.get(issue=issue)
    assert (entry.low, entry.high) == (Decimal("98000"), Decimal("115000"))
    for url in (overview_url(deal), section_url(deal, "anchors")):
        page = html(rep_client.get(url))
        assert "98,000 \u2013 115,000 EUR" in page
        assert "Gartner median for 200 seats" in page


def test_an_anchor_with_low_above_high_is_refused(rep_client, deal):
    issue = deal.issues.first()

    response = rep_client.post(
        reverse("negotiation:prep-anchor", args=[deal.pk, issue.pk]),
        {"version": "", "low": "200", "high": "100"},
    )

    assert response.status_code == 422
    assert "The high end must not be below the low end" in html(response)
    assert not AnchorEntry.objects.exists()


def test_a_stale_anchor_edit_changes_nothing(rep_client, deal, host_access):
    issue = deal.issues.first()
    anchor = prep_services.anchor_set(
        access=host_access, issue_id=issue.pk, version=None, low=10, high=20
    )
    prep_services.anchor_set(
        access=host_access, issue_id=issue.pk, version=anchor.version, low=11, high=21
    )

    response = rep_client.post(
        reverse("negotiation:prep-anchor", args=[deal.pk, issue.pk]),
        {"version": "1", "low": "50", "high": "60"},
    )

    assert response.status_code == 422
    assert 'class="conflict"' in html(response)
    anchor.refresh_from_db()
    assert (anchor.low, anchor.high, anchor.version) == (11, 21, 2)


# --- Evidence pack ------------------------------------------------------------


def test_adding_and_deleting_evidence(rep_client, deal):
    response = rep_client.post(
        reverse("negotiation:prep-evidence-add", args=[deal.pk]),
        {
            "kind": "roi",
            "title": "Payback in 7 months",
            "detail": "Based on 3 sites",
            "url": "https://example.com/roi",
        },
        follow=True,
    )

    assert response.redirect_chain == [(section_url(deal, "evidence"), 302)]
    page = html(response)
    assert "Payback in 7 months" in page
    assert '<a href="https://example.com/roi" rel="noopener noreferrer"' in page
    item = EvidenceItem.objects.get(title="Payback in 7 months")
    assert item.kind == EvidenceItem.Kind.ROI

    response = rep_client.post(
        reverse("negotiation:prep-evidence-delete", args=[deal.pk, item.pk])
    )
    assert response.status_code == 302
    assert not EvidenceItem.objects.filter(pk=item.pk).exists()


def test_evidence_can_be_marked_internal_only(rep_client, deal):
    response = rep_client.post(
        reverse("negotiation:prep-evidence-add", args=[deal.pk]),
        {
            "kind": "roi",
            "title": "Our cost per site",
            "detail": "EUR 23,400 in field hours",
            "internal": "on",
        },
        follow=True,
    )

    assert response.redirect_chain == [(section_url(deal, "evidence"), 302)]
    assert EvidenceItem.objects.get(title="Our cost per site").internal
    assert "internal only" in html(response)
    rep_client.post(
        reverse("negotiation:prep-evidence-add", args=[deal.pk]),
        {"kind": "benchmark", "title": "Peer prices"},
    )
    assert not EvidenceItem.objects.get(title="Peer prices").internal


def test_evidence_with_a_bad_link_is_refused(rep_client, deal):
    response = rep_client.post(
        reverse("negotiation:prep-evidence-add", args=[deal.pk]),
        {"kind": "case", "title": "Globex case", "url": "not a url"},
    )

    assert response.status_code == 422
    assert "Enter a full web address" in html(response)
    assert "Globex case" in html(response)
    assert not EvidenceItem.objects.exists()


def test_a_javascript_link_is_refused(rep_client, deal):
    response = rep_client.post(
        reverse("negotiation:prep-evidence-add", args=[deal.pk]),
        {"kind": "case", "title": "Trap", "url": "javascript:alert(1)"},
    )

    assert response.status_code == 422
    assert not EvidenceItem.objects.exists()


def test_the_other_sides_evidence_cannot_be_deleted(
    rep_client, deal, counterpart_secrets
):
    theirs = EvidenceItem.objects.get(party__side="counterpart")

    response = rep_client.post(
        reverse("negotiation:prep-evidence-delete", args=[deal.pk, theirs.pk]),
        follow=True,
    )

    assert "not in your evidence pack" in html(response)
    assert EvidenceItem.objects.filter(pk=theirs.pk).exists()


# --- Routing ------------------------------------------------------------------


def test_an_unknown_section_is_not_found(rep_client, deal):
    assert rep_client.get(section_url(deal, "secrets")).status_code == 404
    assert rep_client.post(section_url(deal, "secrets")).status_code == 404


def test_the_evidence_page_takes_no_post_of_its_own(rep_client, deal):
    assert rep_client.post(section_url(deal, "evidence")).status_code == 405


@pytest.mark.parametrize("section", ["matrix", "anchors"])
def test_posting_a_one_form_page_unchanged_saves_nothing(rep_client, deal, section):
    response = rep_client.post(section_url(deal, section), follow=True)

    assert "Nothing had changed." in html(response)
    assert not PriorityEntry.objects.exists()
    assert not AnchorEntry.objects.exists()


# --- Who may reach the pages --------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(
    client, deal, prep_get_urls, prep_post_requests
):
    for url in prep_get_urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))
    for url, data in prep_post_requests:
        response = client.post(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))
    assert host_prep(deal).version == 1


@pytest.mark.parametrize("who", ["rep of another team", "manager of another team"])
def test_outsiders_get_not_found_everywhere(
    client, deal, prep_get_urls, prep_post_requests, who
):
    role = "manager" if who.startswith("manager") else "rep"
    client.force_login(MembershipFactory(role=role).user)

    for url in prep_get_urls:
        assert client.get(url).status_code == 404, url
    for url, data in prep_post_requests:
        assert client.post(url, data).status_code == 404, url
    assert host_prep(deal).version == 1
    assert EvidenceItem.objects.count() == 1


def test_a_colleague_on_the_same_team_gets_not_found(client, deal, prep_get_urls):
    client.force_login(MembershipFactory(team=deal.team).user)

    for url in prep_get_urls:
        assert client.get(url).status_code == 404, url


def test_the_teams_manager_reviews_the_host_side_read_only(
    client, deal, manager, host_access, prep_get_urls
):
    prep_services.preparation_update(
        access=host_access, section="walkaway", version=1, batna="Host BATNA text"
    )
    client.force_login(manager)

    for url in prep_get_urls:
        response = client.get(url)
        assert response.status_code == 200, url
        page = html(response)
        assert "Read-only review" in page
        assert "Only your side sees this" in page
        assert '<form method="post" action="/deals/' not in page
    walkaway = html(client.get(section_url(deal, "walkaway")))
    assert "Host BATNA text" in walkaway


def test_the_teams_manager_cannot_write(
    client, deal, manager, prep_post_requests, host_evidence
):
    client.force_login(manager)

    for url, data in prep_post_requests:
        assert client.post(url, data).status_code == 403, url
    # Invalid input is refused the same way, before it is even looked at.
    bad = {"version": "1", "reservation_value": "abc"}
    assert client.post(section_url(deal, "walkaway"), bad).status_code == 403
    prep = host_prep(deal)
    assert (prep.version, prep.batna, prep.crisis_deadline) == (1, "", False)
    assert not PriorityEntry.objects.exists()
    assert not AnchorEntry.objects.exists()
    assert list(EvidenceItem.objects.all()) == [host_evidence]
    assert not Scoring.objects.exists()


def test_a_closed_deal_is_read_only_for_its_rep(
    rep_client, deal, closed_deal_access, prep_get_urls, prep_post_requests
):
    for url in prep_get_urls:
        page = html(rep_client.get(url))
        assert "This deal is closed (No deal)" in page
    for url, data in prep_post_requests:
        assert rep_client.post(url, data).status_code == 403, url
    assert host_prep(deal).version == 1


@pytest.mark.parametrize("viewer", ["host rep", "team manager"])
def test_the_counterpart_sides_preparation_never_appears(
    client, deal, rep, manager, counterpart_secrets, prep_get_urls, viewer
):
    client.force_login(rep if viewer == "host rep" else manager)

    for url in prep_get_urls:
        page = html(client.get(url))
        for secret in counterpart_secrets:
            assert secret not in page, url
    # The counterpart's ticked readiness flag does not colour the host's verdict.
    assert "Hold off" not in html(client.get(overview_url(deal)))


def test_the_counterpart_sides_preparation_never_appears_after_a_failed_post(
    rep_client, deal, counterpart_secrets
):
    issue = deal.issues.first()
    responses = [
        rep_client.post(section_url(deal, "walkaway"), {"reservation_value": "x"}),
        rep_client.post(
            reverse("negotiation:prep-priority", args=[deal.pk, issue.pk]),
            {"importance": "9"},
        ),
        rep_client.post(
            reverse("negotiation:prep-anchor", args=[deal.pk, issue.pk]),
            {"low": "2", "high": "1"},
        ),
    ]
    for response in responses:
        assert response.status_code == 422
        for secret in counterpart_secrets:
            assert secret not in html(response)


def test_a_participant_who_is_not_the_owner_prepares_too(client, deal):
    colleague = UserFactory()
    MembershipFactory(team=deal.team, user=colleague)
    deal.parties.get(side="host").participants.create(
        user=colleague, display_name="Colleague"
    )
    client.force_login(colleague)

    response = client.post(
        section_url(deal, "walkaway"), {"version": "1", "batna": "Theirs too"}
    )

    assert response.status_code == 302
    assert host_prep(deal).batna == "Theirs too"
