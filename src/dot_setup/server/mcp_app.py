"""The MCP server: Dot's tools over the demo dataset, with permissions and a query log.

Every call is checked in the server against the caller's data-source grants (a user never sees
rows of a source they lack) and logged, allowed or denied, with user, client, arguments, rows and
duration. A denial is a tool error result, not a transport error, so the AI client can say why.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from dot_setup import __version__
from dot_setup.server import accounts, analytics, querylog
from dot_setup.server import schema as s
from dot_setup.server.state import ServerState

INSTRUCTIONS = (
    "Dot answers questions about the organisation's business data. Start with "
    "list_data_sources to see what the user may query; use total_sales, top_customers and "
    "compare_periods for common sales questions and query for anything else."
)
READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


class Denied(Exception):
    pass


def build_mcp(state: ServerState) -> MCPServer:
    mcp = MCPServer(
        "Dot",
        title=f"Dot ({state.region.upper()})",
        version=__version__,
        instructions=INSTRUCTIONS,
        website_url=state.config.origin,
        log_level="WARNING",
    )

    def today() -> dt.date:
        return dt.datetime.fromtimestamp(state.now(), dt.UTC).date()

    @mcp.tool(annotations=READ_ONLY)
    async def list_data_sources() -> dict[str, Any]:
        """List the data sources you can query, with their tables, columns and row counts."""

        async def run(ctx: Any) -> dict[str, Any]:
            conn, user, allowed = ctx
            return {"user": user.email, "sources": await analytics.describe_sources(conn, allowed)}

        return await _call(state, "list_data_sources", {}, (), run)

    @mcp.tool(annotations=READ_ONLY)
    async def total_sales(period: str = "last_quarter") -> dict[str, Any]:
        """Total revenue, order count and customers for a period: this_month, last_month,
        this_quarter, last_quarter, this_year, last_year, YYYY, YYYY-MM or YYYY-Qn."""

        async def run(ctx: Any) -> dict[str, Any]:
            return await analytics.total_sales(ctx[0], period, today())

        return await _call(state, "total_sales", {"period": period}, ("sales",), run)

    @mcp.tool(annotations=READ_ONLY)
    async def top_customers(limit: int = 10, period: str | None = None) -> dict[str, Any]:
        """The top customers by revenue, all time or within a period (same periods as total_sales)."""

        async def run(ctx: Any) -> dict[str, Any]:
            return await analytics.top_customers(ctx[0], limit, period, today())

        return await _call(
            state, "top_customers", {"limit": limit, "period": period}, ("sales",), run
        )

    @mcp.tool(annotations=READ_ONLY)
    async def compare_periods(unit: str = "month") -> dict[str, Any]:
        """Compare this month (or quarter) to date with the same days of the previous one,
        and show the previous one's full total."""

        async def run(ctx: Any) -> dict[str, Any]:
            return await analytics.compare_periods(ctx[0], unit, today())

        return await _call(state, "compare_periods", {"unit": unit}, ("sales",), run)

    _add_query_tool(mcp, state)
    return mcp


def _add_query_tool(mcp: MCPServer, state: ServerState) -> None:
    """The structured read-only query: one table, filters, grouping, aggregates."""

    @mcp.tool(annotations=READ_ONLY)
    async def query(
        table: str,
        columns: list[str] | None = None,
        filters: dict[str, Any] | None = None,
        group_by: list[str] | None = None,
        metrics: list[str] | None = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int = 100,
    ) -> dict[str, Any]:
        """Read rows or aggregates from one table of a data source you can access.

        filters: {"column": value} or {"column": {"gte": x, "lt": y, "in": [...], "contains": "text"}} (contains ignores case).
        metrics: "count", "sum:COLUMN", "avg:COLUMN", "min:COLUMN", "max:COLUMN" (with group_by).
        Tables: customers, products, orders (sales); campaigns (marketing); expenses (finance).
        """
        args = {
            "table": table,
            "columns": columns,
            "filters": filters,
            "group_by": group_by,
            "metrics": metrics,
            "order_by": order_by,
            "descending": descending,
            "limit": limit,
        }
        source = s.TABLE_SOURCE.get(table)

        async def run(ctx: Any) -> dict[str, Any]:
            if source is None:  # checked here so that the call is logged like any other
                raise analytics.QueryError(
                    f"unknown table {table!r}; call list_data_sources to see the tables you can query"
                )
            return await analytics.run_query(
                ctx[0], table, columns, filters, group_by, metrics, order_by, descending, limit
            )

        return await _call(state, "query", args, (source,) if source else (), run)


async def _call(
    state: ServerState,
    tool: str,
    args: dict[str, Any],
    sources: tuple[str, ...],
    body: Callable[[Any], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """Run one tool call for the authenticated user: check, run, count rows, log."""
    token = get_access_token()
    if token is None or token.subject is None:
        raise ToolError("not authenticated")
    started = time.perf_counter()
    entry: dict[str, Any] = {
        "ts": state.now(),
        "user_id": token.subject,
        "email": str((token.claims or {}).get("email", "")),
        "client_id": token.client_id,
        "via": str((token.claims or {}).get("via", "oauth")),
        "tool": tool,
        "arguments": args,
        "allowed": False,
        "rows": 0,
        "error": None,
    }
    try:
        async with state.db.tx() as conn:
            user = await accounts.get_user(conn, token.subject)
            if user is None or not user.mcp_access:
                raise Denied("this account does not have MCP access")
            allowed = await accounts.granted_sources(conn, user)
            missing = [x for x in sources if x not in allowed]
            if missing:
                raise Denied(
                    f"you don't have access to the data source {missing[0]!r}; ask a Dot admin for access"
                )
            result = await body((conn, user, allowed))
        entry["allowed"] = True
        entry["rows"] = _rows(result)
        return result
    except Denied as exc:
        entry["error"] = str(exc)
        raise ToolError(f"Permission denied: {exc}") from exc
    except analytics.QueryError as exc:
        entry["allowed"] = True
        entry["error"] = str(exc)
        raise ToolError(str(exc)) from exc
    except Exception as exc:
        entry["error"] = f"internal error: {type(exc).__name__}"
        raise
    finally:
        entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
        async with state.db.tx() as conn:
            await querylog.record(conn, **entry)


def _rows(result: dict[str, Any]) -> int:
    for key in ("rows", "customers", "sources"):
        value = result.get(key)
        if isinstance(value, list):
            return len(value)
    return 1
