"""The demo team's past: a dozen deals closed over the last six months.

Each deal is played through the room's real services by both sides (the
rep's and a guest's access), coached by the real detectors after each action,
reviewed afterwards, and then backdated (``demo_clock``). So the dashboard's
charts, the reviews, the replay and the lessons library show what the product
would show after half a year of use.

A deal is a ``PastDeal``: who, when, how it ended, and a few switches (a gift
given for nothing, a vague commitment, a commitment now overdue, a run of
declined trades) on top of the script of its context (``Script``), so every
context plays its own issues and words.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from negotiation.access import DealAccess, deal_access_for_user
from negotiation.models import Deal, Issue, Participant, Party, Team
from negotiation.services import deals as deal_services
from negotiation.services import preparation as prep_services
from review import services as review_services
from review.management.demo_clock import DemoClock, backdate
from room import services as room
from room.models import Commitment, TermSheetEntry

Stage = Deal.Stage
Side = Party.Side
# One seed for the whole history: the same demo on every machine.
RANDOM_SEED = 14


@dataclass(frozen=True)
class Script:
    """What deals of one context negotiate about, and the words they use.

    Issue 0 is the money issue; its values are scaled per deal. ``host`` and
    ``guest`` map a numeric issue to (walk-away, target) before scaling (the
    money issue) or as they are (the others). ``options`` rate the options
    issue (issue 3) per side, 0-100.
    """

    issues: list[dict]
    host: dict[int, tuple[int, int]]
    guest: dict[int, tuple[int, int]]
    options: dict[str, tuple[int, int]]  # option: (host rating, guest rating)
    money: str  # "EUR {:,}"
    opening: tuple[str, str, str]  # host gives issue 2, asks issue 1; rationale
    swap: tuple[str, str, str]  # host gives option, guest asks option; rationale
    declined: list[tuple[str, str, str]]  # guest gives issue 1 / asks issue 2
    close_term: str  # the guest's last word on issue 2, set in Close
    interests: tuple[str, str]
    messages: list[tuple[str, str, str]]  # side, kind, body
    concession: tuple[str, str, str, int, int]  # host's, traded for something
    gift: tuple[str, str, int, int]  # host's, given for nothing
    guest_concession: tuple[str, str, str, int, int]
    # side, what, metric, target, days from the close to its due date
    commitments: list[tuple[str, str, str, str, int]]
    vague: tuple[str, str]  # side, what (no metric, no target, no date)
    batna: tuple[str, str]
    host_org: str = "Helio Analytics"


SCRIPTS: dict[str, Script] = {
    Deal.Context.SALES: Script(
        issues=[
            {"name": "Annual licence fee", "unit": "EUR",
             "range_min": Decimal("50000"), "range_max": Decimal("400000")},
            {"name": "Contract length", "unit": "months",
             "range_min": Decimal("12"), "range_max": Decimal("36")},
            {"name": "Payment terms", "unit": "days",
             "range_min": Decimal("30"), "range_max": Decimal("90")},
            {"name": "Onboarding support", "kind": Issue.Kind.OPTIONS,
             "options": ["Remote only", "Two on-site weeks",
                         "Dedicated onboarding lead"]},
        ],
        host={0: (150000, 196000), 1: (12, 36), 2: (90, 30)},
        guest={0: (193400, 148000), 1: (36, 12), 2: (30, 90)},
        options={"Remote only": (100, 0), "Two on-site weeks": (70, 60),
                 "Dedicated onboarding lead": (30, 100)},
        money="EUR {:,}",
        opening=("60 days", "36 months",
                 "Easier cash flow for you, planning security for us."),
        swap=("Two on-site weeks", "Dedicated onboarding lead",
              "A named lead is what makes the rollout date credible for us."),
        declined=[
            ("24 months", "90 days", "Two years is the longest our board signs."),
            ("18 months", "75 days", "Still shorter than a rollout takes."),
            ("12 months", "90 days", "A one-year term cannot carry the setup."),
        ],
        close_term="45 days",
        interests=("A reference customer for several years, and a rollout our "
                   "team can plan.",
                   "Stores live before peak season, at a cost finance can plan."),
        messages=[
            ("host", "note", "Thanks for making time. Shall we first agree what "
             "a good rollout looks like for your stores?"),
            ("counterpart", "question", "Yes. Can we also talk about how long "
             "onboarding took at your other retail customers?"),
            ("host", "note", "Eight weeks with a named lead, eleven without: we "
             "can put that in writing."),
            ("counterpart", "note", "The fee is the hard part for our CFO: let's "
             "put it next to the onboarding question."),
        ],
        concession=("Pilot month", "A free pilot month for two stores",
                    "A public case study after go-live", 6000, 14000),
        gift=("Training seats", "Ten extra training seats", 3000, 5000),
        guest_concession=("Reference call", "Two reference calls for your sales "
                          "team", "Priority support in the first quarter",
                          2500, 4000),
        commitments=[
            ("host", "Dashboards live in every store", "stores live", "95%", 75),
            ("counterpart", "Store data feeds connected", "stores connected",
             "all stores", 30),
        ],
        vague=("counterpart", "Champion the rollout with store managers"),
        batna=("Move the onboarding squad to the next retail prospect in the "
               "pipeline.",
               "Stay on the spreadsheets another year and retender in spring."),
    ),
    Deal.Context.PROCUREMENT: Script(
        issues=[
            {"name": "Annual contract value", "unit": "EUR",
             "range_min": Decimal("20000"), "range_max": Decimal("900000")},
            {"name": "Delivery lead time", "unit": "days",
             "range_min": Decimal("5"), "range_max": Decimal("60")},
            {"name": "Warranty", "unit": "months",
             "range_min": Decimal("12"), "range_max": Decimal("48")},
            {"name": "Service level", "kind": Issue.Kind.OPTIONS,
             "options": ["Best effort", "Next business day",
                         "Four-hour response"]},
        ],
        # We buy: the lower the price, the better for us.
        host={0: (252000, 205000), 1: (30, 10), 2: (24, 48)},
        guest={0: (201300, 249000), 1: (10, 30), 2: (48, 24)},
        options={"Best effort": (0, 100), "Next business day": (60, 70),
                 "Four-hour response": (100, 20)},
        money="EUR {:,}",
        opening=("36 months", "14 days",
                 "A longer commitment from us for a delivery date we can plan "
                 "around."),
        swap=("Next business day", "Four-hour response",
              "Our sites cannot wait a day when the line stops."),
        declined=[
            ("21 days", "24 months", "Three weeks leaves our sites idle."),
            ("18 days", "24 months", "Still too slow for the first wave."),
            ("30 days", "12 months", "That is further from what we need."),
        ],
        close_term="48 months",
        interests=("Equipment on site before the spring intake, with support "
                   "we can count on.",
                   "A multi-year account with predictable volumes."),
        messages=[
            ("host", "note", "Our goal: every site equipped before the spring "
             "intake, without surprises on cost."),
            ("counterpart", "question", "How firm is the spring date, and how "
             "many sites come first?"),
            ("host", "note", "Firm for the first twelve sites; the rest can "
             "follow in a second wave."),
            ("counterpart", "note", "Then price and lead time move together: "
             "let us show you what a phased delivery costs."),
        ],
        concession=("Phased orders", "Orders placed in two waves",
                    "A price held for both waves", 8000, 15000),
        gift=("Site visits", "Free access to our sites for their surveys", 1000,
              3000),
        guest_concession=("Spare units", "Five spare units on each site",
                          "A reference visit", 4000, 7000),
        commitments=[
            ("counterpart", "First-wave delivery complete", "sites equipped",
             "12 sites", 45),
            ("host", "Acceptance tests signed off", "sites accepted",
             "all first-wave sites", 60),
        ],
        vague=("counterpart", "Keep us informed about stock levels"),
        batna=("Extend the current supplier's contract by a year at list "
               "price.",
               "Offer the same capacity to the two regional tenders due in "
               "March."),
    ),
    Deal.Context.PARTNERSHIP: Script(
        issues=[
            {"name": "Joint marketing budget", "unit": "EUR",
             "range_min": Decimal("10000"), "range_max": Decimal("300000")},
            {"name": "Revenue share to us", "unit": "%",
             "range_min": Decimal("5"), "range_max": Decimal("40")},
            {"name": "Initial term", "unit": "months",
             "range_min": Decimal("6"), "range_max": Decimal("36")},
            {"name": "Exclusivity", "kind": Issue.Kind.OPTIONS,
             "options": ["None", "Regional, 12 months", "Full, 24 months"]},
        ],
        host={0: (40000, 90000), 1: (12, 25), 2: (12, 36)},
        guest={0: (87700, 35000), 1: (24, 10), 2: (36, 12)},
        options={"None": (40, 100), "Regional, 12 months": (70, 60),
                 "Full, 24 months": (100, 10)},
        money="EUR {:,}",
        opening=("24 months", "20%",
                 "A long enough runway for both sales teams to learn the "
                 "product."),
        swap=("None", "Regional, 12 months",
              "Exclusivity in our home region protects the launch."),
        declined=[
            ("12%", "12 months", "Twelve percent does not pay for our "
             "enablement work."),
            ("14%", "12 months", "A one-year term is too short to recoup "
             "training."),
            ("15%", "18 months", "Closer, but the share still misses."),
        ],
        close_term="30 months",
        interests=("A partner whose customers need what we build, and shared "
                   "campaigns that bring leads.",
                   "A product our customers ask for, without locking out other "
                   "partners."),
        messages=[
            ("host", "note", "Shared goal proposal: fifty joint customers in "
             "the first year."),
            ("counterpart", "question", "What did your other partners get in "
             "their first year?"),
            ("host", "note", "Thirty on average, with two campaigns a quarter."),
            ("counterpart", "note", "Budget is the sticking point for us; "
             "exclusivity less so."),
        ],
        concession=("Sales training", "Two enablement days for their team",
                    "Co-branded case studies", 4000, 9000),
        gift=("Listing fee", "No listing fee in our marketplace", 2000, 5000),
        guest_concession=("Newsletter slot", "A slot in their customer "
                          "newsletter", "Early access to the roadmap",
                          1500, 6000),
        commitments=[
            ("host", "Joint campaigns run", "campaigns", "2 per quarter", 90),
            ("counterpart", "Sales team certified", "reps certified", "20", 60),
        ],
        vague=("host", "Support their launch where we can"),
        batna=("Sign with the second reseller on our list, who covers fewer "
               "regions.",
               "Build the integration ourselves over the next two quarters."),
    ),
    Deal.Context.HIRING: Script(
        issues=[
            {"name": "Base salary", "unit": "EUR",
             "range_min": Decimal("50000"), "range_max": Decimal("200000")},
            {"name": "Start date", "unit": "weeks",
             "range_min": Decimal("2"), "range_max": Decimal("16")},
            {"name": "Remote days", "unit": "days a week",
             "range_min": Decimal("0"), "range_max": Decimal("5")},
            {"name": "Learning budget", "kind": Issue.Kind.OPTIONS,
             "options": ["EUR 1,000 a year", "EUR 2,500 a year",
                         "EUR 4,000 a year"]},
        ],
        # We hire: the lower the salary, the better for the team's budget.
        host={0: (98000, 86000), 1: (12, 4), 2: (5, 2)},
        guest={0: (87400, 99000), 1: (4, 12), 2: (2, 5)},
        options={"EUR 1,000 a year": (100, 0), "EUR 2,500 a year": (70, 60),
                 "EUR 4,000 a year": (20, 100)},
        money="EUR {:,}",
        opening=("3 days a week", "6 weeks",
                 "Flexibility you asked for, a start date the project needs."),
        swap=("EUR 2,500 a year", "EUR 4,000 a year",
              "Certification is how I stay current in this field."),
        declined=[
            ("12 weeks", "5 days a week", "The project cannot wait a quarter."),
            ("10 weeks", "4 days a week", "The team works on site two days."),
            ("8 weeks", "5 days a week", "Fully remote does not fit the role."),
        ],
        close_term="3 days a week",
        interests=("Someone who can lead the platform work from day one, "
                   "within the team's budget.",
                   "Room to grow, and a start that lets me hand over properly."),
        messages=[
            ("host", "note", "We'd love to have you on the team: let's find "
             "terms that work for both of us."),
            ("counterpart", "question", "How is the team split between remote "
             "and office work today?"),
            ("host", "note", "Two office days a week, the rest is up to each "
             "person."),
            ("counterpart", "note", "Salary matters, but so does the notice "
             "period with my current employer."),
        ],
        concession=("Relocation help", "Two months of relocation support",
                    "An earlier start", 3000, 6000),
        gift=("Equipment budget", "A EUR 1,500 home office budget", 1500,
              1500),
        guest_concession=("Notice period", "Shorten the notice period by two "
                          "weeks", "A signing day in person", 1000, 4000),
        commitments=[
            ("host", "Onboarding plan agreed", "plan signed", "first week", 14),
            ("counterpart", "Platform roadmap drafted", "roadmap reviewed",
             "by the leadership team", 90),
        ],
        vague=("host", "Help with the move where possible"),
        batna=("Promote from within and hire a junior engineer next quarter.",
               "Accept the counter-offer from the current employer."),
        host_org="Helio Analytics People team",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class PastDeal:
    title: str
    context: str
    counterpart: str
    contact: str
    rep: str  # a username of the demo team
    purpose: str
    started: int  # days ago
    days: int  # from the first step to the end
    agreed: bool
    scale: float = 1.0  # on the money issue
    settle: float = 0.5  # where the money ends, from our walk-away to target
    declines: int = 1  # declined trades before the breakthrough (3: stalemate)
    gift: bool = False  # a concession logged with nothing in return
    vague: bool = False  # a commitment with no measure
    overdue: bool = False  # a commitment now past due and not done
    meso: bool = False  # the host presents packages in First Move
    early_close: bool = False  # Close proposed before every issue has a value
    no_deal_reason: str = ""
    lessons: list[str] = field(default_factory=list)
    verdicts: tuple[str, str] = ("mostly", "mostly")
    value_created: str = ""
    value_left: str = ""
    guest_review: bool = False
    comment: str = ""


PAST_DEALS: list[PastDeal] = [
    PastDeal(
        "Nordbank branch analytics", Deal.Context.SALES, "Nordbank",
        "Ilse Maier, Head of Branch Network", "demo-rep",
        "Every branch manager steering with live figures by the summer.",
        started=174, days=27, agreed=True, scale=1.1, settle=0.6, meso=True,
        lessons=["Put the fee next to onboarding early: the lead was worth more "
                 "to them than a discount."],
        value_created="The onboarding lead for a longer term.",
        value_left="Payment terms went to 45 days without anything in return.",
        guest_review=True,
        comment="Good use of packages. Next time ask for the case study in "
        "writing before the pilot starts.",
    ),
    PastDeal(
        "Cloud hosting tender", Deal.Context.PROCUREMENT, "Stratus Cloud",
        "Omar Haddad, Account Director", "demo-sam",
        "Hosting that grows with us, at a cost we can plan for three years.",
        started=163, days=31, agreed=True, scale=1.3, settle=0.4, declines=3,
        lessons=["Three declines in a row: change the package, not the "
                 "number."],
        verdicts=("partly", "mostly"),
        value_created="Four-hour response for a longer warranty.",
        value_left="The contract value settled closer to their target than "
        "ours.",
    ),
    PastDeal(
        "Datafy reseller agreement", Deal.Context.PARTNERSHIP, "Datafy",
        "Lena Novak, Partnerships", "demo-alex",
        "Fifty joint customers in the first year.",
        started=151, days=19, agreed=False, declines=3, gift=True,
        no_deal_reason="They would not move below a 12% revenue share; our "
        "second reseller covers the same market.",
        lessons=["Test the revenue share before investing in enablement "
                 "days.", "Never give the listing fee away: trade it."],
        verdicts=("no", "partly"),
        value_left="We gave the listing fee away before the hard issue was on "
        "the table.",
    ),
    PastDeal(
        "Lead data engineer offer", Deal.Context.HIRING, "Priya Raman",
        "Priya Raman", "demo-rep",
        "A platform lead who stays for years, within the team's budget.",
        started=140, days=12, agreed=True, settle=0.55,
        lessons=["Ask about the notice period first: it frees the start date."],
        verdicts=("yes", "yes"),
        value_created="Remote days against an earlier start.",
        guest_review=True,
    ),
    PastDeal(
        "Kestrel Foods pilot", Deal.Context.SALES, "Kestrel Foods",
        "Marta Silva, COO", "demo-sam",
        "A pilot that shows savings in three warehouses.",
        started=124, days=21, agreed=False, scale=0.6, gift=True,
        no_deal_reason="Their budget was frozen for the rest of the year.",
        lessons=["Check the budget owner before the pilot, not after."],
        verdicts=("no", "no"),
        value_left="Ten training seats given for nothing.",
        comment="The freeze was known in their annual report: worth reading "
        "before the first call.",
    ),
    PastDeal(
        "Laptop fleet refresh", Deal.Context.PROCUREMENT, "Corvid Systems",
        "Tom Becker, Key Accounts", "demo-rep",
        "Every new hire equipped on day one.",
        started=109, days=22, agreed=True, scale=0.8, settle=0.7,
        vague=True, meso=True,
        lessons=["Write every commitment with a number and a date, or it will "
                 "not be kept."],
        value_created="Phased orders for a price held across both waves.",
        value_left="Stock-level updates were agreed without any measure.",
    ),
    PastDeal(
        "Finch Media co-marketing", Deal.Context.PARTNERSHIP, "Finch Media",
        "Sara Lind, Head of Partnerships", "demo-rep",
        "Two joint campaigns a quarter that bring qualified leads.",
        started=96, days=26, agreed=True, scale=1.2, settle=0.5,
        early_close=True,
        lessons=["Close only when every issue has a value: we reopened "
                 "exclusivity twice."],
        value_created="Regional exclusivity against a bigger marketing budget.",
        value_left="Initial term longer than we needed.",
    ),
    PastDeal(
        "Harbor Logistics expansion", Deal.Context.SALES, "Harbor Logistics",
        "Ben Carter, VP Operations", "demo-alex",
        "Live tracking of every container from dock to warehouse.",
        started=83, days=19, agreed=True, scale=1.4, settle=0.65,
        overdue=True, vague=True,
        lessons=["Name an owner on their side for each commitment."],
        value_created="A longer term for the onboarding lead.",
        value_left="Their data feeds came late: we had no contingency.",
        comment="The feed commitment is overdue: schedule a check-in with "
        "their VP this week.",
    ),
    PastDeal(
        "Sales director offer", Deal.Context.HIRING, "Jonas Berg",
        "Jonas Berg", "demo-sam",
        "A sales director who builds the Nordic team.",
        started=71, days=14, agreed=False, declines=3,
        no_deal_reason="He accepted his employer's counter-offer.",
        lessons=["Ask what would make them stay where they are: the "
                 "counter-offer was the real alternative."],
        verdicts=("no", "unsure"),
    ),
    PastDeal(
        "Office cleaning contract", Deal.Context.PROCUREMENT,
        "BrightSpace Services", "Nina Kovac, Sales", "demo-alex",
        "Clean offices at a fixed monthly cost.",
        started=58, days=16, agreed=True, scale=0.3, settle=0.8,
        lessons=["Small contracts close fast when the lead time is traded "
                 "for the term."],
        verdicts=("yes", "mostly"),
        value_created="Next-business-day service for a longer warranty.",
    ),
    PastDeal(
        "Meridian Health renewal", Deal.Context.SALES, "Meridian Health",
        "Dr. Anna Weiss, CIO", "demo-rep",
        "Clinic managers seeing waiting times in real time.",
        started=46, days=22, agreed=True, scale=1.6, settle=0.45,
        overdue=True, gift=True,
        lessons=["A renewal is a new negotiation: prepare the walk-away again.",
                 "Log what we get for every concession, even at renewal."],
        verdicts=("partly", "yes"),
        value_created="Pilot month for a public case study.",
        value_left="Training seats given away; fee below our target.",
        guest_review=True,
        comment="Fee ended below target: let's look at the anchors together "
        "before the next renewal.",
    ),
    PastDeal(
        "Loop CRM integration", Deal.Context.PARTNERSHIP, "Loop CRM",
        "Ravi Patel, Alliances", "demo-sam",
        "A certified integration both sales teams can sell.",
        started=37, days=15, agreed=False, scale=0.7,
        no_deal_reason="They chose to build the integration themselves.",
        lessons=["Map their build-or-buy alternative before the first call."],
        verdicts=("no", "mostly"),
    ),
]  # fmt: skip


DEMO_REPS = {
    "demo-rep": "Robin",
    "demo-sam": "Sam",
    "demo-alex": "Alex",
}


def _money(deal: PastDeal, value: int) -> int:
    """A money figure of this deal: scaled, rounded to a hundred."""
    return int(round(value * deal.scale, -2))


def _sides(deal: Deal, rep: AbstractBaseUser, guest_name: str):
    host = deal_access_for_user(rep, deal.pk)
    counterpart = deal.parties.get(side=Side.COUNTERPART)
    participant = Participant.objects.create(party=counterpart, display_name=guest_name)
    guest = DealAccess(
        deal=deal,
        host_party=host.host_party,
        counterpart_party=counterpart,
        party=counterpart,
        participant=participant,
        is_manager=False,
    )
    return host, guest


def _prepare(clock, spec: PastDeal, script: Script, access, issues) -> None:
    """One side's private preparation: walk-away, priorities, anchor, scoring."""
    host = access.side == Side.HOST
    prefs = script.host if host else script.guest
    walk, target = prefs[0]
    walk, target = _money(spec, walk), _money(spec, target)
    batna = script.batna[0 if host else 1]
    clock.quiet(
        prep_services.preparation_update,
        access=access, section="walkaway", version=1, batna=batna,
        reservation_point=f"Not past {script.money.format(walk)} on "
        f"{issues[0].name.lower()}.",
        reservation_value=Decimal(walk),
        target_outcome=f"{script.money.format(target)}, and the "
        f"{issues[3].name.lower()} we rated highest.",
    )  # fmt: skip
    ideals = [script.money.format(target)] + [
        f"{prefs[i][1]} {issues[i].unit}" for i in (1, 2)
    ]
    best = max(script.options, key=lambda o: script.options[o][0 if host else 1])
    importance = (5, 3, 2, 4) if host else (4, 2, 3, 5)
    for index, issue in enumerate(issues):
        clock.quiet(
            prep_services.priority_set,
            access=access, issue_id=issue.pk, version=None,
            importance=importance[index],
            ideal_outcome=ideals[index] if index < 3 else best,
        )  # fmt: skip
    low, high = sorted((target, int(round(target * 1.08, -2))))
    clock.quiet(
        prep_services.anchor_set,
        access=access, issue_id=issues[0].pk, version=None,
        low=Decimal(low), high=Decimal(high),
    )  # fmt: skip
    scored = {
        issues[0].pk: prep_services.IssueScoreInput(
            40, points=sorted([(Decimal(walk), 0), (Decimal(target), 100)])
        ),
        issues[3].pk: prep_services.IssueScoreInput(
            25,
            ratings={
                o: ratings[0 if host else 1] for o, ratings in script.options.items()
            },
        ),
    }
    for index, weight in ((1, 20), (2, 15)):
        worst, ideal = prefs[index]
        scored[issues[index].pk] = prep_services.IssueScoreInput(
            weight, points=sorted([(Decimal(worst), 0), (Decimal(ideal), 100)])
        )
    clock.quiet(
        prep_services.scoring_save,
        access=access, version=None, reservation_score=Decimal("40"), issues=scored,
    )  # fmt: skip


