"""The MCP server: the analytics questions as tools, for agents (Claude, Cursor, any MCP
client), over streamable HTTP at ``/mcp`` and over stdio (``convoscope mcp``).

A face like ``api/``: it parses, authorizes and calls the same parts the HTTP routes call
(the query engine, the store's repositories, the dashboard's reports); it adds no SQL.
"""
