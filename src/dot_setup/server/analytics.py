"""The questions Dot answers, as SQL over the demo dataset (SQLAlchemy Core, both databases).

No function here checks permissions: `mcp_app.py` does that before calling any of them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dot_setup.server import schema as s
from dot_setup.server.seed import quarter_start, shift_quarters

MAX_ROWS = 500


class QueryError(ValueError):
    """A question that cannot be answered as asked; the message says how to ask it."""


@dataclass(frozen=True)
class Period:
    label: str
    start: dt.date
    end: dt.date  # exclusive

    def bounds(self) -> tuple[str, str]:
        return self.start.isoformat(), self.end.isoformat()

    def describe(self) -> dict[str, str]:
        return {
            "period": self.label,
            "from": self.start.isoformat(),
            "to": (self.end - dt.timedelta(days=1)).isoformat(),
        }


def _month(day: dt.date, n: int = 0) -> dt.date:
    months = day.year * 12 + day.month - 1 + n
    return dt.date(months // 12, months % 12 + 1, 1)


PERIOD_HELP = "this_month, last_month, this_quarter, last_quarter, this_year, last_year, YYYY, YYYY-MM or YYYY-Qn"


def parse_period(text: str, today: dt.date) -> Period:
    try:
        return _parse_period(text, today)
    except ValueError as exc:  # year 0, or a period ending after year 9999
        if isinstance(exc, QueryError):
            raise
        raise QueryError(
            f"period {text!r} is outside the calendar (years 1 to 9998); use {PERIOD_HELP}"
        ) from None


def _parse_period(text: str, today: dt.date) -> Period:
    t = text.strip().lower().replace(" ", "_")
    tomorrow = today + dt.timedelta(days=1)
    if t == "this_month":
        return Period(f"this month ({today:%Y-%m}, to date)", _month(today), tomorrow)
    if t == "last_month":
        return Period(f"last month ({_month(today, -1):%Y-%m})", _month(today, -1), _month(today))
    if t == "this_quarter":
        q = quarter_start(today)
        return Period(f"this quarter ({_qlabel(q)}, to date)", q, tomorrow)
    if t == "last_quarter":
        q = shift_quarters(quarter_start(today), -1)
        return Period(f"last quarter ({_qlabel(q)})", q, quarter_start(today))
    if t == "this_year":
        return Period(f"this year ({today.year}, to date)", dt.date(today.year, 1, 1), tomorrow)
    if t == "last_year":
        y = today.year - 1
        return Period(str(y), dt.date(y, 1, 1), dt.date(y + 1, 1, 1))
    if m := re.fullmatch(r"(\d{4})-q([1-4])", t):
        q = dt.date(int(m[1]), 3 * int(m[2]) - 2, 1)
        return Period(_qlabel(q), q, shift_quarters(q, 1))
    if (m := re.fullmatch(r"(\d{4})-(\d{2})", t)) and 1 <= int(m[2]) <= 12:
        first = dt.date(int(m[1]), int(m[2]), 1)
        return Period(f"{first:%Y-%m}", first, _month(first, 1))
    if re.fullmatch(r"\d{4}", t):
        y = int(t)
        return Period(t, dt.date(y, 1, 1), dt.date(y + 1, 1, 1))
    raise QueryError(f"unknown period {text!r}; use {PERIOD_HELP}")


def _qlabel(q: dt.date) -> str:
    return f"{q.year}-Q{(q.month - 1) // 3 + 1}"


def _in(period: Period) -> Any:
    lo, hi = period.bounds()
    return and_(s.orders.c.order_date >= lo, s.orders.c.order_date < hi)


async def _totals(conn: AsyncConnection, period: Period) -> dict[str, Any]:
    row = (
        await conn.execute(
            select(
                func.coalesce(func.sum(s.orders.c.amount), 0),
                func.count(),
                func.count(func.distinct(s.orders.c.customer_id)),
            ).where(_in(period))
        )
    ).one()
    revenue, n, customers = float(row[0]), int(row[1]), int(row[2])
    return {
        **period.describe(),
        "revenue": round(revenue, 2),
        "orders": n,
        "customers": customers,
        "average_order_value": round(revenue / n, 2) if n else 0.0,
        "currency": "USD",
    }


async def total_sales(conn: AsyncConnection, period: str, today: dt.date) -> dict[str, Any]:
    return await _totals(conn, parse_period(period, today))


async def top_customers(
    conn: AsyncConnection, limit: int, period: str | None, today: dt.date
) -> dict[str, Any]:
    if not 1 <= limit <= 100:
        raise QueryError("limit must be between 1 and 100")
    revenue = func.sum(s.orders.c.amount).label("revenue")
    q: Select[Any] = (
        select(
            s.customers.c.name,
            s.customers.c.country,
            s.customers.c.segment,
            revenue,
            func.count().label("orders"),
        )
        .select_from(s.orders.join(s.customers, s.orders.c.customer_id == s.customers.c.id))
        .group_by(
            s.customers.c.id, s.customers.c.name, s.customers.c.country, s.customers.c.segment
        )
        .order_by(revenue.desc(), s.customers.c.name)
        .limit(limit)
    )
    scope: dict[str, str] = {"period": "all time"}
    if period:
        p = parse_period(period, today)
        q = q.where(_in(p))
        scope = p.describe()
    rows = (await conn.execute(q)).all()
    return {
        **scope,
        "currency": "USD",
        "customers": [
            {
                "rank": i + 1,
                "customer": r.name,
                "country": r.country,
                "segment": r.segment,
                "revenue": round(float(r.revenue), 2),
                "orders": int(r.orders),
            }
            for i, r in enumerate(rows)
        ],
    }


async def compare_periods(conn: AsyncConnection, unit: str, today: dt.date) -> dict[str, Any]:
    """This month (or quarter) to date against the same days of the previous one, and its total."""
    if unit not in ("month", "quarter"):
        raise QueryError("unit must be 'month' or 'quarter'")
    if unit == "month":
        cur_start, prev_start = _month(today), _month(today, -1)
    else:
        cur_start = quarter_start(today)
        prev_start = shift_quarters(cur_start, -1)
    elapsed = (today - cur_start).days + 1
    prev_same_end = min(prev_start + dt.timedelta(days=elapsed), cur_start)
    current = await _totals(
        conn, Period(f"this {unit} to date", cur_start, today + dt.timedelta(days=1))
    )
    same = await _totals(
        conn, Period(f"last {unit}, same {elapsed} days", prev_start, prev_same_end)
    )
    full = await _totals(conn, Period(f"last {unit} (full)", prev_start, cur_start))

    def change(a: float, b: float) -> float | None:
        return round((a - b) / b * 100, 1) if b else None

    return {
        "current": current,
        "previous_same_days": same,
        "previous_full": full,
        "revenue_change_pct": change(current["revenue"], same["revenue"]),
        "orders_change_pct": change(current["orders"], same["orders"]),
    }


async def describe_sources(conn: AsyncConnection, allowed: list[str]) -> list[dict[str, Any]]:
    rows = (
        await conn.execute(
            select(s.sources).where(s.sources.c.id.in_(allowed)).order_by(s.sources.c.id)
        )
    ).all()
    out = []
    for r in rows:
        tables = []
        for name, source in s.TABLE_SOURCE.items():
            if source != r.id:
                continue
            table = s.DATA_TABLES[name]
            count = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
            tables.append(
                {"table": name, "rows": int(count), "columns": [c.name for c in table.columns]}
            )
        out.append({"source": r.id, "name": r.name, "description": r.description, "tables": tables})
    return out


_OPS = {"eq", "ne", "gt", "gte", "lt", "lte", "in", "contains"}
_AGGS: dict[str, Any] = {
    "count": func.count,
    "sum": func.sum,
    "avg": func.avg,
    "min": func.min,
    "max": func.max,
}


def _column(table: Any, name: str) -> Any:
    if name not in table.c:
        raise QueryError(
            f"table {table.name!r} has no column {name!r}; columns: {', '.join(c.name for c in table.columns)}"
        )
    return table.c[name]


def _scalar(value: Any) -> Any:
    """A filter value must be one text, number, boolean or null (a list or object is refused)."""
    if value is not None and not isinstance(value, str | int | float | bool):
        raise QueryError(
            "a filter value must be text, a number, true/false or null; "
            'for several values use {"in": [...]}'
        )
    return value


def _condition(col: Any, spec: Any) -> Any:
    if not isinstance(spec, dict):
        return col == _scalar(spec)
    parts = []
    for op, value in spec.items():
        if op not in _OPS:
            raise QueryError(f"unknown filter operator {op!r}; use {', '.join(sorted(_OPS))}")
        if op == "in":
            if not isinstance(value, list):
                raise QueryError("'in' takes a list")
            parts.append(col.in_([_scalar(v) for v in value]))
        elif op == "contains":
            parts.append(col.icontains(str(value), autoescape=True))  # same on both databases
        else:
            parts.append(
                {
                    "eq": col.__eq__,
                    "ne": col.__ne__,
                    "gt": col.__gt__,
                    "gte": col.__ge__,
                    "lt": col.__lt__,
                    "lte": col.__le__,
                }[op](_scalar(value))
            )
    return and_(*parts)


async def run_query(
    conn: AsyncConnection,
    table_name: str,
    columns: list[str] | None,
    filters: dict[str, Any] | None,
    group_by: list[str] | None,
    metrics: list[str] | None,
    order_by: str | None,
    descending: bool,
    limit: int,
) -> dict[str, Any]:
    """A read-only, structured SELECT on one table (no SQL text from the caller is executed)."""
    table = s.DATA_TABLES[table_name]
    if not 1 <= limit <= MAX_ROWS:
        raise QueryError(f"limit must be between 1 and {MAX_ROWS}")
    selected: list[Any] = []
    for name in group_by or []:
        selected.append(_column(table, name))
    for metric in metrics or []:
        fn, _, colname = metric.partition(":")
        if fn not in _AGGS:
            raise QueryError(
                f"unknown metric {metric!r}; use count, sum:COL, avg:COL, min:COL or max:COL"
            )
        expr = func.count() if fn == "count" and not colname else _AGGS[fn](_column(table, colname))
        selected.append(expr.label(metric.replace(":", "_")))
    if not metrics:
        if group_by:
            selected.append(func.count().label("count"))
        else:
            selected = [_column(table, c) for c in (columns or [c.name for c in table.columns])]
    elif columns:
        raise QueryError("use either columns (rows) or metrics (aggregates), not both")
    q: Select[Any] = select(*selected).select_from(table)
    for name, spec in (filters or {}).items():
        q = q.where(_condition(_column(table, name), spec))
    if group_by:
        q = q.group_by(*[_column(table, g) for g in group_by])
    if order_by:
        labels = {getattr(c, "name", None) or getattr(c, "key", None) for c in selected}
        target = order_by if order_by in labels else None
        key: Any = _column(table, order_by) if target is None else target
        if target is not None:
            from sqlalchemy import literal_column

            key = literal_column(target)
        q = q.order_by(key.desc() if descending else key.asc())
    q = q.limit(limit + 1)
    result = await conn.execute(q)
    keys = list(result.keys())
    rows = [
        dict(zip(keys, (round(v, 2) if isinstance(v, float) else v for v in r), strict=True))
        for r in result.all()
    ]
    truncated = len(rows) > limit
    return {
        "table": table_name,
        "rows": rows[:limit],
        "row_count": min(len(rows), limit),
        "truncated": truncated,
    }
