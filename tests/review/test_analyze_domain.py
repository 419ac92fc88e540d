"""manage.py analyze_domain: a GENIUS negotiation's frontier and Nash point."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

FILES = Path(__file__).parent.parent / "negotiation" / "genius"
DOMAIN = FILES / "catering_domain.xml"
HOST = FILES / "catering_host.xml"
GUEST = FILES / "catering_guest.xml"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("analyze_domain", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_one_json_object_with_the_frontier_and_nash():
    report = json.loads(run(str(DOMAIN), str(HOST), str(GUEST), "--json"))
    assert set(report) == {"issues", "outcomes", "frontier", "nash", "seconds"}
    assert report["issues"][0] == {
        "name": "Menu",
        "values": ["Buffet", "Seated", "Finger food"],
    }
    assert report["outcomes"] == 18
    utilities = [point["utilities"] for point in report["frontier"]]
    assert [u[0] for u in utilities] == sorted(u[0] for u in utilities)
    assert utilities[0] == [0.125, 1.0]
    assert report["frontier"][0]["outcome"] == {
        "Menu": "Seated",
        "Payment": "Net 30",
        "Staff": "6",
    }
    assert report["nash"] == {
        "outcome": {"Menu": "Buffet", "Payment": "Net 30", "Staff": "2"},
        "utilities": [0.7, 0.64],
    }
    assert report["nash"] in report["frontier"]
    assert report["seconds"] >= 0


def test_the_command_says_when_there_is_no_zopa(tmp_path):
    # Only Buffet, Upfront reaches 1 for this side; the guest then gets at
    # most 0.39, below the 0.5 it now asks for.
    host_text = HOST.read_text(encoding="utf-8").replace(
        '<reservation value="0.4"/>', '<reservation value="1"/>'
    )
    demanding = write(tmp_path, "demanding.xml", host_text)
    guest_text = GUEST.read_text(encoding="utf-8").replace(
        "</utility_space>", '<reservation value="0.5"/></utility_space>'
    )
    guest = write(tmp_path, "guest.xml", guest_text)
    report = json.loads(run(str(DOMAIN), str(demanding), str(guest), "--json"))
    assert report["nash"] is None
    assert report["frontier"]
    assert "no ZOPA" in run(str(DOMAIN), str(demanding), str(guest))


def test_the_command_summarises_for_people_without_json():
    text = run(str(DOMAIN), str(HOST), str(GUEST))
    assert "18 packages, 8 on the Pareto frontier" in text
    assert "Nash point: Menu: Buffet, Payment: Net 30, Staff: 2" in text


def test_a_bad_file_is_a_command_error_not_a_traceback(tmp_path):
    broken = write(tmp_path, "broken.xml", "<utility_space><issue")
    with pytest.raises(
        CommandError, match=re.escape("broken.xml is not well-formed XML")
    ):
        run(str(DOMAIN), str(broken), str(GUEST))
    with pytest.raises(CommandError, match=re.escape("missing.xml: no such file")):
        run(str(DOMAIN), str(tmp_path / "missing.xml"), str(GUEST))
