"""manage.py import_genius: a practice deal with both sides' scoring, from a
GENIUS case, that the app then analyses as GENIUS does."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from negotiation.models import Deal, Issue, Scoring
from negotiation.scoring.frontier import frontier_of
from negotiation.scoring.joint import domain_for, profile_for
from negotiation.selectors import analysis_agenda, side_scoring

pytestmark = pytest.mark.django_db

FILES = Path(__file__).parent / "genius"
CASE = [str(FILES / f"catering_{name}.xml") for name in ("domain", "host", "guest")]


def import_case(rep, *extra: str) -> Deal:
    out = io.StringIO()
    call_command("import_genius", *CASE, "--owner", rep.username, *extra, stdout=out)
    assert "with 3 issues and both sides' scoring" in out.getvalue()
    return Deal.objects.get(owner=rep)


def test_the_case_becomes_a_deal_with_both_sides_scoring(rep):
    deal = import_case(rep, "--title", "Catering practice")

    assert deal.title == "Catering practice"
    issues = list(deal.issues.all())
    assert [(i.name, i.kind) for i in issues] == [
        ("Menu", Issue.Kind.OPTIONS),
        ("Payment", Issue.Kind.OPTIONS),
        ("Staff", Issue.Kind.OPTIONS),
    ]
    host = Scoring.objects.get(party__deal=deal, party__side="host")
    assert host.reservation_score == Decimal("40.00")
    rows = {s.issue.name: s for s in host.issue_scores.select_related("issue")}
    assert [rows[name].weight for name in ("Menu", "Payment", "Staff")] == [50, 30, 20]
    assert rows["Menu"].ratings == {"Buffet": 100, "Seated": 25, "Finger food": 50}
    assert Scoring.objects.filter(party__deal=deal, party__side="counterpart").exists()


def test_the_app_finds_the_nash_point_genius_analysis_finds(rep):
    deal = import_case(rep)
    out = io.StringIO()
    call_command("analyze_domain", *CASE, "--json", stdout=out)
    genius_nash = json.loads(out.getvalue())["nash"]["outcome"]

    issues = list(deal.issues.all())
    parties = {p.side: p for p in deal.parties.all()}
    agenda = analysis_agenda(issues)
    mine = side_scoring(parties["host"], issues)
    theirs = side_scoring(parties["counterpart"], issues)
    domain = domain_for(agenda, (mine, theirs))
    frontier = frontier_of(
        profile_for(domain, agenda, mine), profile_for(domain, agenda, theirs)
    )
    nash = frontier.point(frontier.nash).outcome
    names = {str(issue.pk): issue.name for issue in issues}

    assert {names[pk]: value for pk, value in nash.items()} == genius_nash


def test_bad_input_is_refused_with_a_clear_error(rep, tmp_path):
    with pytest.raises(CommandError, match="no user"):
        call_command("import_genius", *CASE, "--owner", "nobody")
    broken = tmp_path / "broken.xml"
    broken.write_text("<utility_space><objective>", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command(
            "import_genius", CASE[0], str(broken), CASE[2], "--owner", rep.username
        )
    assert not Deal.objects.exists()
