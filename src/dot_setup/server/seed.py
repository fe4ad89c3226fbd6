"""The demo organisation and dataset, created on a server's first start.

Users: an admin (every source), an analyst (sales and marketing only) and a viewer without MCP
access. Data: customers, products and orders over the last six quarters up to today, so the
guide's example questions ("total sales last quarter", "top 10 customers by revenue", "this
month vs last month") have real answers. Generation is seeded: the same day gives the same data.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dot_setup.server import schema as s
from dot_setup.server.security import hash_password

DOMAIN = "demo.dot.local"


@dataclass(frozen=True)
class DemoUser:
    id: str
    email: str
    name: str
    role: str
    mcp_access: bool
    sources: tuple[str, ...]


DEMO_USERS = (
    DemoUser("u_admin", f"admin@{DOMAIN}", "Ada Admin", "admin", True, ()),
    DemoUser(
        "u_analyst", f"analyst@{DOMAIN}", "Alan Analyst", "member", True, ("sales", "marketing")
    ),
    DemoUser("u_viewer", f"viewer@{DOMAIN}", "Vera Viewer", "member", False, ("sales",)),
)

SOURCES = (
    ("sales", "Sales", "Customers, products and orders (revenue in USD)."),
    ("marketing", "Marketing", "Campaigns with channel, spend and leads."),
    ("finance", "Finance", "Monthly operating expenses by category."),
)

PRODUCTS = (
    ("Dot Starter", "Subscription", 49.0),
    ("Dot Team", "Subscription", 199.0),
    ("Dot Enterprise", "Subscription", 899.0),
    ("Onboarding package", "Services", 1500.0),
    ("Data connector pack", "Add-on", 120.0),
    ("Premium support", "Services", 350.0),
    ("Training day", "Services", 1200.0),
    ("Extra seats (10)", "Add-on", 90.0),
    ("Warehouse sync", "Add-on", 240.0),
    ("Audit log export", "Add-on", 60.0),
    ("Custom dashboard", "Services", 800.0),
    ("API quota boost", "Add-on", 75.0),
)
COMPANY_WORDS = (
    "Acme",
    "Apex",
    "Blue",
    "Bright",
    "Cedar",
    "Delta",
    "Echo",
    "Falcon",
    "Granite",
    "Harbor",
    "Iris",
    "Juniper",
    "Keystone",
    "Lumen",
    "Maple",
    "Nova",
    "Orbit",
    "Pine",
    "Quartz",
    "River",
    "Summit",
    "Tidal",
    "Umbra",
    "Vertex",
    "Willow",
    "Zenith",
)
COMPANY_KINDS = (
    "Analytics",
    "Foods",
    "Logistics",
    "Health",
    "Labs",
    "Retail",
    "Energy",
    "Media",
    "Works",
    "Systems",
)
COUNTRIES = ("US", "US", "US", "CA", "GB", "DE", "FR", "NL", "SE", "AU", "JP", "BR")
SEGMENTS = ("SMB", "SMB", "Mid-market", "Enterprise")


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def shift_quarters(day: dt.date, n: int) -> dt.date:
    months = day.year * 12 + day.month - 1 + 3 * n
    return dt.date(months // 12, months % 12 + 1, 1)


async def seed_if_empty(
    conn: AsyncConnection, today: dt.date, passwords: dict[str, str], now: float
) -> bool:
    """Create the demo organisation unless users exist; True if it was created now."""
    count = (await conn.execute(select(func.count()).select_from(s.users))).scalar_one()
    if count:
        return False
    await _seed(conn, today, passwords, now)  # a concurrent first start raises IntegrityError
    return True


async def _seed(
    conn: AsyncConnection, today: dt.date, passwords: dict[str, str], now: float
) -> None:
    await conn.execute(
        s.sources.insert(), [{"id": i, "name": n, "description": d} for i, n, d in SOURCES]
    )
    for u in DEMO_USERS:
        await conn.execute(
            s.users.insert().values(
                id=u.id,
                email=u.email,
                name=u.name,
                role=u.role,
                mcp_access=u.mcp_access,
                password_hash=hash_password(passwords[u.email]),
                password_changed_at=now,
                created_at=now,
            )
        )
        if u.sources:
            await conn.execute(
                s.source_grants.insert(), [{"user_id": u.id, "source_id": x} for x in u.sources]
            )
    rnd = random.Random(20260728)  # noqa: S311 - demo data, reproducible on purpose
    await conn.execute(
        s.products.insert(),
        [
            {"id": i + 1, "name": n, "category": c, "unit_price": p}
            for i, (n, c, p) in enumerate(PRODUCTS)
        ],
    )
    start = shift_quarters(quarter_start(today), -5)
    customers: list[dict[str, object]] = []
    names: set[str] = set()
    while len(customers) < 120:
        name = f"{rnd.choice(COMPANY_WORDS)} {rnd.choice(COMPANY_KINDS)}"
        if name in names:
            continue
        names.add(name)
        signed = start + dt.timedelta(days=rnd.randrange(0, max(1, (today - start).days)))
        customers.append(
            {
                "id": len(customers) + 1,
                "name": name,
                "country": rnd.choice(COUNTRIES),
                "segment": rnd.choice(SEGMENTS),
                "signed_up": signed.isoformat(),
            }
        )
    await conn.execute(s.customers.insert(), customers)
    weights = [rnd.lognormvariate(0, 0.9) for _ in customers]  # some big customers, many small
    orders: list[dict[str, object]] = []
    day = start
    while day <= today:
        growth = 1 + (day - start).days / 900  # the business grows a little every quarter
        for _ in range(rnd.randrange(1, int(6 * growth) + 2)):
            cust = rnd.choices(customers, weights)[0]
            pid = rnd.randrange(len(PRODUCTS))
            qty = rnd.choice((1, 1, 1, 2, 3, 5))
            amount = round(PRODUCTS[pid][2] * qty * rnd.uniform(0.85, 1.0), 2)
            orders.append(
                {
                    "id": len(orders) + 1,
                    "customer_id": cust["id"],
                    "product_id": pid + 1,
                    "quantity": qty,
                    "amount": amount,
                    "order_date": day.isoformat(),
                }
            )
        day += dt.timedelta(days=1)
    for i in range(0, len(orders), 1000):
        await conn.execute(s.orders.insert(), orders[i : i + 1000])
    channels = ("Search", "Social", "Email", "Events", "Partners")
    await conn.execute(
        s.campaigns.insert(),
        [
            {
                "id": i + 1,
                "name": f"{ch} {shift_quarters(start, i // 5).strftime('%Y-%m')}",
                "channel": ch,
                "spend": round(rnd.uniform(2000, 25000), 2),
                "leads": rnd.randrange(40, 900),
                "start_date": shift_quarters(start, i // 5).isoformat(),
            }
            for i, ch in enumerate(channels * 6)
        ],
    )
    expenses: list[dict[str, object]] = []
    month = start
    while month <= today:
        for cat in ("Payroll", "Cloud", "Office", "Travel", "Software"):
            base = {
                "Payroll": 180000,
                "Cloud": 22000,
                "Office": 9000,
                "Travel": 6000,
                "Software": 7000,
            }[cat]
            expenses.append(
                {
                    "id": len(expenses) + 1,
                    "category": cat,
                    "amount": round(base * rnd.uniform(0.9, 1.15), 2),
                    "month": month.strftime("%Y-%m"),
                }
            )
        month = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    await conn.execute(s.expenses.insert(), expenses)