def play(
    team: Team, spec: PastDeal, reps: dict[str, AbstractBaseUser],
    manager: AbstractBaseUser, rng: random.Random,
) -> Deal:  # fmt: skip
    """Negotiate one past deal to its end through the services, then backdate it."""
    script = SCRIPTS[spec.context]
    start = timezone.now() - datetime.timedelta(
        days=spec.started, hours=rng.randint(0, 8)
    )
    start = start.replace(hour=9, minute=rng.randint(0, 50))
    clock = DemoClock(start)
    rep = reps[spec.rep]
    deal = clock.quiet(
        deal_services.deal_create,
        owner=rep, team=team, title=spec.title, context=spec.context,
        counterpart_organisation=spec.counterpart,
        counterpart_contact=spec.contact, shared_purpose=spec.purpose,
        host_organisation=script.host_org,
    )  # fmt: skip
    host, guest = _sides(deal, rep, spec.contact.split(",")[0])
    issues = [
        clock.quiet(deal_services.issue_add, access=host, **issue)
        for issue in script.issues
    ]
    for access in (host, guest):
        _prepare(clock, spec, script, access, issues)

    # The deal's days, spread over its stages.
    budget = spec.days
    setup, first, close = max(1, budget // 7), max(2, budget // 5), max(2, budget // 6)
    midgame = max(3, budget - setup - first - (close if spec.agreed else 0))

    def act(service, **kwargs):
        clock.wait(minutes=rng.randint(20, 240))
        return clock.act(deal.pk, service, **kwargs)

    def move(proposer, answerer, stage):
        change = act(room.stage_change_propose, access=proposer, to_stage=stage)
        clock.wait(hours=rng.randint(2, 20))
        act(
            room.stage_change_respond, access=answerer, change_id=change.pk, accept=True
        )

    who = {"host": host, "counterpart": guest}
    say = list(script.messages)
    act(room.message_post, access=who[say[0][0]], kind=say[0][1], body=say[0][2])
    act(room.message_post, access=who[say[1][0]], kind=say[1][1], body=say[1][2])
    clock.wait(days=setup)
    move(host, guest, Stage.FIRST_MOVE)

    ids = [issue.pk for issue in issues]
    act(
        room.position_update,
        access=host,
        version=None,
        interests=script.interests[0],
        ranking=[ids[0], ids[1], ids[3], ids[2]],
    )
    act(
        room.position_update,
        access=guest,
        version=None,
        interests=script.interests[1],
        ranking=[ids[3], ids[0], ids[2]],
    )
    act(room.message_post, access=who[say[2][0]], kind=say[2][1], body=say[2][2])
    money = script.money.format
    host_walk, host_target = (_money(spec, v) for v in script.host[0])
    final = int(round(host_walk + (host_target - host_walk) * spec.settle, -2))
    opening_ask = int(round(host_target + (host_target - host_walk) * 0.1, -2))
    clock.wait(days=first)
    move(guest, host, Stage.MIDGAME)
    if spec.meso:
        options = list(script.options)
        meso = act(
            room.meso_present, access=host,
            packages=[
                {"name": name, "values": {
                    str(ids[0]): money(fee), str(ids[1]): script.opening[1],
                    str(ids[2]): term, str(ids[3]): options[option]}}
                for name, fee, term, option in (
                    ("Full support", opening_ask, script.opening[0], 2),
                    ("Lean", host_target, script.close_term, 0),
                    ("Balanced", (opening_ask + host_target) // 200 * 100,
                     script.opening[0], 1),
                )
            ],
        )  # fmt: skip
        packages = list(meso.packages.order_by("pk").values_list("pk", flat=True))
        act(
            room.meso_respond,
            access=guest,
            meso_id=meso.pk,
            version=1,
            preference=[packages[0], packages[2], packages[1]],
        )

    third_day = midgame / 4
    if not spec.early_close:
        opening = act(
            room.trade_propose, access=host,
            give_issue_id=ids[2], give_value=script.opening[0],
            ask_issue_id=ids[1], ask_value=script.opening[1],
            rationale=script.opening[2],
        )  # fmt: skip
        clock.wait(hours=rng.randint(3, 30))
        act(room.trade_accept, access=guest, trade_id=opening.pk, version=1)
    for give, ask, reason in script.declined[: spec.declines]:
        trade = act(
            room.trade_propose, access=guest,
            give_issue_id=ids[1], give_value=give, ask_issue_id=ids[2], ask_value=ask,
        )  # fmt: skip
        clock.wait(hours=rng.randint(4, 20))
        act(
            room.trade_decline, access=host, trade_id=trade.pk, version=1, reason=reason
        )
    clock.wait(days=third_day)
    act(room.message_post, access=who[say[3][0]], kind=say[3][1], body=say[3][2])
    item, give, get, us, them = script.concession
    act(
        room.concession_add,
        access=host,
        item=item,
        we_give=give,
        we_get=get,
        value_to_us=Decimal(us),
        value_to_them=Decimal(them),
    )
    if spec.gift:
        item, give, us, them = script.gift
        act(
            room.concession_add,
            access=host,
            item=item,
            we_give=give,
            value_to_us=Decimal(us),
            value_to_them=Decimal(them),
        )
    item, give, get, us, them = script.guest_concession
    act(
        room.concession_add,
        access=guest,
        item=item,
        we_give=give,
        we_get=get,
        value_to_us=Decimal(us),
        value_to_them=Decimal(them),
        values_shared=True,
    )
    clock.wait(days=third_day)
    swap = act(
        room.trade_propose, access=host,
        give_issue_id=ids[3], give_value=script.swap[0],
        ask_issue_id=ids[0], ask_value=money(opening_ask),
    )  # fmt: skip
    clock.wait(hours=rng.randint(6, 30))
    if not spec.agreed:
        act(
            room.trade_decline,
            access=guest,
            trade_id=swap.pk,
            version=1,
            reason="Too far from what we can sign.",
        )
        clock.wait(days=third_day)
        act(room.deal_end_no_deal, access=guest, reason=spec.no_deal_reason)
        _review(clock, deal, spec, host, guest, manager)
        return _backdate(deal, clock)
    counter = act(
        room.trade_counter, access=guest, trade_id=swap.pk, version=1,
        give_issue_id=ids[0], give_value=money(final),
        ask_issue_id=ids[3], ask_value=script.swap[1], rationale=script.swap[2],
    )  # fmt: skip
    clock.wait(hours=rng.randint(6, 30))
    act(room.trade_accept, access=host, trade_id=counter.pk, version=1)
    clock.wait(days=third_day)
    move(host, guest, Stage.CLOSE)

    if spec.early_close:
        act(
            room.term_set,
            access=host,
            issue_id=ids[1],
            version=None,
            value=script.opening[1],
        )
    term = TermSheetEntry.objects.filter(issue_id=ids[2]).first()
    act(
        room.term_set,
        access=guest,
        issue_id=ids[2],
        version=term.version if term else None,
        value=script.close_term,
    )
    closing_day = timezone.localdate(clock.now) + datetime.timedelta(days=close)
    today = timezone.localdate()
    added = []
    for index, (side, what, metric, target, due) in enumerate(script.commitments):
        owner = rep.first_name if side == "host" else spec.contact.split(",")[0]
        due_date = closing_day + datetime.timedelta(days=due)
        if today - datetime.timedelta(days=40) <= due_date < today:
            # No check-in since it fell due: it would read as overdue.
            due_date = today + datetime.timedelta(days=20)
        if spec.overdue and index == 1:
            # Due a little before today, whenever the deal closed.
            due_date = timezone.localdate() - datetime.timedelta(days=9)
        added.append(act(
            room.commitment_add, access=host, owner_side=side, owner_name=owner,
            description=what, metric=metric, target=target, due_date=due_date,
            contingency="Raise it at the next check-in and agree a new date.",
        ))  # fmt: skip
    if spec.vague:
        side, what = script.vague
        owner = rep.first_name if side == "host" else spec.contact.split(",")[0]
        added.append(
            act(
                room.commitment_add,
                access=guest,
                owner_side=side,
                owner_name=owner,
                description=what,
            )
        )
    clock.wait(days=close / 2)
    for commitment in added:
        for side in (host, guest):
            act(
                room.commitment_confirm,
                access=side,
                commitment_id=commitment.pk,
                version=1,
            )
    # The review cadence, agreed before the agreement (which needs it). The
    # service wants a first check-in still to come, so it is proposed for
    # today and moved onto the deal's calendar once the check-ins are held.
    cadence = act(
        room.cadence_propose,
        access=host,
        cadence="monthly",
        first_check_in=timezone.localdate(),
    )
    act(room.cadence_respond, access=guest, proposal_id=cadence.pk, accept=True)
    for side in (host, guest):
        clock.wait(hours=rng.randint(1, 6))
        act(room.agreement_confirm, access=side, digest=room.agreement_digest(deal))
    clock.wait(days=1)
    move(guest, host, Stage.IMPLEMENTATION)
    _review(clock, deal, spec, host, guest, manager)
    first = timezone.localdate(clock.now) + datetime.timedelta(days=7)
    _check_ins(clock, act, spec, guest, added)
    _date_cadence(deal, cadence, first)
    return _backdate(deal, clock)


def _date_cadence(deal: Deal, proposal, first: datetime.date) -> None:
    """The agreed first check-in, on the deal's own calendar: the deal, the
    proposal and the events that name it."""
    Deal.objects.filter(pk=deal.pk).update(first_check_in=first)
    type(proposal).objects.filter(pk=proposal.pk).update(first_check_in=first)
    for event in deal.events.filter(payload__has_key="first_check_in"):
        event.payload["first_check_in"] = first.isoformat()
        event.save(update_fields=["payload"])


def _check_ins(clock, act, spec: PastDeal, guest, commitments) -> None:
    """Monthly check-ins since the close, up to a week ago: a commitment is
    done at the first check-in after its due date, but for the one a deal
    marked overdue, which falls behind."""
    status = Commitment.Status
    held = timezone.localdate(clock.now)
    for number in range(6):
        held += datetime.timedelta(days=30 if number else 7)
        if held > timezone.localdate() - datetime.timedelta(days=7):
            break
        statuses, behind = {}, False
        for index, commitment in enumerate(commitments):
            if spec.overdue and index == 1:
                behind = behind or number > 0
                statuses[commitment.pk] = status.AT_RISK if number else status.ON_TRACK
            elif commitment.due_date and commitment.due_date <= held:
                statuses[commitment.pk] = status.DONE
            else:
                statuses[commitment.pk] = status.ON_TRACK
        clock.now = max(clock.now, _at(held, 15))
        notes = (
            "Kick-off held; every owner has a plan."
            if not number
            else "One commitment is behind: its owner will bring a new plan."
            if behind
            else "Progress reviewed; on track."
        )
        act(room.check_in_add, access=guest, held_on=held, notes=notes,
            statuses=statuses)  # fmt: skip


def _at(day: datetime.date, hour: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def _review(clock, deal, spec, host, guest, manager) -> None:
    """Each side looks back, a few days after the end; a manager comments."""
    clock.wait(days=2)
    ours, theirs = spec.verdicts
    clock.quiet(
        review_services.review_save,
        access=host, version=None, our_goals_met=ours, their_goals_met=theirs,
        value_created=spec.value_created, value_left=spec.value_left,
        trust_signals="They shared their timeline early, which made trading "
        "easier." if spec.agreed else "Answers slowed down in the last week.",
        lessons="\n".join(spec.lessons),
    )  # fmt: skip
    if spec.guest_review:
        clock.quiet(
            review_services.review_save,
            access=guest, version=None, our_goals_met="mostly",
            their_goals_met=ours, value_created="A clear rollout plan.",
        )  # fmt: skip
    if spec.comment:
        clock.wait(days=1)
        manager_access = deal_access_for_user(manager, deal.pk)
        clock.quiet(
            review_services.review_comment_add,
            access=manager_access, author=manager, body=spec.comment,
        )  # fmt: skip


def _backdate(deal: Deal, clock: DemoClock) -> Deal:
    """Everything the deal wrote, moved onto its own calendar."""
    backdate(deal.pk, clock)
    deal.refresh_from_db()
    # The deadline the deal worked to, on its own calendar (the time-pressure
    # coach reads today's date, so it is set once the deal is over).
    Deal.objects.filter(pk=deal.pk).update(
        deadline=timezone.localdate(deal.closed_at) + datetime.timedelta(days=3)
    )
    return deal
