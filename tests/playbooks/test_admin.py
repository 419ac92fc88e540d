"""Staff edit every piece of content in the admin, and the loader respects it."""

import pytest
from django.apps import apps
from django.urls import reverse

from playbooks.loader import KINDS, load_content
from playbooks.models import ScenarioCard, Stage, TeamPlay
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MODELS = [kind.model.lower() for kind in KINDS] + ["teamplay", "contentfile"]


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("model", MODELS)
def test_changelist_and_change_pages_open(staff_client, content, play, model):
    changelist = staff_client.get(reverse(f"admin:playbooks_{model}_changelist"))
    assert changelist.status_code == 200
    row = apps.get_model("playbooks", model).objects.first()
    change = staff_client.get(reverse(f"admin:playbooks_{model}_change", args=[row.pk]))
    assert change.status_code == 200


def test_a_stage_edited_in_the_admin_is_kept_by_the_next_load(staff_client, content):
    stage = Stage.objects.get(key="close")
    url = reverse("admin:playbooks_stage_change", args=[stage.pk])
    form = staff_client.get(url).context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data.update(
        reference="",
        # Browsers send textareas with CRLF line ends; that alone is no edit.
        actions=stage.actions.replace("\n", "\r\n"),
        safeguard="Staff wrote this safeguard.",
    )
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    load_content(force=False)
    stage.refresh_from_db()
    assert stage.safeguard == "Staff wrote this safeguard."
    changelist = staff_client.get(reverse("admin:playbooks_stage_changelist"))
    assert b'alt="True"' in changelist.content  # the "edited here" column


def test_a_scenario_with_a_broken_practice_deal_cannot_be_saved(staff_client, content):
    scenario = ScenarioCard.objects.get(key="saas-renewal")
    url = reverse("admin:playbooks_scenariocard_change", args=[scenario.pk])
    form = staff_client.get(url).context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data["practice"] = '{"issues": []}'
    response = staff_client.post(url, data)
    assert response.status_code == 200
    assert b"List at least one issue." in response.content


def test_team_plays_are_visible_to_staff_for_support(staff_client, play):
    page = staff_client.get(reverse("admin:playbooks_teamplay_changelist"))
    assert play.title.encode() in page.content
    assert TeamPlay.objects.count() == 1
