"""Dot's MCP tools through the real SDK client: the right answers, permissions, the query log.

Every expected number is computed here, independently, with `sqlite3` on the server's database
file (the server's "today" is its clock's UTC date), and compared with what the tools answer.
The analyst may read sales and marketing, the admin every source; a call on a source the user
lacks is an error *result* ("Permission denied") that the admin's query log records as denied.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult
from tests.server.live import ADMIN, ANALYST, LiveServer

Call = tuple[str, dict[str, Any]]


@pytest.fixture(scope="module")
def who(server: LiveServer) -> dict[str, Any]:
    """Credentials: the analyst's OAuth sign-in (token + client id) and both users' MCP tokens."""
    analyst = server.sign_in(ANALYST)
    admin = server.sign_in(ADMIN)
    pats = {}
    for email, tokens in ((ANALYST, analyst), (ADMIN, admin)):
        resp = server.api("POST", "/api/mcp-token", tokens["access_token"])
        assert resp.status_code == 201, resp.text
        pats[email] = resp.json()["token"]
    return {"analyst_oauth": analyst, "admin_access": admin["access_token"], "pat": pats}


@pytest.fixture(scope="module")
def db(server: LiveServer) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(server.db_path, timeout=10)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def today(server: LiveServer) -> dt.date:
    return dt.datetime.fromtimestamp(server.clock.now(), dt.UTC).date()


def run_calls(live: LiveServer, token: str, calls: list[Call]) -> list[CallToolResult]:
    """One SDK session (modern era) making these tool calls in order."""

    async def go() -> list[CallToolResult]:
        with anyio.fail_after(30):
            async with (
                httpx2.AsyncClient(
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=httpx2.Timeout(20, read=30),
                ) as http,
                Client(streamable_http_client(live.mcp_url, http_client=http)) as client,
            ):
                return [await client.call_tool(name, args) for name, args in calls]

    return asyncio.run(go())


def ok(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    content: dict[str, Any] | None = result.structured_content
    assert content is not None
    return content


def error_text(result: CallToolResult) -> str:
    assert result.is_error, result.structured_content
    text = " ".join(getattr(c, "text", "") for c in result.content)
    assert "Traceback" not in text and "SELECT" not in text.upper()
    return text


def month_start(day: dt.date, shift: int = 0) -> dt.date:
    n = day.year * 12 + day.month - 1 + shift
    return dt.date(n // 12, n % 12 + 1, 1)


def quarter_start(day: dt.date, shift: int = 0) -> dt.date:
    first = dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return month_start(first, 3 * shift)


def totals(db: sqlite3.Connection, where: str, *params: Any) -> tuple[float, int, int]:
    revenue, orders, customers = db.execute(
        "SELECT COALESCE(SUM(amount), 0), COUNT(*), COUNT(DISTINCT customer_id) FROM orders"
        f" WHERE {where}",
        params,
    ).fetchone()
    return float(revenue), int(orders), int(customers)


# -- permissions --------------------------------------------------------------------------------


def test_each_user_sees_only_the_sources_granted(
    server: LiveServer, who: dict[str, Any], db: sqlite3.Connection
) -> None:
    (analyst,) = run_calls(server, who["pat"][ANALYST], [("list_data_sources", {})])
    (admin,) = run_calls(server, who["pat"][ADMIN], [("list_data_sources", {})])
    seen = ok(analyst)
    assert seen["user"] == ANALYST
    assert [s["source"] for s in seen["sources"]] == ["marketing", "sales"]
    tables = {t["table"]: t for s in seen["sources"] for t in s["tables"]}
    assert set(tables) == {"campaigns", "customers", "products", "orders"}
    for name, table in tables.items():
        (count,) = db.execute(f"SELECT COUNT(*) FROM {name}").fetchone()
        assert table["rows"] == count
    assert "amount" in tables["orders"]["columns"]

    everything = ok(admin)
    assert [s["source"] for s in everything["sources"]] == ["finance", "marketing", "sales"]
    finance = next(s for s in everything["sources"] if s["source"] == "finance")
    assert [t["table"] for t in finance["tables"]] == ["expenses"]


def test_a_denied_call_is_an_error_result_and_the_query_log_records_it(
    server: LiveServer, who: dict[str, Any], db: sqlite3.Connection
) -> None:
    oauth = who["analyst_oauth"]
    denied, allowed = run_calls(
        server,
        oauth["access_token"],
        [
            ("query", {"table": "expenses", "limit": 13}),
            ("query", {"table": "campaigns", "limit": 7}),
            ("query", {"table": "salaries", "limit": 3}),
        ],
    )[:2]
    text = error_text(denied)
    assert "Permission denied" in text and "finance" in text
    assert "Payroll" not in text  # no row of the source leaks into the error
    assert len(ok(allowed)["rows"]) == 7

    (as_pat,) = run_calls(server, who["pat"][ANALYST], [("top_customers", {"limit": 4})])
    assert len(ok(as_pat)["customers"]) == 4
    (admin_reads,) = run_calls(server, who["pat"][ADMIN], [("query", {"table": "expenses"})])
    (expense_rows,) = db.execute("SELECT COUNT(*) FROM expenses").fetchone()
    assert ok(admin_reads)["row_count"] == min(expense_rows, 100)

    assert server.api("GET", "/api/admin/query-log", oauth["access_token"]).status_code == 403
    resp = server.api("GET", "/api/admin/query-log?limit=50", who["admin_access"])
    assert resp.status_code == 200, resp.text
    entries = resp.json()["entries"]

    def entry(tool: str, **args: Any) -> dict[str, Any]:
        found = [
            e
            for e in entries
            if e["tool"] == tool and all(e["arguments"].get(k) == v for k, v in args.items())
        ]
        assert len(found) == 1, entries[:5]
        one: dict[str, Any] = found[0]
        return one

    no = entry("query", table="expenses", limit=13)
    assert no["allowed"] is False and no["rows"] == 0
    assert no["email"] == ANALYST and no["user_id"] == "u_analyst"
    assert no["client_id"] == oauth["client_id"] and no["via"] == "oauth"
    assert "finance" in no["error"]
    assert isinstance(no["duration_ms"], float) and no["duration_ms"] >= 0
    assert no["ts"] == pytest.approx(server.clock.now())

    yes = entry("query", table="campaigns", limit=7)
    assert yes["allowed"] is True and yes["rows"] == 7 and yes["error"] is None
    assert yes["client_id"] == oauth["client_id"]
    pat = entry("top_customers", limit=4)
    assert pat["allowed"] is True and pat["rows"] == 4
    assert pat["via"] == "pat" and pat["client_id"] == "personal-mcp-token"
    admin = entry("query", table="expenses", limit=100)
    assert admin["allowed"] is True and admin["email"] == ADMIN
    assert admin["rows"] == min(expense_rows, 100)
    unknown = entry("query", table="salaries", limit=3)  # a refused call is logged too
    assert unknown["rows"] == 0 and "unknown table" in unknown["error"]


# -- the answers are right ------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["last_quarter", "last_quarter_by_name", "last_month"])
def test_total_sales_matches_the_database(
    server: LiveServer, who: dict[str, Any], db: sqlite3.Connection, today: dt.date, period: str
) -> None:
    if period == "last_month":
        lo, hi = month_start(today, -1), month_start(today)
        asked = "last_month"
    else:
        lo, hi = quarter_start(today, -1), quarter_start(today)
        asked = (
            "last_quarter" if period == "last_quarter" else f"{lo.year}-Q{(lo.month - 1) // 3 + 1}"
        )
    revenue, orders, customers = totals(
        db, "order_date >= ? AND order_date < ?", lo.isoformat(), hi.isoformat()
    )
    assert orders > 0  # the demo data covers the last six quarters
    (result,) = run_calls(server, who["pat"][ANALYST], [("total_sales", {"period": asked})])
    got = ok(result)
    assert got["from"] == lo.isoformat()
    assert got["to"] == (hi - dt.timedelta(days=1)).isoformat()
    assert got["revenue"] == pytest.approx(revenue, abs=0.005)
    assert got["orders"] == orders and got["customers"] == customers
    assert got["average_order_value"] == pytest.approx(revenue / orders, abs=0.005)
    assert got["currency"] == "USD"


@pytest.mark.parametrize("period", [None, "last_quarter"])
def test_top_customers_match_the_database(
    server: LiveServer,
    who: dict[str, Any],
    db: sqlite3.Connection,
    today: dt.date,
    period: str | None,
) -> None:
    where = "1=1"
    params: tuple[str, ...] = ()
    if period:
        where = "o.order_date >= ? AND o.order_date < ?"
        params = (quarter_start(today, -1).isoformat(), quarter_start(today).isoformat())
    expected = db.execute(
        "SELECT c.name, c.country, SUM(o.amount) AS revenue, COUNT(*) FROM orders o"
        f" JOIN customers c ON c.id = o.customer_id WHERE {where}"
        " GROUP BY c.id ORDER BY revenue DESC, c.name LIMIT 10",
        params,
    ).fetchall()
    args: dict[str, Any] = {"limit": 10} | ({"period": period} if period else {})
    (result,) = run_calls(server, who["pat"][ANALYST], [("top_customers", args)])
    got = ok(result)["customers"]
    assert [c["rank"] for c in got] == list(range(1, 11))
    assert [(c["customer"], c["country"], c["orders"]) for c in got] == [
        (name, country, n) for name, country, _r, n in expected
    ]
    for c, row in zip(got, expected, strict=True):
        assert c["revenue"] == pytest.approx(row[2], abs=0.005)


def test_compare_periods_matches_the_database(
    server: LiveServer, who: dict[str, Any], db: sqlite3.Connection, today: dt.date
) -> None:
    month, prev = month_start(today), month_start(today, -1)
    current = totals(
        db, "order_date >= ? AND order_date <= ?", month.isoformat(), today.isoformat()
    )
    # "The same days": days 1..today's day of the previous month (all of it if it is shorter).
    same = totals(
        db,
        "order_date >= ? AND order_date < ? AND CAST(strftime('%d', order_date) AS INTEGER) <= ?",
        prev.isoformat(),
        month.isoformat(),
        today.day,
    )
    full = totals(db, "order_date >= ? AND order_date < ?", prev.isoformat(), month.isoformat())
    q, pq = quarter_start(today), quarter_start(today, -1)
    elapsed = (today - q).days + 1
    q_current = totals(db, "order_date >= ? AND order_date <= ?", q.isoformat(), today.isoformat())
    q_same = totals(
        db,
        "order_date >= ? AND order_date < ? AND julianday(order_date) - julianday(?) < ?",
        pq.isoformat(),
        q.isoformat(),
        pq.isoformat(),
        elapsed,
    )
    by_month, by_quarter = run_calls(
        server,
        who["pat"][ANALYST],
        [("compare_periods", {"unit": "month"}), ("compare_periods", {"unit": "quarter"})],
    )
    for got, (cur, prev_same, prev_full) in (
        (ok(by_month), (current, same, full)),
        (ok(by_quarter), (q_current, q_same, None)),
    ):
        for key, want in (("current", cur), ("previous_same_days", prev_same)):
            assert got[key]["revenue"] == pytest.approx(want[0], abs=0.005), key
            assert got[key]["orders"] == want[1], key
        if prev_full:
            assert got["previous_full"]["revenue"] == pytest.approx(prev_full[0], abs=0.005)
            assert got["previous_full"]["orders"] == prev_full[1]
        if prev_same[0]:
            change = (round(cur[0], 2) - round(prev_same[0], 2)) / round(prev_same[0], 2) * 100
            assert got["revenue_change_pct"] == pytest.approx(change, abs=0.051)
    assert ok(by_month)["current"]["from"] == month.isoformat()
    assert ok(by_month)["current"]["to"] == today.isoformat()


def test_query_with_filters_group_by_and_metrics(
    server: LiveServer, who: dict[str, Any], db: sqlite3.Connection, today: dt.date
) -> None:
    lo, hi = quarter_start(today, -1).isoformat(), quarter_start(today).isoformat()
    calls: list[Call] = [
        (
            "query",
            {
                "table": "orders",
                "filters": {"order_date": {"gte": lo, "lt": hi}},
                "metrics": ["sum:amount", "count"],
            },
        ),
        ("query", {"table": "customers", "group_by": ["segment"]}),
        (
            "query",
            {
                "table": "orders",
                "group_by": ["product_id"],
                "metrics": ["sum:amount"],
                "order_by": "sum_amount",
                "descending": True,
                "limit": 3,
            },
        ),
        (
            "query",
            {
                "table": "customers",
                "columns": ["name", "country"],
                "filters": {"country": {"in": ["DE", "FR"]}, "segment": "Enterprise"},
                "limit": 500,
            },
        ),
        (
            "query",
            {"table": "customers", "columns": ["name"], "filters": {"name": {"contains": "Labs"}}},
        ),
        ("query", {"table": "customers", "filters": {"name": {"contains": "%"}}}),
        (
            "query",
            {
                "table": "orders",
                "columns": ["id", "amount"],
                "order_by": "amount",
                "descending": True,
                "limit": 5,
            },
        ),
        (
            "query",
            {"table": "campaigns", "group_by": ["channel"], "metrics": ["avg:spend", "max:leads"]},
        ),
    ]
    results = [ok(r) for r in run_calls(server, who["pat"][ANALYST], calls)]
    quarter, segments, products, de_fr, labs, percent, biggest, channels = results

    revenue, orders, _ = totals(db, "order_date >= ? AND order_date < ?", lo, hi)
    assert quarter["rows"] == [{"sum_amount": pytest.approx(revenue, abs=0.005), "count": orders}]
    assert {r["segment"]: r["count"] for r in segments["rows"]} == dict(
        db.execute("SELECT segment, COUNT(*) FROM customers GROUP BY segment").fetchall()
    )
    top3 = db.execute(
        "SELECT product_id, SUM(amount) s FROM orders GROUP BY product_id ORDER BY s DESC LIMIT 3"
    ).fetchall()
    assert [r["product_id"] for r in products["rows"]] == [p for p, _s in top3]
    assert products["truncated"] is True and products["row_count"] == 3
    assert sorted((r["name"], r["country"]) for r in de_fr["rows"]) == sorted(
        db.execute(
            "SELECT name, country FROM customers"
            " WHERE country IN ('DE', 'FR') AND segment = 'Enterprise'"
        ).fetchall()
    )
    want_labs = {n for (n,) in db.execute("SELECT name FROM customers WHERE instr(name, 'Labs')")}
    assert want_labs and {r["name"] for r in labs["rows"]} == want_labs
    assert percent["rows"] == []  # "%" is a character to find, not a wildcard
    assert [r["amount"] for r in biggest["rows"]] == [
        pytest.approx(a, abs=0.005)
        for (a,) in db.execute("SELECT amount FROM orders ORDER BY amount DESC LIMIT 5")
    ]
    assert biggest["truncated"] is True
    want = {
        ch: (avg, mx)
        for ch, avg, mx in db.execute(
            "SELECT channel, AVG(spend), MAX(leads) FROM campaigns GROUP BY channel"
        )
    }
    assert {r["channel"]: (r["avg_spend"], r["max_leads"]) for r in channels["rows"]} == {
        ch: (pytest.approx(avg, abs=0.005), mx) for ch, (avg, mx) in want.items()
    }


# -- bad input ------------------------------------------------------------------------------------


BAD_QUERIES: dict[str, tuple[dict[str, Any], str]] = {
    "unknown column": ({"table": "orders", "columns": ["nope"]}, "has no column 'nope'"),
    "unknown filter column": (
        {"table": "orders", "filters": {"price": 1}},
        "has no column 'price'",
    ),
    "unknown operator": (
        {"table": "orders", "filters": {"amount": {"like": "%"}}},
        "unknown filter operator 'like'",
    ),
    "unknown metric": ({"table": "orders", "metrics": ["median:amount"]}, "unknown metric"),
    "metric on unknown column": (
        {"table": "orders", "metrics": ["sum:price"]},
        "has no column 'price'",
    ),
    "unknown group_by": ({"table": "orders", "group_by": ["region"]}, "has no column 'region'"),
    "unknown order_by": ({"table": "orders", "order_by": "revenue"}, "has no column 'revenue'"),
    "columns and metrics": (
        {"table": "orders", "columns": ["id"], "metrics": ["count"]},
        "not both",
    ),
    "in without a list": (
        {"table": "customers", "filters": {"country": {"in": "DE"}}},
        "'in' takes a list",
    ),
    "list as a value": (
        {"table": "customers", "filters": {"country": ["DE", "FR"]}},
        "filter value must be",
    ),
    "object as a value": (
        {"table": "orders", "filters": {"amount": {"gte": {"value": 1}}}},
        "filter value must be",
    ),
    "unknown table": ({"table": "salaries"}, "unknown table 'salaries'"),
    "limit 0": ({"table": "orders", "limit": 0}, "limit must be between 1 and 500"),
    "limit 501": ({"table": "orders", "limit": 501}, "limit must be between 1 and 500"),
}


@pytest.mark.parametrize("case", sorted(BAD_QUERIES))
def test_query_refuses_bad_input_with_a_clear_error(
    server: LiveServer, who: dict[str, Any], case: str
) -> None:
    args, message = BAD_QUERIES[case]
    (result,) = run_calls(server, who["pat"][ANALYST], [("query", args)])
    assert message in error_text(result)


def test_sql_injection_looking_input_is_refused_and_the_tables_survive(
    server: LiveServer, who: dict[str, Any], db: sqlite3.Connection
) -> None:
    counts = {
        t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("orders", "customers")
    }
    drop = "; DROP TABLE orders; --"
    refused: list[Call] = [
        ("query", {"table": "orders", "columns": ["amount; DROP TABLE orders"]}),
        ("query", {"table": "orders", "order_by": "amount" + drop}),
        ("query", {"table": "customers", "group_by": ["segment; DELETE FROM customers"]}),
        ("query", {"table": "orders", "metrics": ["sum:amount) FROM orders" + drop]}),
        ("query", {"table": "orders", "filters": {"1=1 OR amount": 0}}),
        ("query", {"table": "orders" + drop}),
        ("total_sales", {"period": "2026-Q1'" + drop}),
        ("top_customers", {"period": "last_year' OR '1'='1"}),
    ]
    literal: list[Call] = [
        ("query", {"table": "customers", "filters": {"name": "x' OR '1'='1"}}),
        ("query", {"table": "customers", "filters": {"segment": {"in": ["SMB') OR ('1'='1"]}}}),
    ]
    results = run_calls(server, who["pat"][ANALYST], refused + literal)
    for (_tool, args), result in zip(refused, results, strict=False):
        text = error_text(result)
        assert "unknown" in text or "has no column" in text, (args, text)
    for result in results[len(refused) :]:
        assert ok(result)["rows"] == []  # compared as a value, matching nothing
    for table, count in counts.items():
        assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == count
    (total,) = run_calls(
        server, who["pat"][ADMIN], [("query", {"table": "orders", "metrics": ["count"]})]
    )
    assert ok(total)["rows"] == [{"count": counts["orders"]}]


def test_limits_are_bounded(
    server: LiveServer, who: dict[str, Any], db: sqlite3.Connection
) -> None:
    (n_orders,) = db.execute("SELECT COUNT(*) FROM orders").fetchone()
    (n_campaigns,) = db.execute("SELECT COUNT(*) FROM campaigns").fetchone()
    assert n_orders > 500
    one, most, all_campaigns, default, top0, top101, top100 = run_calls(
        server,
        who["pat"][ANALYST],
        [
            ("query", {"table": "orders", "limit": 1}),
            ("query", {"table": "orders", "limit": 500}),
            ("query", {"table": "campaigns", "limit": 500}),
            ("query", {"table": "orders"}),
            ("top_customers", {"limit": 0}),
            ("top_customers", {"limit": 101}),
            ("top_customers", {"limit": 100}),
        ],
    )
    assert ok(one)["row_count"] == 1 and ok(one)["truncated"] is True
    assert len(ok(most)["rows"]) == 500 and ok(most)["truncated"] is True
    assert len(ok(all_campaigns)["rows"]) == n_campaigns
    assert ok(all_campaigns)["truncated"] is False
    assert len(ok(default)["rows"]) == 100
    assert "limit must be between 1 and 100" in error_text(top0)
    assert "limit must be between 1 and 100" in error_text(top101)
    assert len(ok(top100)["customers"]) == 100
