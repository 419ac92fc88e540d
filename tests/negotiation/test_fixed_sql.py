"""Rows of hand-written statements read into model instances as the ORM would."""

from decimal import Decimal

import pytest
from django.db import connection

from negotiation.fixed_sql import Columns, table
from negotiation.models import Deal, Preparation
from negotiation.selectors import walk_away_of

pytestmark = pytest.mark.django_db


def fetch(columns: Columns, model, pk: int):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns.select} FROM {table(model)} WHERE id = %s", [pk]
        )
        return columns.instance(cursor.fetchone())


def test_a_whole_row_reads_as_the_orm_reads_it(deal):
    read = fetch(Columns(Deal), Deal, deal.pk)
    expected = Deal.objects.get(pk=deal.pk)

    for field in Deal._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(expected, field.attname)
        assert type(getattr(read, field.attname)) is type(
            getattr(expected, field.attname)
        )
    assert read._state.adding is False
    assert read.created_at.tzinfo is not None  # converted, also on SQLite


def test_some_columns_in_any_order_read_in_the_models_order(deal):
    preparation = Preparation.objects.get(party__deal=deal, party__side="host")
    preparation.reservation_value = Decimal("41000.50")
    preparation.batna = "Renew with the incumbent"
    preparation.save()
    columns = Columns(Preparation, ["reservation_value", "id", "batna"])

    read = fetch(columns, Preparation, preparation.pk)

    assert columns.attnames == ["id", "batna", "reservation_value"]
    assert read.reservation_value == Decimal("41000.50")
    assert isinstance(read.reservation_value, Decimal)
    assert read.batna == "Renew with the incumbent"
    assert "reservation_point" in read.get_deferred_fields()
    assert "batna" not in read.get_deferred_fields()


def test_a_prefix_qualifies_each_column():
    columns = Columns(Preparation, ["id", "batna"], prefix="p")

    quoted = [connection.ops.quote_name(name) for name in ("id", "batna")]
    assert columns.select == ", ".join(f"p.{name}" for name in quoted)


def test_the_guards_read_is_the_sides_own_walk_away(deal):
    host = deal.parties.get(side="host")
    counterpart = deal.parties.get(side="counterpart")
    Preparation.objects.filter(party=host).update(batna="Stay with Initech")
    Preparation.objects.filter(party=counterpart).update(batna="Build it in house")

    assert walk_away_of(host).batna == "Stay with Initech"
    assert walk_away_of(counterpart).batna == "Build it in house"
    Preparation.objects.filter(party=host).delete()
    with pytest.raises(Preparation.DoesNotExist):
        walk_away_of(host)
