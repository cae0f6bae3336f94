"""UtcDateTime: the text it stores on SQLite is SQLAlchemy's DATETIME text, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, create_engine, select, text

from hookwire.sender.schema import UtcDateTime

MOMENTS = [
    datetime(2026, 11, 28, 17, 0, 0, tzinfo=UTC),
    datetime(2026, 11, 28, 17, 0, 0, 123456, tzinfo=UTC),
    datetime(5, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    datetime(2026, 3, 1, 0, 30, 0, 1, tzinfo=timezone(timedelta(hours=2))),
    datetime(2026, 3, 1, 0, 30, 0, 999999, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
]


@pytest.mark.parametrize("moment", MOMENTS, ids=str)
def test_sqlite_stores_the_text_of_sqlalchemys_datetime_in_utc(
    tmp_path: Path, moment: datetime
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'types.db'}")
    table = Table(
        "t",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("ours", UtcDateTime),
        Column("reference", DateTime),
    )
    try:
        with engine.begin() as conn:
            table.create(conn)
            naive_utc = moment.astimezone(UTC).replace(tzinfo=None)
            conn.execute(table.insert(), [{"id": 1, "ours": moment, "reference": naive_utc}])
            ours, reference = conn.execute(text("SELECT ours, reference FROM t")).one()
            back = conn.execute(select(table.c.ours)).scalar_one()
    finally:
        engine.dispose()
    assert (ours, back) == (reference, moment)


def test_sqlite_binds_each_datetime_of_a_statement_to_its_own_text(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'types.db'}")
    table = Table(
        "t", MetaData(), Column("id", Integer, primary_key=True), Column("at", UtcDateTime)
    )
    first, second = MOMENTS[0], MOMENTS[3]
    try:
        with engine.begin() as conn:
            table.create(conn)
            conn.execute(
                table.insert(),
                [{"id": n, "at": at} for n, at in enumerate([first, first, second, first])],
            )
            stored = list(conn.execute(select(table.c.at).order_by(table.c.id)).scalars())
    finally:
        engine.dispose()
    assert stored == [first, first, second, first]
