"""dot-setup: connect AI clients to the Dot MCP server."""

__version__ = "0.1.0"
