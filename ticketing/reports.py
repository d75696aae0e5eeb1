"""Reports: volume, response and resolution times (median, p90, average; wall clock and business hours),
SLA compliance and CSAT, grouped by agent, team, inbox, channel, tag, day or week.

They read only `conversation_metrics` and `response_metrics` (kept current by event subscribers), one
indexed range scan each. On PostgreSQL percentiles are computed in SQL with `percentile_cont`; SQLite has
no such aggregate, so the durations are fetched sorted by group and interpolated the same way
(continuous percentile: linear interpolation between the two closest ranks). Definitions: docs/metrics.md.
"""

from __future__ import annotations

import asyncio
import csv
import gc
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import get_engine, is_postgres, sessionmaker
from hub.models import ConversationTag, Inbox, Team, User
from ticketing.models import ConversationMetrics, ResponseMetric

GROUPS = ("none", "agent", "team", "inbox", "channel", "tag", "day", "week")
DURATIONS = (
    "first_response_seconds",
    "first_response_bh_seconds",
    "resolution_seconds",
    "resolution_bh_seconds",
)


class ReportError(ValueError):
    pass


@dataclass(frozen=True)
class ReportQuery:
    start: datetime
    end: datetime  # exclusive
    group_by: str = "none"
    inbox_ids: tuple[int, ...] = ()
    team_ids: tuple[int, ...] = ()
    channels: tuple[str, ...] = ()

    @staticmethod
    def build(
        start: date | None,
        end: date | None,
        group_by: str = "none",
        inbox_ids: Sequence[int] = (),
        team_ids: Sequence[int] = (),
        channels: Sequence[str] = (),
    ) -> ReportQuery:
        if group_by not in GROUPS:
            raise ReportError(f"group_by must be one of {', '.join(GROUPS)}.")
        today = datetime.now(UTC).date()
        last = end or today
        first = start or (last - timedelta(days=29))
        if first > last:
            raise ReportError("`from` must be on or before `to`.")
        if (last - first).days > 3 * 366:
            raise ReportError("A report covers at most three years; narrow `from`/`to`.")
        return ReportQuery(
            datetime.combine(first, datetime.min.time(), tzinfo=UTC),
            datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=UTC),
            group_by,
            tuple(inbox_ids),
            tuple(team_ids),
            tuple(channels),
        )


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Continuous percentile (PostgreSQL's percentile_cont) of an ascending sequence."""
    n = len(sorted_values)
    if n == 0:
        return None
    pos = fraction * (n - 1)
    lo = math.floor(pos)
    hi = math.ceil(pos)
    if lo == hi:
        return float(sorted_values[lo])
    return float(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo))


def _stats(values: Sequence[float]) -> dict[str, float | None]:
    """Median, p90 (continuous, like percentile_cont), average and count of numbers without NULLs.

    A plain sort: 100k floats take about 10 ms, and no array library has to be loaded into every process."""
    if not values:
        return {"median": None, "p90": None, "avg": None, "count": 0}
    ordered = sorted(values)
    return {
        "median": percentile(ordered, 0.5),
        "p90": percentile(ordered, 0.9),
        "avg": math.fsum(ordered) / len(ordered),
        "count": len(ordered),
    }


@dataclass
class Row:
    key: Any
    label: str = ""
    conversations: int = 0
    resolved: int = 0
    first_response: dict[str, float | None] = field(default_factory=dict)
    first_response_bh: dict[str, float | None] = field(default_factory=dict)
    next_response: dict[str, float | None] = field(default_factory=dict)
    next_response_bh: dict[str, float | None] = field(default_factory=dict)
    resolution: dict[str, float | None] = field(default_factory=dict)
    resolution_bh: dict[str, float | None] = field(default_factory=dict)
    sla_targets: int = 0
    sla_breaches: int = 0
    sla_compliance: float | None = None
    csat_responses: int = 0
    csat_average: float | None = None
    csat_satisfied: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "conversations": self.conversations,
            "resolved": self.resolved,
            "first_response": self.first_response,
            "first_response_bh": self.first_response_bh,
            "next_response": self.next_response,
            "next_response_bh": self.next_response_bh,
            "resolution": self.resolution,
            "resolution_bh": self.resolution_bh,
            "sla": {"targets": self.sla_targets, "breaches": self.sla_breaches, "compliance": self.sla_compliance},
            "csat": {"responses": self.csat_responses, "average": self.csat_average, "satisfied": self.csat_satisfied},
        }


