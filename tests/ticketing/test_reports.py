"""Reports against a seeded scenario whose every figure was computed by hand (see the comments), and the
event subscribers that keep the metrics tables current."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from hub import events
from hub.db import session_scope
from hub.models import Conversation, ConversationTag
from tests.factories import auth_headers, make_inbox, make_team, make_user
from tests.ticketing.conftest import inbound, reply
from ticketing import service
from ticketing.models import ConversationMetrics, ResponseMetric
from ticketing.reports import percentile
from ticketing.service import Actor


def at(day, hour):
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.fixture(scope="session")
async def scenario(client):
    """Five conversations over two inboxes, two agents, one team, three days in two ISO weeks."""
    team = await make_team()
    a = await make_inbox("api", team_id=team.id)
    b = await make_inbox("sms")
    u1 = await make_user("agent", name="Una")
    u2 = await make_user("agent", name="Ugo")
    # inbox, team, agent, created, frt, frt_bh, res, res_bh, sla targets, breaches, csat, tags
    seeds = [
        (a, team.id, u1.id, at(2, 10), 60, 60, 3600, 3000, 2, 0, 5, ["billing"]),
        (a, team.id, u1.id, at(2, 11), 120, 100, 7200, 5000, 2, 1, 4, ["billing", "vip"]),
        (a, team.id, u2.id, at(3, 9), 180, 180, None, None, 1, 1, None, []),
        (b, None, u2.id, at(3, 12), 240, 200, 1800, 1800, 0, 0, 2, ["vip"]),
        (b, None, None, at(10, 8), 600, 0, None, None, 0, 0, None, []),
    ]
    ids = []
    for i, (inbox, team_id, agent, created, frt, frt_bh, res, res_bh, targets, breaches, score, tags) in enumerate(
        seeds
    ):
        sender = f"+1415555{inbox.id % 1000:03d}{i}" if inbox.channel == "sms" else f"seed{i}"
        cid = (await inbound(inbox, sender, "seed")).conversation_id
        ids.append(cid)
        async with session_scope() as session:
            await session.execute(
                update(Conversation)
                .where(Conversation.id == cid)
                .values(team_id=team_id, assignee_id=agent, created_at=created)
            )
            await session.execute(
                update(ConversationMetrics)
                .where(ConversationMetrics.conversation_id == cid)
                .values(
                    team_id=team_id,
                    assignee_id=agent,
                    created_at=created,
                    first_response_at=created + timedelta(seconds=frt),
                    first_response_seconds=frt,
                    first_response_bh_seconds=frt_bh,
                    resolved_at=created + timedelta(seconds=res) if res else None,
                    resolution_seconds=res,
                    resolution_bh_seconds=res_bh,
                    resolutions=1 if res else 0,
                    sla_targets=targets,
                    sla_breaches=breaches,
                    csat_score=score,
                    waiting_since=None,
                )
            )
            for tag in tags:
                session.add(ConversationTag(conversation_id=cid, tag=tag))
    # next responses: (conversation index, agent, responded at, seconds, business seconds)
    for index, agent, responded, seconds, bh in [
        (0, u1.id, at(2, 12), 300, 300),
        (1, u1.id, at(2, 13), 100, 50),
        (3, u2.id, at(3, 14), 500, 400),
    ]:
        inbox, team_id = seeds[index][0], seeds[index][1]
        async with session_scope() as session:
            session.add(
                ResponseMetric(
                    conversation_id=ids[index],
                    kind="next",
                    inbox_id=inbox.id,
                    channel=inbox.channel,
                    team_id=team_id,
                    agent_id=agent,
                    waiting_since=responded - timedelta(seconds=seconds),
                    responded_at=responded,
                    seconds=seconds,
                    bh_seconds=bh,
                )
            )
    manager = await make_user("manager")
    return {"a": a, "b": b, "team": team, "u1": u1, "u2": u2, "headers": await auth_headers(manager)}


async def report(client, scenario, group_by, **extra):
    params = {
        "from": "2026-03-01",
        "to": "2026-03-31",
        "group_by": group_by,
        "inbox_id": [scenario["a"].id, scenario["b"].id],
        **extra,
    }
    resp = await client.get("/api/v1/reports/summary", params=params, headers=scenario["headers"])
    assert resp.status_code == 200, resp.text
    return resp


def approx(stats, median, p90, avg, count):
    assert stats["median"] == pytest.approx(median)
    assert stats["p90"] == pytest.approx(p90)
    assert stats["avg"] == pytest.approx(avg)
    assert stats["count"] == count


def test_percentile_matches_percentile_cont():
    assert percentile([60, 120, 180, 240, 600], 0.9) == pytest.approx(456)
    assert percentile([5], 0.9) == 5
    assert percentile([], 0.5) is None


def test_stats_match_the_reference_formula():
    import random

    from ticketing.reports import _stats

    rnd = random.Random(5)
    for n in (1, 2, 7, 100, 1001):
        values = [rnd.lognormvariate(5, 1) for _ in range(n)]
        got = _stats(values)
        ordered = sorted(values)
        assert got["median"] == pytest.approx(percentile(ordered, 0.5))
        assert got["p90"] == pytest.approx(percentile(ordered, 0.9))
        assert got["avg"] == pytest.approx(sum(values) / n)
        assert got["count"] == n


async def test_overall_figures(client, scenario):
    [row] = (await report(client, scenario, "none")).json()["rows"]
    assert (row["conversations"], row["resolved"]) == (5, 3)
    # FRT sorted 60,120,180,240,600: median 180; p90 at rank 3.6 = 240 + 0.6*360 = 456; avg 1200/5
    approx(row["first_response"], 180, 456, 240, 5)
    # business hours 0,60,100,180,200: median 100; p90 = 180 + 0.6*20 = 192; avg 540/5
    approx(row["first_response_bh"], 100, 192, 108, 5)
    # resolution 1800,3600,7200: median 3600; p90 at rank 1.8 = 3600 + 0.8*3600 = 6480; avg 12600/3
    approx(row["resolution"], 3600, 6480, 4200, 3)
    approx(row["resolution_bh"], 3000, 4600, 9800 / 3, 3)
    # next responses 100,300,500: median 300; p90 = 300 + 0.8*200 = 460; avg 300
    approx(row["next_response"], 300, 460, 300, 3)
    approx(row["next_response_bh"], 300, 380, 250, 3)
    assert row["sla"] == {"targets": 5, "breaches": 2, "compliance": pytest.approx(0.6)}
    assert row["csat"]["responses"] == 3
    assert row["csat"]["average"] == pytest.approx(11 / 3)
    assert row["csat"]["satisfied"] == pytest.approx(2 / 3)


async def test_by_agent(client, scenario):
    rows = {r["key"]: r for r in (await report(client, scenario, "agent")).json()["rows"]}
    u1, u2 = rows[scenario["u1"].id], rows[scenario["u2"].id]
    assert u1["label"] == "Una" and rows[None]["label"] == "Unassigned"
    approx(u1["first_response"], 90, 114, 90, 2)  # 60,120: p90 = 60 + 0.9*60
    approx(u1["resolution"], 5400, 6840, 5400, 2)
    approx(u1["next_response"], 200, 280, 200, 2)  # 100,300
    assert u1["sla"]["compliance"] == pytest.approx(0.75)
    assert (u1["csat"]["average"], u1["csat"]["satisfied"]) == (4.5, 1.0)
    approx(u2["first_response"], 210, 234, 210, 2)
    approx(u2["resolution"], 1800, 1800, 1800, 1)
    approx(u2["next_response"], 500, 500, 500, 1)
    assert u2["sla"]["compliance"] == 0.0 and u2["csat"]["satisfied"] == 0.0
    assert rows[None]["conversations"] == 1 and rows[None]["first_response"]["median"] == 600


async def test_by_team_inbox_channel(client, scenario):
    teams = {r["key"]: r for r in (await report(client, scenario, "team")).json()["rows"]}
    assert teams[scenario["team"].id]["conversations"] == 3 and teams[None]["conversations"] == 2
    approx(teams[scenario["team"].id]["first_response"], 120, 168, 120, 3)  # 60,120,180: p90 = 120 + 0.8*60
    inboxes = {r["key"]: r for r in (await report(client, scenario, "inbox")).json()["rows"]}
    assert inboxes[scenario["a"].id]["label"] == scenario["a"].name
    approx(inboxes[scenario["b"].id]["first_response"], 420, 564, 420, 2)  # 240,600
    channels = {r["key"]: r for r in (await report(client, scenario, "channel")).json()["rows"]}
    assert (channels["api"]["conversations"], channels["sms"]["conversations"]) == (3, 2)
    approx(channels["sms"]["next_response"], 500, 500, 500, 1)
    only_sms = (await report(client, scenario, "none", channel="sms")).json()["rows"][0]
    assert only_sms["conversations"] == 2


async def test_by_tag(client, scenario):
    rows = {r["key"]: r for r in (await report(client, scenario, "tag")).json()["rows"]}
    assert set(rows) == {"billing", "vip"}
    approx(rows["billing"]["first_response"], 90, 114, 90, 2)
    approx(rows["vip"]["first_response"], 180, 228, 180, 2)  # 120,240: p90 = 120 + 0.9*120
    approx(rows["vip"]["next_response"], 300, 460, 300, 2)  # 100,500
    assert rows["vip"]["csat"]["average"] == 3.0  # 4 and 2


async def test_over_time(client, scenario):
    days = {r["key"]: r for r in (await report(client, scenario, "day")).json()["rows"]}
    assert {k: r["conversations"] for k, r in days.items()} == {"2026-03-02": 2, "2026-03-03": 2, "2026-03-10": 1}
    approx(days["2026-03-03"]["first_response"], 210, 234, 210, 2)
    assert days["2026-03-02"]["next_response"]["count"] == 2
    weeks = {r["key"]: r for r in (await report(client, scenario, "week")).json()["rows"]}
    assert {k: r["conversations"] for k, r in weeks.items()} == {"2026-03-02": 4, "2026-03-09": 1}
    assert weeks["2026-03-02"]["sla"]["compliance"] == pytest.approx(0.6)


async def test_csv_export(client, scenario):
    resp = await report(client, scenario, "none", format="csv")
    assert resp.headers["content-type"].startswith("text/csv")
    [row] = list(csv.DictReader(io.StringIO(resp.text)))
    assert row["conversations"] == "5"
    assert float(row["first_response_p90"]) == 456
    assert float(row["resolution_bh_avg"]) == pytest.approx(3266.667)
    assert float(row["sla_compliance"]) == 0.6


async def test_report_permissions_and_validation(client, scenario):
    agent = await make_user("agent")
    resp = await client.get("/api/v1/reports/summary", headers=await auth_headers(agent))
    assert resp.status_code == 403
    resp = await client.get("/api/v1/reports/summary", params={"group_by": "planet"}, headers=scenario["headers"])
    assert resp.status_code == 400 and "group_by" in resp.json()["detail"]
    resp = await client.get(
        "/api/v1/reports/summary", params={"from": "2026-03-05", "to": "2026-03-01"}, headers=scenario["headers"]
    )
    assert resp.status_code == 400


async def test_subscribers_fill_the_metrics(client, jobs):
    inbox = await make_inbox()
    agent = await make_user("agent", inbox_ids=[inbox.id])
    cid = (await inbound(inbox, "metric")).conversation_id
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    async with session_scope() as session:
        await session.execute(
            update(ConversationMetrics)
            .where(ConversationMetrics.conversation_id == cid)
            .values(created_at=hour_ago, waiting_since=hour_ago)
        )
    await reply(cid, agent.id)
    await inbound(inbox, "metric", "again")
    ten_min_ago = datetime.now(UTC) - timedelta(minutes=10)
    async with session_scope() as session:
        await session.execute(
            update(ConversationMetrics)
            .where(ConversationMetrics.conversation_id == cid)
            .values(waiting_since=ten_min_ago)
        )
    await reply(cid, agent.id)
    await service.update(cid, Actor("agent", agent.id), status="resolved")
    await events.drain()  # ticketing reacts in the background
    async with session_scope() as session:
        row = await session.get(ConversationMetrics, cid)
        responses = list(
            (
                await session.execute(
                    select(ResponseMetric).where(ResponseMetric.conversation_id == cid).order_by(ResponseMetric.id)
                )
            ).scalars()
        )
    assert 3600 <= row.first_response_seconds < 3900
    assert [r.kind for r in responses] == ["first", "next"]
    assert 600 <= responses[1].seconds < 900 and responses[1].agent_id == agent.id
    assert row.resolutions == 1 and row.resolution_seconds >= row.first_response_seconds
    assert row.waiting_since is None


async def test_sqlite_report_does_not_wait_for_a_writer(client, stack, scenario):
    """On SQLite a report reads beside an open write transaction (WAL) instead of queueing behind it."""
    import asyncio

    if stack.is_pg:
        pytest.skip("PostgreSQL readers never wait for writers")
    from hub.db import sessionmaker
    from hub.models import Team
    from ticketing import reports

    query = reports.ReportQuery.build(
        datetime(2026, 3, 1).date(), datetime(2026, 3, 31).date(), "none", [scenario["a"].id]
    )
    async with session_scope() as session:
        await session.execute(update(Team).where(Team.id == scenario["team"].id).values(description="busy"))
        async with sessionmaker()() as reader:
            report = await asyncio.wait_for(reports.run(reader, query), 10)
    assert report["rows"][0]["conversations"] == 3
