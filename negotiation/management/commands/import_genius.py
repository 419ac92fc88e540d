"""Create a practice deal from a GENIUS negotiation case.

    python manage.py import_genius DOMAIN.xml PROFILE_A.xml PROFILE_B.xml \\
        --owner USERNAME [--title "…"] [--counterpart "…"]

The domain's issues go on the agenda as option issues (GENIUS discrete
issues), in the domain's order. Profile A becomes the host side's private
scoring (the owner's side), profile B the counterpart side's, for whoever
joins through a share link to play it. GENIUS's figures are converted to
the app's: weights to whole points adding up to 100 (largest remainders),
each value's evaluation over the issue's best to a 0–100 rating, and the
reservation value to a 0–100 reservation score. The rounding moves a
package's score by well under a point.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from negotiation.access import DealAccess
from negotiation.models import Issue, Membership, Party
from negotiation.scoring.genius import GeniusError, read_negotiation
from negotiation.scoring.profiles import OptionIssue, Profile
from negotiation.scoring.values import largest_remainder
from negotiation.services import deals as deal_services
from negotiation.services.preparation import IssueScoreInput, scoring_save

SCALE = 100


def scores_of(profile: Profile, issues: list[Issue]) -> dict[int, IssueScoreInput]:
    weights = largest_remainder([scoring.weight for scoring in profile.scorings])
    result = {}
    for issue, scoring, weight in zip(issues, profile.scorings, weights, strict=True):
        ratings = dict(scoring.ratings or ())
        result[issue.pk] = IssueScoreInput(
            weight,
            ratings={
                option: round(ratings.get(option, Fraction(0)) * SCALE)
                for option in issue.options
            },
        )
    return result


class Command(BaseCommand):
    help = "Create a practice deal, with both sides' scoring, from a GENIUS case."

    def add_arguments(self, parser) -> None:
        parser.add_argument("domain", help="The GENIUS domain file (XML).")
        parser.add_argument("profile_a", help="The host side's profile (XML).")
        parser.add_argument("profile_b", help="The counterpart side's profile (XML).")
        parser.add_argument("--owner", required=True, help="The rep's username.")
        parser.add_argument("--title", default="", help="The deal's title.")
        parser.add_argument(
            "--counterpart", default="GENIUS counterpart", help="Their organisation."
        )

    def handle(self, *args, **options) -> None:
        try:
            domain, host_profile, guest_profile = read_negotiation(
                options["domain"], options["profile_a"], options["profile_b"]
            )
        except (GeniusError, OSError) as error:
            raise CommandError(str(error)) from None
        if not all(isinstance(issue, OptionIssue) for issue in domain.issues):
            raise CommandError("Only discrete GENIUS issues can be imported.")
        owner = get_user_model().objects.filter(username=options["owner"]).first()
        if owner is None:
            raise CommandError(f"There is no user “{options['owner']}”.")
        membership = Membership.objects.filter(user=owner).first()
        if membership is None:
            raise CommandError(f"“{owner.username}” is on no team.")
        with transaction.atomic():
            deal = deal_services.deal_create(
                owner=owner,
                team=membership.team,
                title=options["title"] or f"Practice: {domain.issues[0].name} and more",
                counterpart_organisation=options["counterpart"],
            )
            parties = {party.side: party for party in deal.parties.all()}
            host = parties[Party.Side.HOST]
            counterpart = parties[Party.Side.COUNTERPART]

            def access(party: Party, participant) -> DealAccess:
                return DealAccess(
                    deal=deal,
                    host_party=host,
                    counterpart_party=counterpart,
                    party=party,
                    participant=participant,
                    is_manager=False,
                )

            host_access = access(host, host.participants.get(user=owner))
            issues = [
                deal_services.issue_add(
                    access=host_access,
                    name=issue.name,
                    kind=Issue.Kind.OPTIONS,
                    options=list(issue.options),
                )
                for issue in domain.issues
            ]
            for side, profile in (
                (host_access, host_profile),
                (access(counterpart, None), guest_profile),
            ):
                scoring_save(
                    access=side,
                    version=None,
                    reservation_score=Decimal(
                        round(float(profile.reservation) * SCALE, 2)
                    ).quantize(Decimal("0.01")),
                    issues=scores_of(profile, issues),
                )
        self.stdout.write(
            f"Created “{deal.title}” (deal {deal.pk}) with {len(issues)} issues "
            f"and both sides' scoring: {deal.get_absolute_url()}"
        )
