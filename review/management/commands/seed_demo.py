"""Create (idempotently) the demo team: a manager, three reps, a dozen deals
closed over the last six months (``review.management.demo_history``) and the live
demo deal, prepared by both sides and in Midgame.

``--json`` prints the contract other checks rely on: the rep's login, the deal's
URL, the invite URL (None until share links exist), and distinctive private
values of each side, so anyone can check they never reach the other side.
"""

from __future__ import annotations

import datetime
import json
import os
import random
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from negotiation.access import DealAccess, deal_access_for_user
from negotiation.models import Deal, Issue, Membership, Participant, Party, Team
from negotiation.services import deals as deal_services
from negotiation.services import preparation as prep_services
from review.management.demo_clock import DemoClock, backdate
from review.management.demo_history import DEMO_REPS, PAST_DEALS, RANDOM_SEED, play
from room import services as room
from room.models import share_path
from room.services import invites as invite_services

TEAM_NAME = "Helio Analytics — Enterprise"
REP = {"username": "demo-rep", "password": "parley-demo-rep", "first_name": "Robin"}
MANAGER = {
    "username": "demo-manager",
    "password": "parley-demo-manager",
    "first_name": "Morgan",
}
DEAL_TITLE = "Acme Retail renewal 2027"

ISSUES = [
    {"name": "Annual licence fee", "unit": "EUR", "range_min": Decimal("160000"),
     "range_max": Decimal("240000"),
     "description": "Platform licence for all Acme stores, per year."},
    {"name": "Contract length", "unit": "months", "range_min": Decimal("12"),
     "range_max": Decimal("36")},
    {"name": "Payment terms", "unit": "days", "range_min": Decimal("30"),
     "range_max": Decimal("90")},
    {"name": "Onboarding support", "kind": Issue.Kind.OPTIONS,
     "options": ["Remote only", "Two on-site weeks", "Dedicated onboarding lead"]},
    {"name": "Success metric", "kind": Issue.Kind.OPTIONS,
     "options": ["Store adoption rate", "Time to first dashboard",
                 "Stock-outs avoided"]},
]  # fmt: skip

PREPARATION = {
    Party.Side.HOST: {
        "walkaway": {
            "batna": "Move the onboarding squad to the Nordbank expansion, "
            "worth about EUR 150k a year to us.",
            "reservation_point": "Nothing under EUR 186,500 a year on a "
            "24-month term.",
            "reservation_value": Decimal("186500"),
            "target_outcome": "EUR 212k a year for 36 months, onboarding lead "
            "included, paid at 45 days.",
        },
        "counterparty": {
            "their_constraints": "The Acme CFO froze new opex lines until Q2.",
            "their_decision_path": "Head of Retail Ops recommends, CFO signs "
            "above EUR 200k.",
            "their_pressures": "Store managers complain that onboarding "
            "took eleven weeks last time.",
            "their_success": "Every store using dashboards before peak season.",
        },
        "readiness": {"readiness_notes": "They asked for a joint workshop: good sign."},
        "priorities": {
            "Annual licence fee": (5, "Phase the increase over two years",
                                   "A 36-month commitment", "EUR 212k"),
            "Contract length": (4, "Price protection for year three",
                                "36 months", "36 months"),
            "Payment terms": (2, "Up to 75 days",
                              "Volume commitment in return", "45 days"),
            "Onboarding support": (3, "A dedicated onboarding lead",
                                   "A public case study", "Two on-site weeks"),
        },
        "anchors": {"Annual licence fee": (Decimal("205000"), Decimal("225000"),
                    "Peer retailers pay EUR 1,900 per store per year.")},
        # (weight, value function or ratings); then the reservation score.
        "scoring": ({
            "Annual licence fee": (45, [(186500, 0), (212000, 75), (225000, 100)]),
            "Contract length": (25, [(12, 0), (24, 50), (36, 100)]),
            "Payment terms": (10, [(30, 100), (45, 80), (90, 0)]),
            "Onboarding support": (10, {"Remote only": 100, "Two on-site weeks": 70,
                                        "Dedicated onboarding lead": 30}),
            "Success metric": (10, {"Store adoption rate": 80,
                                    "Time to first dashboard": 100,
                                    "Stock-outs avoided": 50}),
        }, Decimal("45")),
        "evidence": [
            ("benchmark", "Retail analytics pricing survey 2026",
             "Median EUR 1,900 per store and year.",
             "https://example.com/pricing-survey"),
            ("case", "Nordmarkt rollout", "Adoption 92% in 8 weeks with an "
             "onboarding lead.", ""),
        ],
    },
    Party.Side.COUNTERPART: {
        "walkaway": {
            "batna": "Switch to Lumen Metrics at EUR 171,000 with a six-week "
            "migration.",
            "reservation_point": "Up to EUR 214,000 a year if onboarding is "
            "included.",
            "reservation_value": Decimal("214000"),
            "target_outcome": "EUR 185k a year, 24 months, 90-day payment.",
        },
        "counterparty": {
            "their_constraints": "Helio needs the renewal booked this quarter.",
            "their_decision_path": "Account exec, then their VP Sales.",
            "their_pressures": "Quarter-end bookings target.",
            "their_success": "A multi-year logo they can reference.",
        },
        "readiness": {"readiness_notes": "Procurement wants to keep it friendly."},
        "priorities": {
            "Annual licence fee": (4, "Extend to a 30-month term if the rate holds",
                                   "A lower annual rate", "EUR 185k"),
            "Onboarding support": (5, "A reference call for their sales team",
                                   "Dedicated onboarding lead",
                                   "Dedicated onboarding lead"),
            "Payment terms": (3, "Earlier payment for a discount",
                              "90 days", "90 days"),
        },
        "anchors": {},
        "scoring": ({
            "Annual licence fee": (35, [(171000, 100), (185000, 90), (214000, 30),
                                        (240000, 0)]),
            "Contract length": (10, [(12, 100), (24, 70), (36, 40)]),
            "Payment terms": (20, [(30, 0), (60, 50), (90, 100)]),
            "Onboarding support": (30, {"Remote only": 0, "Two on-site weeks": 50,
                                        "Dedicated onboarding lead": 100}),
            "Success metric": (5, {"Store adoption rate": 60,
                                   "Time to first dashboard": 40,
                                   "Stock-outs avoided": 100}),
        }, Decimal("40")),
        "evidence": [
            ("benchmark", "Lumen Metrics quote", "EUR 171k, six-week migration.",
             ""),
        ],
    },
}  # fmt: skip

