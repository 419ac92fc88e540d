"""The tradeables library keeps its API for the issue-mapping page, and staff
edits in the admin reach the suggestions."""

from decimal import Decimal

import pytest
from django.urls import reverse

from playbooks.models import TradeableItem
from playbooks.tradeables import file_library, library, suggestions_for

pytestmark = pytest.mark.django_db


def test_the_loaded_library_matches_the_shipped_file(content):
    assert library() == file_library()
    payment = next(t for t in library() if t.key == "payment-terms")
    assert (payment.range_min, payment.range_max) == (Decimal(0), Decimal(120))
    assert payment.form_initial()["unit"] == "days"


def test_without_loaded_rows_the_library_falls_back_to_the_file(db):
    TradeableItem.objects.all().delete()
    assert library() == file_library()
    assert len(library()) > 10


def test_a_staff_edit_reaches_the_issue_page_suggestions(rep_client, deal, content):
    TradeableItem.objects.filter(key="pilot-phase").update(title="Paid pilot")
    page = rep_client.get(reverse("negotiation:issue-list", args=[deal.pk]))
    assert b"+ Paid pilot" in page.content


def test_suggestions_skip_issues_on_the_agenda_and_put_the_context_first(deal, content):
    suggestions = suggestions_for(deal.issues.all(), "hiring")
    names = [t.name for t in suggestions]
    assert "Price" not in names
    assert "Payment terms" not in names
    assert "hiring" in suggestions[0].contexts