def _bucket(column: Any, group: str, pg: bool) -> ColumnElement[Any]:
    if pg:
        unit = "day" if group == "day" else "week"
        return func.to_char(func.date_trunc(unit, func.timezone("UTC", column)), "YYYY-MM-DD")
    if group == "day":
        return func.strftime("%Y-%m-%d", column)
    return func.date(column, "weekday 0", "-6 days")  # the Monday of the ISO week


def _key(group: str, table: Any, time_column: Any, pg: bool) -> Any:
    if group == "none":
        return literal("all")
    if group == "agent":
        return table.assignee_id if table is ConversationMetrics else table.agent_id
    if group == "team":
        return table.team_id
    if group == "inbox":
        return table.inbox_id
    if group == "channel":
        return table.channel
    if group == "tag":
        return ConversationTag.tag
    return _bucket(time_column, group, pg)


def _filtered(query: Any, table: Any, q: ReportQuery, time_column: Any) -> Any:
    conditions = [time_column >= q.start, time_column < q.end]
    if q.inbox_ids:
        conditions.append(table.inbox_id.in_(q.inbox_ids))
    if q.team_ids:
        conditions.append(table.team_id.in_(q.team_ids))
    if q.channels:
        conditions.append(table.channel.in_(q.channels))
    if q.group_by == "tag":
        query = query.join(ConversationTag, ConversationTag.conversation_id == table.conversation_id)
    return query.where(and_(*conditions))


async def _conversation_part(session: AsyncSession, q: ReportQuery, rows: dict[Any, Row]) -> None:
    pg = is_postgres(session)
    m = ConversationMetrics
    raw_key = _key(q.group_by, m, m.created_at, pg)
    key = raw_key.label("k")
    counters = [
        func.count().label("n"),
        func.count(m.resolved_at).label("resolved"),
        func.coalesce(func.sum(m.sla_targets), 0).label("targets"),
        func.coalesce(func.sum(m.sla_breaches), 0).label("breaches"),
        func.count(m.csat_score).label("csat_n"),
        func.avg(m.csat_score).label("csat_avg"),
        func.count(m.csat_score).filter(m.csat_score >= 4).label("csat_ok"),
    ]
    if pg:
        durations = []
        for name in DURATIONS:
            col = getattr(m, name)
            durations += [
                func.percentile_cont(0.5).within_group(col.asc()),
                func.percentile_cont(0.9).within_group(col.asc()),
                func.avg(col),
                func.count(col),
            ]
        query = _filtered(select(key, *counters, *durations), m, q, m.created_at).group_by(key)
        for rec in (await session.execute(query)).all():
            row = rows.setdefault(rec[0], Row(rec[0]))
            _fill_counters(row, rec[1:8])
            for i, name in enumerate(DURATIONS):
                med, p90, avg, count = rec[8 + 4 * i : 12 + 4 * i]
                setattr(row, _attr(name), _num({"median": med, "p90": p90, "avg": avg, "count": count}))
        return
    query = _filtered(select(key, *counters), m, q, m.created_at).group_by(key).order_by(key)
    counts: list[tuple[Any, int]] = []
    for counted in await _sqlite_rows(session, query):
        _fill_counters(rows.setdefault(counted[0], Row(counted[0])), counted[1:8])
        counts.append((counted[0], int(counted[1])))
    # SQLite: one scan for all four durations in group order, sliced by the counts above, then sorted and
    # interpolated per group in Python.
    columns = [getattr(m, name) for name in DURATIONS]
    scan = _filtered(select(*columns), m, q, m.created_at)
    for k, cols in (await _sliced(session, q, scan, raw_key, m.created_at, counts, len(columns))).items():
        row = rows.setdefault(k, Row(k))
        for i, name in enumerate(DURATIONS):
            setattr(row, _attr(name), _stats(cols[i]))


