"""Statements written once, for the few queries the room runs on every frame.

The ORM compiles a query each time it runs: about a quarter of a millisecond
of CPU for a simple one, more with a join. The statements that run for every
message (the deal's lock, the over-sharing guard's read, the other side's
read of the message) are written by hand instead, once per process, and their
rows are read into model instances the way the ORM reads them: through the
backend's and the fields' converters, then ``Model.from_db``.

Table and column names come from the models, so a renamed field changes the
statements with it; the tests run every one of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, models


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model: type[models.Model]) -> str:
    return quote(model._meta.db_table)


def column(model: type[models.Model], field: str) -> str:
    return quote(model._meta.get_field(field).column)


class Columns:
    """Some concrete fields of a model, as a select list and as the reader
    of the rows it returns.

    The fields are selected in the model's own order (``from_db`` expects
    that). ``prefix`` qualifies each column with a table alias.
    """

    def __init__(
        self,
        model: type[models.Model],
        names: Iterable[str] | None = None,
        *,
        prefix: str = "",
    ) -> None:
        wanted = None if names is None else set(names)
        self.model = model
        self.fields = [
            field
            for field in model._meta.concrete_fields
            if wanted is None or field.name in wanted or field.attname in wanted
        ]
        self.attnames = [field.attname for field in self.fields]
        self.prefix = prefix

    def __len__(self) -> int:
        return len(self.fields)

    @cached_property
    def select(self) -> str:
        prefix = f"{self.prefix}." if self.prefix else ""
        return ", ".join(f"{prefix}{quote(field.column)}" for field in self.fields)

    @cached_property
    def _converters(self) -> list[tuple[int, list, Any]]:
        converters = []
        for index, field in enumerate(self.fields):
            col = field.get_col(self.model._meta.db_table)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(
                connection
            )
            if found:
                converters.append((index, found, col))
        return converters

    def instance(self, row: Sequence[Any]) -> models.Model:
        """The model instance of a row holding exactly these columns."""
        values = list(row)
        for index, converters, col in self._converters:
            for converter in converters:
                values[index] = converter(values[index], col, connection)
        return self.model.from_db(DEFAULT_DB_ALIAS, self.attnames, values)
