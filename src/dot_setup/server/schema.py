"""The database schema, in SQLAlchemy Core: the same tables on SQLite and PostgreSQL.

Secrets are never stored: tokens, codes, session ids and client secrets are kept as SHA-256
digests (`*_hash` columns), passwords as argon2id hashes. Times are epoch seconds (floats) from
the injectable clock; order dates are ISO `YYYY-MM-DD` strings, which compare correctly as text
on both databases.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

SCHEMA_VERSION = 1

metadata = MetaData()

meta = Table(
    "dot_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("email", String(255), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("role", String(16), nullable=False),  # admin | member
    Column("mcp_access", Boolean, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("password_changed_at", Float, nullable=False),
    Column("created_at", Float, nullable=False),
)

sources = Table(
    "data_sources",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=False),
)

source_grants = Table(
    "source_grants",
    metadata,
    Column("user_id", String(32), ForeignKey("users.id"), primary_key=True),
    Column("source_id", String(32), ForeignKey("data_sources.id"), primary_key=True),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("revoked_at", Float),
)

oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("client_id", String(512), primary_key=True),
    Column("secret_hash", String(64)),
    Column("metadata", Text, nullable=False),  # the registered client metadata, JSON
    Column("kind", String(8), nullable=False),  # dcr | cimd | builtin
    Column("created_at", Float, nullable=False),
)

# A pending /authorize request, waiting on the login and consent pages.
auth_requests = Table(
    "auth_requests",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("client_id", String(512), nullable=False),
    Column("params", Text, nullable=False),  # redirect_uri, state, code_challenge, scope, resource
    Column("created_at", Float, nullable=False),
    Column("used_at", Float),
)

# One sign-in of one user into one client: the family of every token it produced.
grants = Table(
    "grants",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id"), nullable=False, index=True),
    Column("client_id", String(512), nullable=False),
    Column("scope", Text, nullable=False),
    Column("resource", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("revoked_at", Float),
    Column("revoked_reason", String(64)),
)

auth_codes = Table(
    "auth_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("grant_id", String(32), ForeignKey("grants.id"), nullable=False),
    Column("client_id", String(512), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("code_challenge", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("used_at", Float),
)

# Every bearer credential: OAuth access and refresh tokens, MCP tokens (pat) and regular API
# tokens (api). The request path looks a token up by its digest, the primary key.
tokens = Table(
    "tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("id", String(32), nullable=False, unique=True),  # public id, for admin deletion
    Column("kind", String(8), nullable=False),  # access | refresh | pat | api
    Column("user_id", String(32), ForeignKey("users.id"), nullable=False, index=True),
    Column("client_id", String(512), nullable=False),
    Column("grant_id", String(32), ForeignKey("grants.id"), index=True),
    Column("scope", Text, nullable=False),
    Column("resource", Text, nullable=False),
    Column("display", String(64), nullable=False),  # prefix and last four characters
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("revoked_at", Float),
    Column("revoked_reason", String(64)),
    Column("rotated_at", Float),  # refresh tokens: used once, replaced by a new one
)
# One active MCP token per user, enforced by the database itself.
Index(
    "one_active_mcp_token",
    tokens.c.user_id,
    unique=True,
    sqlite_where=text("kind = 'pat' AND revoked_at IS NULL"),
    postgresql_where=text("kind = 'pat' AND revoked_at IS NULL"),
)

device_codes = Table(
    "device_codes",
    metadata,
    Column("device_hash", String(64), primary_key=True),
    Column("user_code", String(16), nullable=False, unique=True),
    Column("client_id", String(512), nullable=False),
    Column("scope", Text, nullable=False),
    Column("resource", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("interval", Integer, nullable=False),
    Column("last_poll_at", Float),
    Column("status", String(16), nullable=False),  # pending | approved | denied | used
    Column("user_id", String(32)),
    Column("grant_id", String(32)),
)

query_log = Table(
    "query_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False, index=True),
    Column("user_id", String(32), nullable=False),
    Column("email", String(255), nullable=False),
    Column("client_id", String(512), nullable=False),
    Column("via", String(8), nullable=False),  # oauth | pat | dev
    Column("tool", String(64), nullable=False),
    Column("arguments", Text, nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("error", Text),
)

# The demo dataset. `sales`: customers, products, orders. `marketing`: campaigns.
# `finance`: expenses.
customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(255), nullable=False),
    Column("country", String(64), nullable=False),
    Column("segment", String(32), nullable=False),
    Column("signed_up", String(10), nullable=False),
)

products = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(255), nullable=False),
    Column("category", String(64), nullable=False),
    Column("unit_price", Float, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False, index=True),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("amount", Float, nullable=False),
    Column("order_date", String(10), nullable=False, index=True),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(255), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("spend", Float, nullable=False),
    Column("leads", Integer, nullable=False),
    Column("start_date", String(10), nullable=False),
)

expenses = Table(
    "expenses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("category", String(64), nullable=False),
    Column("amount", Float, nullable=False),
    Column("month", String(7), nullable=False),
)

# Which data source each queryable table belongs to: the unit of permission.
TABLE_SOURCE = {
    "customers": "sales",
    "products": "sales",
    "orders": "sales",
    "campaigns": "marketing",
    "expenses": "finance",
}
DATA_TABLES = {t.name: t for t in (customers, products, orders, campaigns, expenses)}