async def _sliced(
    session: AsyncSession,
    q: ReportQuery,
    scan: Select[Any],
    raw_key: Any,
    time_column: Any,
    counts: list[tuple[Any, int]] | None,
    width: int,
) -> dict[Any, list[list[float]]]:
    """Run `scan` (value columns only) in group order and cut it into groups by `counts` (key, rows), which
    come in the same order: no key travels with each row and no per-row grouping happens in Python. At 100k
    rows the cost is creating Python objects, so the garbage collector is paused meanwhile (no cycles here).
    """
    if q.group_by in ("day", "week"):
        scan = scan.order_by(time_column)  # the range index already yields this order
    elif q.group_by != "none":
        scan = scan.order_by(raw_key)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        rows = await _sqlite_rows(session, scan)
        out: dict[Any, list[list[float]]] = {}
        pos = 0
        if counts is None:
            counts = [("all", len(rows))] if rows else []
        # cut into contiguous groups, one list per value column with the NULLs left out
        for k, n in counts:
            chunk = rows[pos : pos + n]
            pos += n
            columns = list(zip(*chunk, strict=True)) if chunk else [() for _ in range(width)]
            out[k] = [[v for v in col if v is not None] for col in columns]
    finally:
        if was_enabled:
            gc.enable()
    return out


async def _sqlite_rows(session: AsyncSession, query: Any) -> list[tuple[Any, ...]]:
    """Plain tuples straight from the sqlite3 driver, on a pooled connection outside any transaction.

    Building SQLAlchemy Row objects for 100k rows costs more than the query; and a session transaction would
    begin with BEGIN IMMEDIATE (the kernel's writer lock), while these autocommit reads run beside writers
    under WAL and never hold up ingest. Parameters here are only dates, ids and strings.
    """
    async with get_engine().connect() as conn:
        compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        params = compiled.construct_params()
        values = [_sqlite_param(params[name]) for name in compiled.positiontup or []]
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        rows = await driver.execute_fetchall(str(compiled), values)
        return list(rows)


async def _fetch(session: AsyncSession, query: Any) -> list[tuple[Any, ...]]:
    if is_postgres(session):
        return [tuple(r) for r in (await session.execute(query)).all()]
    return await _sqlite_rows(session, query)


def _sqlite_param(value: Any) -> Any:
    if isinstance(value, datetime):
        # the storage format of DateTimeUTC on SQLite: naive UTC text
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _attr(name: str) -> str:
    return name.replace("_seconds", "")


def _num(stats: dict[str, Any]) -> dict[str, float | None]:
    return {k: (float(v) if v is not None else None) if k != "count" else int(v or 0) for k, v in stats.items()}


def _fill_counters(row: Row, rec: Sequence[Any]) -> None:
    n, resolved, targets, breaches, csat_n, csat_avg, csat_ok = rec
    row.conversations = int(n)
    row.resolved = int(resolved)
    row.sla_targets = int(targets or 0)
    row.sla_breaches = int(breaches or 0)
    row.sla_compliance = (1 - row.sla_breaches / row.sla_targets) if row.sla_targets else None
    row.csat_responses = int(csat_n)
    row.csat_average = float(csat_avg) if csat_avg is not None else None
    row.csat_satisfied = (int(csat_ok) / int(csat_n)) if csat_n else None


async def _response_part(session: AsyncSession, q: ReportQuery, rows: dict[Any, Row]) -> None:
    pg = is_postgres(session)
    r = ResponseMetric
    raw_key = _key(q.group_by, r, r.responded_at, pg)
    key = raw_key.label("k")
    base = select(key).select_from(r).where(r.kind == "next")
    if pg:
        aggs = []
        for col in (r.seconds, r.bh_seconds):
            aggs += [
                func.percentile_cont(0.5).within_group(col.asc()),
                func.percentile_cont(0.9).within_group(col.asc()),
                func.avg(col),
                func.count(col),
            ]
        query = _filtered(base.add_columns(*aggs), r, q, r.responded_at).group_by(key)
        for rec in (await session.execute(query)).all():
            row = rows.setdefault(rec[0], Row(rec[0]))
            row.next_response = _num(dict(zip(("median", "p90", "avg", "count"), rec[1:5], strict=True)))
            row.next_response_bh = _num(dict(zip(("median", "p90", "avg", "count"), rec[5:9], strict=True)))
        return
    counts: list[tuple[Any, int]] | None = None  # one group: no need to count first
    if q.group_by != "none":
        count_query = _filtered(base.add_columns(func.count()), r, q, r.responded_at).group_by(key).order_by(key)
        counts = [(k, int(n)) for k, n in await _sqlite_rows(session, count_query)]
    scan = _filtered(select(r.seconds, r.bh_seconds).where(r.kind == "next"), r, q, r.responded_at)
    for k, cols in (await _sliced(session, q, scan, raw_key, r.responded_at, counts, 2)).items():
        row = rows.setdefault(k, Row(k))
        row.next_response = _stats(cols[0])
        row.next_response_bh = _stats(cols[1])


