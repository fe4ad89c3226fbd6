"""The reference Dot MCP server behind `dot-setup serve`.

A real, small Dot: an OAuth 2.1 authorization server, personal MCP tokens, a demo organisation
with a sales dataset, and the MCP endpoint (`/ai/mcp`, legacy `/ai/sse`). Only the `serve` and
`demo` commands import this package, so the SDK and the database stack stay off the start-up
path of every other command.
"""