GUEST_NAME = "Dana Whitfield (Acme Retail)"
INVITE_LABEL = "Demo link (seed_demo)"


def _private_values(side: str) -> list[str]:
    prep = PREPARATION[side]
    return [
        prep["walkaway"]["batna"],
        prep["walkaway"]["reservation_point"],
        prep["walkaway"]["target_outcome"],
        f"{prep['walkaway']['reservation_value']:f}".split(".")[0],
        prep["counterparty"]["their_constraints"],
        next(iter(prep["priorities"].values()))[1],
    ]


class Command(BaseCommand):
    help = "Create the demo team, users and a prepared deal (safe to run twice)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="Print JSON.")
        parser.add_argument(
            "--base-url",
            default=os.environ.get(
                "PARLEY_BASE_URL",
                f"http://127.0.0.1:{os.environ.get('PORT', '8000')}",
            ),
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even with DEBUG off (DJANGO_DEBUG=0). The demo accounts' "
            "passwords are published: never on a site others can reach.",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            if not options["allow_production"]:
                raise CommandError(
                    "seed_demo creates accounts whose passwords are published, "
                    "and DEBUG is off (DJANGO_DEBUG=0), so this looks like a "
                    "real site. Nothing was created. Pass --allow-production "
                    "to seed anyway."
                )
            self.stderr.write(
                self.style.WARNING(
                    "Warning: seeding the demo with DEBUG off. Anyone who reads "
                    "Parley's README can log in as the demo users: delete them "
                    "before this site is reachable by others."
                )
            )
        deal = self.seed()
        base = options["base_url"].rstrip("/")
        token = self._fresh_invite(deal)
        result = {
            "host": {"username": REP["username"], "password": REP["password"]},
            "manager": {
                "username": MANAGER["username"],
                "password": MANAGER["password"],
            },
            "deal_url": f"{base}{deal.get_absolute_url()}",
            "login_url": f"{base}/accounts/login/",
            "invite_url": f"{base}{share_path(token)}",
            "private": {
                side: _private_values(side)
                for side in (Party.Side.HOST, Party.Side.COUNTERPART)
            },
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(
            self.style.SUCCESS("Demo ready.")
            + f"\n  Log in at {result['login_url']}"
            + f"\n  rep:     {REP['username']} / {REP['password']}"
            + f"\n  manager: {MANAGER['username']} / {MANAGER['password']}"
            + f"\n  demo deal: {result['deal_url']}"
            + "\n  counterpart's link (open it in a private window):"
            + f"\n    {result['invite_url']}"
        )

    @transaction.atomic
    def _fresh_invite(self, deal: Deal) -> str:
        """A new share link for the demo counterpart on every run.

        Tokens are stored hashed, so an earlier link cannot be printed again;
        unused earlier demo links are removed instead of piling up.
        """
        deal.invites.filter(label=INVITE_LABEL, participant__isnull=True).delete()
        rep = get_user_model().objects.get(username=REP["username"])
        _, token = invite_services.invite_create(
            access=deal_access_for_user(rep, deal.pk), label=INVITE_LABEL
        )
        return token

    @transaction.atomic
    def seed(self) -> Deal:
        rep = self._user(REP)
        manager = self._user(MANAGER)
        team = Team.objects.filter(name=TEAM_NAME).first()
        if team is None:
            team = deal_services.team_create(name=TEAM_NAME, founder=manager)
        reps = {REP["username"]: rep}
        for username, first_name in DEMO_REPS.items():
            if username not in reps:
                reps[username] = self._colleague(username, first_name)
        for user in reps.values():
            Membership.objects.get_or_create(
                team=team, user=user, defaults={"role": Membership.Role.REP}
            )
        done = set(team.deals.values_list("title", flat=True))
        for spec in PAST_DEALS:
            if spec.title not in done:
                # One generator per deal: the same deal whatever else exists.
                play(
                    team,
                    spec,
                    reps,
                    manager,
                    random.Random(f"{RANDOM_SEED}:{spec.title}"),
                )
        deal = Deal.objects.filter(team=team, title=DEAL_TITLE).first()
        if deal is not None:
            return deal
        # The live deal started five days ago; its last step was this morning.
        clock = DemoClock(timezone.now() - datetime.timedelta(days=5))
        deal = clock.quiet(
            deal_services.deal_create,
            owner=rep,
            team=team,
            title=DEAL_TITLE,
            context=Deal.Context.SALES,
            counterpart_organisation="Acme Retail",
            counterpart_contact="Dana Whitfield, Head of Retail Ops",
            shared_purpose="Every Acme store running on live dashboards before "
            "peak season, at a cost both finance teams can plan for.",
            deadline=timezone.localdate() + datetime.timedelta(days=21),
            host_organisation="Helio Analytics",
        )
        host = deal.parties.get(side=Party.Side.HOST)
        counterpart = deal.parties.get(side=Party.Side.COUNTERPART)
        host_access = DealAccess(
            deal=deal,
            host_party=host,
            counterpart_party=counterpart,
            party=host,
            participant=host.participants.get(user=rep),
            is_manager=False,
        )
        for spec in ISSUES:
            clock.quiet(deal_services.issue_add, access=host_access, **spec)
        guest = Participant.objects.create(party=counterpart, display_name=GUEST_NAME)
        counterpart_access = DealAccess(
            deal=deal,
            host_party=host,
            counterpart_party=counterpart,
            party=counterpart,
            participant=guest,
            is_manager=False,
        )
        issues = {issue.name: issue for issue in deal.issues.all()}
        for access in (host_access, counterpart_access):
            clock.quiet(self._prepare, access=access, issues=issues,
                        spec=PREPARATION[access.side])  # fmt: skip
        clock.wait(days=1)
        self._play_opening(clock, host_access, counterpart_access, issues)
        backdate(deal.pk, clock)
        return deal

    def _play_opening(
        self, clock: DemoClock, host, guest, issues: dict[str, Issue]
    ) -> None:
        """Take the demo room into Midgame, so ``make run`` shows a live room,
        coached as the room coaches (``DemoClock.act``)."""
        deal_id = host.deal.pk

        def act(service, *, wait: dict, **kwargs):
            clock.wait(**wait)
            return clock.act(deal_id, service, **kwargs)

        fee, term, payment, onboarding = (
            issues[name].pk
            for name in (
                "Annual licence fee",
                "Contract length",
                "Payment terms",
                "Onboarding support",
            )
        )
        act(
            room.message_post, wait={"hours": 2}, access=host,
            body="Welcome! Shall we start by agreeing what success looks like?",
        )  # fmt: skip
        act(
            room.message_post, wait={"hours": 3}, access=guest, kind="question",
            body="Happy to. Can we talk about onboarding time early on?",
        )  # fmt: skip
        for to_stage in (Deal.Stage.FIRST_MOVE, Deal.Stage.MIDGAME):
            change = act(
                room.stage_change_propose, wait={"days": 1}, access=host,
                to_stage=to_stage,
            )  # fmt: skip
            act(
                room.stage_change_respond, wait={"hours": 4}, access=guest,
                change_id=change.pk, accept=True,
            )  # fmt: skip
            host.deal.refresh_from_db()
            guest.deal.refresh_from_db()
            if to_stage == Deal.Stage.FIRST_MOVE:
                act(
                    room.position_update, wait={"hours": 1}, access=host,
                    version=None,
                    interests="A multi-year partner we can reference, and "
                    "onboarding that our team can plan.",
                    ranking=[fee, term, onboarding, payment],
                    shared_matrix={str(term): ["want_get"]},
                )  # fmt: skip
                act(
                    room.position_update, wait={"hours": 5}, access=guest,
                    version=None,
                    interests="Stores live before peak season; a cost finance "
                    "can plan.",
                    ranking=[onboarding, fee, payment],
                )  # fmt: skip
        accepted = act(
            room.trade_propose, wait={"hours": 2}, access=host,
            give_issue_id=payment, give_value="60 days",
            ask_issue_id=term, ask_value="36 months",
            rationale="Easier cash flow for you, planning security for us.",
        )  # fmt: skip
        act(
            room.trade_accept, wait={"hours": 6}, access=guest,
            trade_id=accepted.pk, version=1,
        )  # fmt: skip
        # Given for nothing in return: the rep's coach flags it.
        act(
            room.concession_add, wait={"hours": 3}, access=host,
            item="Training seats", we_give="Ten extra training seats",
            value_to_us=Decimal("3000"), value_to_them=Decimal("6000"),
        )  # fmt: skip
        act(
            room.trade_propose, wait={"hours": 16}, access=guest,
            give_issue_id=fee, give_value="EUR 198,000 a year",
            ask_issue_id=onboarding, ask_value="Dedicated onboarding lead",
        )  # fmt: skip

    def _colleague(self, username: str, first_name: str):
        """A rep of the demo team whose deals fill the history; nobody logs
        in as them (no usable password)."""
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={"first_name": first_name, "email": f"{username}@example.com"},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        return user

    def _user(self, spec: dict[str, str]):
        user, _ = get_user_model().objects.get_or_create(
            username=spec["username"],
            defaults={
                "first_name": spec["first_name"],
                "email": f"{spec['username']}@example.com",
            },
        )
        user.set_password(spec["password"])
        user.save(update_fields=["password"])
        return user

    def _prepare(self, *, access: DealAccess, issues: dict[str, Issue], spec) -> None:
        for section in ("walkaway", "counterparty", "readiness"):
            prep = access.party.preparation
            prep.refresh_from_db()
            prep_services.preparation_update(
                access=access, section=section, version=prep.version,
                **spec[section],
            )  # fmt: skip
        for name, (importance, give, get, ideal) in spec["priorities"].items():
            prep_services.priority_set(
                access=access,
                issue_id=issues[name].pk,
                version=None,
                importance=importance,
                can_give=give,
                want_get=get,
                ideal_outcome=ideal,
            )
        for name, (low, high, benchmark) in spec["anchors"].items():
            prep_services.anchor_set(
                access=access,
                issue_id=issues[name].pk,
                version=None,
                low=low,
                high=high,
                benchmark=benchmark,
            )
        for kind, title, detail, url in spec["evidence"]:
            prep_services.evidence_add(
                access=access, kind=kind, title=title, detail=detail, url=url
            )
        weights, reservation = spec["scoring"]
        scored = {}
        for name, (weight, values) in weights.items():
            if isinstance(values, dict):
                scored[issues[name].pk] = prep_services.IssueScoreInput(
                    weight, ratings=values
                )
            else:
                scored[issues[name].pk] = prep_services.IssueScoreInput(
                    weight, points=[(Decimal(v), score) for v, score in values]
                )
        prep_services.scoring_save(
            access=access, version=None, reservation_score=reservation, issues=scored
        )
