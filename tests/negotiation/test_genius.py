"""Reading GENIUS domains and additive profiles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from negotiation.scoring.genius import (
    GeniusError,
    read_domain,
    read_negotiation,
    read_profile,
)
from negotiation.scoring.profiles import package_utility

FILES = Path(__file__).parent / "genius"
DOMAIN = FILES / "catering_domain.xml"
HOST = FILES / "catering_host.xml"
GUEST = FILES / "catering_guest.xml"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def profile_xml(weights: str = "", reservation: str = "", menu_items: str = "") -> str:
    items = menu_items or (
        '<item value="Buffet" evaluation="1"/><item value="Seated" evaluation="0"/>'
        '<item value="Finger food" evaluation="0.5"/>'
    )
    return f"""<utility_space><objective index="0" name="Catering">
      <issue index="1" name="Menu" type="discrete">{items}</issue>
      <issue index="2" name="Payment" type="discrete">
        <item value="Upfront" evaluation="1"/><item value="Net 30" evaluation="0"/>
      </issue>
      <issue index="3" name="Staff" type="discrete">
        <item value="2" evaluation="1"/><item value="4" evaluation="1"/>
        <item value="6" evaluation="1"/>
      </issue>
      {
        weights
        or '<weight index="1" value="0.5"/><weight index="2" value="0.5"/>'
        '<weight index="3" value="0"/>'
    }
    </objective>{reservation}</utility_space>"""


# --- reading ---------------------------------------------------------------------


def test_the_domain_lists_its_discrete_issues_and_values_in_order():
    domain = read_domain(DOMAIN)
    assert domain.names == ("Menu", "Payment", "Staff")
    assert domain.issues[0].values == ("Buffet", "Seated", "Finger food")
    assert domain.outcomes == 3 * 2 * 3


def test_a_profile_is_genius_additive_utility_with_its_reservation():
    domain = read_domain(DOMAIN)
    host = read_profile(HOST, domain)
    package = {"Menu": "Finger food", "Payment": "Upfront", "Staff": "4"}
    # 0.5 × 0.5 + 0.3 × 1 + 0.2 × 0.5
    assert package_utility(host, package) == pytest.approx(0.65)
    assert float(host.reservation) == 0.4


def test_weights_anywhere_are_scaled_to_one_and_evaluations_by_the_highest():
    domain = read_domain(DOMAIN)
    guest = read_profile(GUEST, domain)
    # Weights 0.4 (inside the issue), 1.2 (attribute), 0.4 (beside): 0.2, 0.6,
    # 0.2. Evaluations ÷ the issue's highest: Seated 10/10, Net 30 4/4, 4 → 4/8.
    package = {"Menu": "Seated", "Payment": "Net 30", "Staff": "4"}
    assert package_utility(guest, package) == pytest.approx(0.2 + 0.6 + 0.1)
    assert guest.reservation == 0
    assert sum(scoring.weight for scoring in guest.scorings) == 1


def test_the_nash_point_of_the_test_domain():
    from negotiation.scoring.frontier import nash_point

    _, host, guest = read_negotiation(DOMAIN, HOST, GUEST)
    nash = nash_point(host, guest)
    assert nash.outcome == {"Menu": "Buffet", "Payment": "Net 30", "Staff": "2"}
    assert nash.utilities == pytest.approx((0.7, 0.64))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<utility_space><issue", "not well-formed XML"),
        ("<utility_space/>", "holds no issue"),
        (
            '<utility_space><issue name="Price" type="real"/></utility_space>',
            "only discrete issues",
        ),
        ('<utility_space><issue name="Menu"/></utility_space>', "has no values"),
        (
            '<utility_space><issue name="Menu"><item value="A"/><item value="A"/>'
            "</issue></utility_space>",
            "lists a value twice",
        ),
        (
            '<!DOCTYPE x [<!ENTITY a "aaaa">]><utility_space>&a;</utility_space>',
            "refused for safety",
        ),
    ],
)
def test_a_malformed_domain_is_refused_with_a_reason(tmp_path, text, message):
    with pytest.raises(GeniusError, match=re.escape(message)):
        read_domain(write(tmp_path, "domain.xml", text))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weights": '<weight index="1" value="1"/>'}, "no weight for Payment, Staff"),
        (
            {"weights": '<weight index="9" value="1"/>'},
            "refers to issue 9, which is not there",
        ),
        ({"weights": '<weight index="1" value="heavy"/>'}, "not a number"),
        (
            {
                "weights": '<weight index="1" value="0"/><weight index="2" value="0"/>'
                '<weight index="3" value="0"/>'
            },
            "add up to 0",
        ),
        ({"reservation": '<reservation value="1.5"/>'}, "above 1"),
        ({"menu_items": '<item value="Buffet" evaluation="1"/>'}, "no evaluation for"),
        (
            {"menu_items": '<item value="Picnic" evaluation="1"/>'},
            "“Picnic” is not a value of “Menu”",
        ),
        (
            {"menu_items": '<item value="Buffet"/>'},
            "evaluation of “Buffet” is “None”, not a number",
        ),
    ],
)
def test_a_malformed_profile_is_refused_with_a_reason(tmp_path, kwargs, message):
    domain = read_domain(DOMAIN)
    with pytest.raises(GeniusError, match=re.escape(message)):
        read_profile(write(tmp_path, "profile.xml", profile_xml(**kwargs)), domain)


def test_a_profile_for_other_issues_is_refused(tmp_path):
    other = (
        '<utility_space><issue name="Price"><item value="1"/></issue></utility_space>'
    )
    domain = read_domain(write(tmp_path, "other.xml", other))
    with pytest.raises(GeniusError, match="missing Price; not in the domain: Menu"):
        read_profile(HOST, domain)


def test_a_well_formed_minimal_profile_reads(tmp_path):
    domain = read_domain(DOMAIN)
    profile = read_profile(write(tmp_path, "ok.xml", profile_xml()), domain)
    assert profile.reservation == 0
    assert package_utility(
        profile, {"Menu": "Buffet", "Payment": "Upfront", "Staff": "6"}
    ) == pytest.approx(1.0)
