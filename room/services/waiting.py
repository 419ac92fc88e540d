"""Email a side the room waits for, when it has been away for a while.

A side is away when none of its participants has had the room open (a socket,
or a page load) for ``PARLEY_AWAY_MINUTES`` (10). Each of its participants
with an address then gets one email naming what waits (``room.attention``),
once per waiting item: a ``WaitingEmail`` row per participant and item is
written before sending, and dropped again if the send fails, so the next run
retries and two runs at once send each item once.

A rep's address is the account's; a guest's is the one they chose to leave
when joining (``GuestEmail``), and a guest who left none gets nothing. The
link is the room's plain URL: it opens only in the guest's own browser
session (or after a fresh link from the host), and never carries a token.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse

from negotiation.models import Deal, Participant, Party
from room.attention import Waiting, waiting_for
from room.models import GuestEmail, RoomConnection, RoomVisit, WaitingEmail

logger = logging.getLogger(__name__)

# A socket's heartbeat refreshes its row every 25 s; rows older than this were
# left by a process that died (``room.selectors.PRESENCE_WINDOW``).
OPEN_SOCKET_WINDOW = datetime.timedelta(seconds=90)


@dataclass(frozen=True)
class WaitingMail:
    deal: Deal
    participant: Participant
    address: str
    items: list[Waiting]

    @property
    def subject(self) -> str:
        count = len(self.items)
        what = "something waits" if count == 1 else f"{count} things wait"
        return f"Parley · {self.deal.title}: {what} for you"

    def body(self, base_url: str) -> str:
        link = base_url + reverse("live:room", args=[self.deal.pk])
        lines = [
            f"Hello {self.participant.display_name},",
            "",
            f"The other side is waiting for you in “{self.deal.title}”:",
            "",
            *(f"- {item.text}" for item in self.items),
            "",
            f"Open the room: {link}",
            "",
            "The link opens in the browser you joined from (or after you log "
            "in). If it does not, ask the host for a fresh share link.",
            "",
            "You get one email per waiting item, and none while you are in the room.",
        ]
        return "\n".join(lines)


def away_minutes() -> int:
    return settings.PARLEY_AWAY_MINUTES


def _present_parties(deals: list[Deal], now: datetime.datetime) -> set[int]:
    """Parties of these deals with an open socket, or a visit in the window."""
    party_ids = set(
        RoomConnection.objects.filter(
            participant__party__deal__in=deals,
            seen_at__gte=now - OPEN_SOCKET_WINDOW,
        ).values_list("participant__party_id", flat=True)
    )
    party_ids |= set(
        RoomVisit.objects.filter(
            participant__party__deal__in=deals,
            present_at__gte=now - datetime.timedelta(minutes=away_minutes()),
        ).values_list("participant__party_id", flat=True)
    )
    return party_ids


def _addresses(party: Party) -> list[tuple[Participant, str]]:
    people = Participant.objects.filter(party=party, revoked_at__isnull=True)
    if party.side == Party.Side.HOST:
        return [
            (p, p.user.email)
            for p in people.select_related("user")
            if p.user is not None and p.user.email and p.user.is_active
        ]
    emails = dict(
        GuestEmail.objects.filter(participant__in=people).values_list(
            "participant_id", "email"
        )
    )
    return [(p, emails[p.pk]) for p in people if p.pk in emails]


def waiting_emails_due(*, now: datetime.datetime) -> list[WaitingMail]:
    """The emails to send now: per away participant with an address, the
    items waiting for their side that they were not emailed about yet."""
    deals = list(Deal.objects.exclude(status=Deal.Status.NO_DEAL))
    present = _present_parties(deals, now)
    mails = []
    for deal in deals:
        for party in deal.parties.all():
            if party.pk in present:
                continue
            items = waiting_for(deal, party)
            if not items:
                continue
            for participant, address in _addresses(party):
                sent = set(
                    WaitingEmail.objects.filter(
                        participant=participant, key__in=[i.key for i in items]
                    ).values_list("key", flat=True)
                )
                fresh = [item for item in items if item.key not in sent]
                if fresh:
                    mails.append(WaitingMail(deal, participant, address, fresh))
    return mails


def _claim(mail: WaitingMail) -> list[WaitingEmail] | None:
    """Record the items before sending; None if another run got there first."""
    try:
        with transaction.atomic():
            return WaitingEmail.objects.bulk_create(
                [
                    WaitingEmail(participant=mail.participant, key=item.key)
                    for item in mail.items
                ]
            )
    except IntegrityError:
        return None


def waiting_emails_send(
    *, now: datetime.datetime, base_url: str, dry_run: bool = False
) -> list[WaitingMail]:
    """Send what ``waiting_emails_due`` finds, once each. A failed send is
    logged and raised, and its items stay due for the next run."""
    base_url = base_url.rstrip("/")
    sent = []
    for mail in waiting_emails_due(now=now):
        if dry_run:
            sent.append(mail)
            continue
        claimed = _claim(mail)
        if claimed is None:
            continue
        try:
            send_mail(mail.subject, mail.body(base_url), None, [mail.address])
        except Exception:
            WaitingEmail.objects.filter(pk__in=[row.pk for row in claimed]).delete()
            logger.exception(
                "Waiting email for deal %s, participant %s not sent",
                mail.deal.pk,
                mail.participant.pk,
            )
            raise
        sent.append(mail)
    return sent