async def _labels(session: AsyncSession, group: str, keys: list[Any]) -> dict[Any, str]:
    ids = [k for k in keys if isinstance(k, int)]
    if group == "agent" and ids:
        rows = await _fetch(session, select(User.id, User.name, User.email).where(User.id.in_(ids)))
        return {i: n or e for i, n, e in rows}
    if group == "team" and ids:
        return {i: n for i, n in await _fetch(session, select(Team.id, Team.name).where(Team.id.in_(ids)))}
    if group == "inbox" and ids:
        return {i: n for i, n in await _fetch(session, select(Inbox.id, Inbox.name).where(Inbox.id.in_(ids)))}
    return {}


EMPTY: dict[str, float | None] = {"median": None, "p90": None, "avg": None, "count": 0}


async def run(session: AsyncSession, q: ReportQuery) -> dict[str, Any]:
    rows: dict[Any, Row] = {}
    if is_postgres(session):
        # Two independent scans: on PostgreSQL they run at once, on a second connection.
        async with sessionmaker()() as other:
            await asyncio.gather(_conversation_part(session, q, rows), _response_part(other, q, rows))
    else:
        await _conversation_part(session, q, rows)
        await _response_part(session, q, rows)
    labels = await _labels(session, q.group_by, list(rows))
    out = []
    for key in sorted(rows, key=lambda k: (k is None, str(k) if not isinstance(k, int) else f"{k:020d}")):
        row = rows[key]
        for name in (
            "first_response",
            "first_response_bh",
            "next_response",
            "next_response_bh",
            "resolution",
            "resolution_bh",
        ):
            if not getattr(row, name):
                setattr(row, name, dict(EMPTY))
        if q.group_by == "none":
            row.label = "All"
        elif key is None:
            row.label = {"agent": "Unassigned", "team": "No team"}.get(q.group_by, "None")
        else:
            row.label = labels.get(key, str(key))
        out.append(row.as_dict())
    return {
        "from": q.start.date().isoformat(),
        "to": (q.end - timedelta(days=1)).date().isoformat(),
        "group_by": q.group_by,
        "rows": out,
    }


CSV_COLUMNS = [
    "key",
    "label",
    "conversations",
    "resolved",
    *[
        f"{metric}_{stat}"
        for metric in (
            "first_response",
            "first_response_bh",
            "next_response",
            "next_response_bh",
            "resolution",
            "resolution_bh",
        )
        for stat in ("median", "p90", "avg", "count")
    ],
    "sla_targets",
    "sla_breaches",
    "sla_compliance",
    "csat_responses",
    "csat_average",
    "csat_satisfied",
]


def to_csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for row in report["rows"]:
        flat: dict[str, Any] = {"key": row["key"], "label": row["label"]}
        flat["conversations"], flat["resolved"] = row["conversations"], row["resolved"]
        for metric in (
            "first_response",
            "first_response_bh",
            "next_response",
            "next_response_bh",
            "resolution",
            "resolution_bh",
        ):
            for stat in ("median", "p90", "avg", "count"):
                flat[f"{metric}_{stat}"] = row[metric].get(stat)
        flat["sla_targets"], flat["sla_breaches"] = row["sla"]["targets"], row["sla"]["breaches"]
        flat["sla_compliance"] = row["sla"]["compliance"]
        flat["csat_responses"], flat["csat_average"] = row["csat"]["responses"], row["csat"]["average"]
        flat["csat_satisfied"] = row["csat"]["satisfied"]
        writer.writerow(
            [
                "" if flat[c] is None else (round(flat[c], 3) if isinstance(flat[c], float) else flat[c])
                for c in CSV_COLUMNS
            ]
        )
    return buf.getvalue()
