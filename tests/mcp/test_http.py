"""The MCP server at ``/mcp`` of a running ``convoscope serve``, driven by the official
MCP Python client: Inkeep's tool names and ours, each answering on the key's project
only, bad arguments as tool errors naming the field (the session goes on), write-only
keys offered only the write tool, results bounded with a note."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from convoscope.mcp import McpEndpoint
from tests.mcp.conftest import WINDOW, McpServer, connect, structured, text

pytestmark = pytest.mark.timeout(120)

INKEEP_TOOLS = [
    "top-search-queries", "weekly-search-users", "conversations-list",
    "conversation-get-conversation-by-external-id", "feedback-submit", "feedback-list",
    "feedback-get-feedback-by-id", "feedback-delete-feedback-by-id", "query-conversations",
    "query-query-events", "query-query-feedback", "query-query-semantic-threads",
    "query-export-conversations-query-results", "query-export-events-query-results",
    "query-export-feedback-query-results", "query-export-semantic-threads-query-results",
    "query-query-property-keys", "query-query-property-values",
]  # fmt: skip
OURS = ["conversation-get", "documentation-gaps", "top-questions"]
COUNT = {"select": [{"type": "aggregation", "aggregation": "count"}]}


async def test_an_api_key_lists_every_tool_with_its_hints(mcp_server: McpServer) -> None:
    async with connect(mcp_server.url, mcp_server.acme.api_key) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert list(tools) == INKEEP_TOOLS + OURS
    writes = {"feedback-submit", "feedback-delete-feedback-by-id"}
    for name, tool in tools.items():
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is (name not in writes), name
        assert tool.annotations.destructive_hint is (
            True
            if name == "feedback-delete-feedback-by-id"
            else None
            if name not in writes
            else False
        ), name
        assert list(tool.input_schema["properties"]) == ["request"], name
    # The DSL's request model, with its descriptions, is what an agent reads.
    schema = tools["query-query-semantic-threads"].input_schema
    body = schema["$defs"]["QuerySemanticThreadsRequestBody"]["properties"]
    assert list(body) == ["select", "groupBy", "where", "orderBy", "notes", "query"]
    assert "filter tree" in body["where"]["description"]
    assert "text search" in body["query"]["description"]
    assert tools["feedback-submit"].input_schema["required"] == ["request"]
    assert "required" not in tools["query-conversations"].input_schema


async def test_every_tool_answers_from_the_keys_project(mcp_server: McpServer) -> None:
    async with connect(mcp_server.url, mcp_server.acme.api_key) as client:

        async def call(name: str, request: dict[str, Any] | None = None) -> Any:
            args = None if request is None else {"request": request}
            return structured(await client.call_tool(name, args))

        assert await call("top-search-queries", {"after": "2026-01-01"}) == {
            "data": {"result": [{"search_query": "rotate key", "count": "2"},
                                {"search_query": "okta", "count": "1"}], "total": 2}
        }  # fmt: skip
        assert await call("weekly-search-users") == {
            "data": {"result": [{"week": "2026-03-02T00:00:00.000Z", "unique_users": "1"}],
                     "total": 1}
        }  # fmt: skip
        page = await call("conversations-list", {"limit": 1})
        assert (page["total"], page["pageSize"], page["count"]) == (2, 1, 1)
        by_external = await call(
            "conversation-get-conversation-by-external-id", {"externalId": "ext-1"}
        )
        assert by_external["id"] == "c1"
        feedback = await call("feedback-list")
        assert (feedback["positiveFeedbackCount"], feedback["negativeFeedbackCount"]) == (1, 1)
        one = await call("feedback-get-feedback-by-id", {"id": mcp_server.feedback_id})
        assert (one["messageId"], one["conversation"]["id"]) == ("c1-a", "c1")
        assert await call("query-conversations", COUNT) == {
            "status": "ok", "data": {"result": [{"count": 2}], "total": 1, "pageSize": 1000,
                                     "count": 1}
        }  # fmt: skip
        assert (await call("query-query-events", COUNT))["data"]["result"] == [{"count": 3}]
        by_type = await call(
            "query-query-feedback",
            {**COUNT, "groupBy": [{"field": "type"}], "orderBy": [{"field": "type",
                                                                   "direction": "asc"}]},
        )  # fmt: skip
        assert by_type["data"]["result"] == [
            {"type": "negative", "count": 1}, {"type": "positive", "count": 1},
        ]  # fmt: skip
        threads = await call(
            "query-query-semantic-threads",
            {"select": [{"type": "field", "field": "subject"}], "query": "okta"},
        )
        assert threads["data"]["result"] == [{"subject": "okta"}]
        export = await call(
            "query-export-conversations-query-results",
            {"select": [{"type": "field", "field": "id"}],
             "orderBy": [{"field": "id", "direction": "asc"}]},
        )  # fmt: skip
        assert export == {"contentType": "text/csv", "rows": 2, "csv": "id\nc1\nc2\n"}
        for tool in ("events", "feedback", "semantic-threads"):
            exported = await call(f"query-export-{tool}-query-results", COUNT)
            assert exported["csv"] == f"count\n{3 if tool == 'events' else 2}\n", tool
        assert await call("query-query-property-keys", {"field": "properties"}) == {
            "results": ["plan"]
        }
        assert await call(
            "query-query-property-values",
            {"field": "properties", "key": "plan", "views": ["conversations_view"]},
        ) == {"results": ["pro"]}
        transcript = await call("conversation-get", {"id": "c1"})
        assert [m["content"] for m in transcript["messages"]] == [
            "How do I rotate my API key?", "Open Settings.",
        ]  # fmt: skip
        assert transcript["messages"][1]["feedback"][0]["type"] == "negative"
        assert transcript["threads"][0]["subject"] == "key rotation"
        gaps = await call("documentation-gaps", WINDOW)
        assert [(g["subject"], g["total"], g["not_documented"], g["gapSummary"],
                 g["examples"]) for g in gaps["rows"]] == [
            ("key rotation", 1, 1, "no page on rotating keys",
             [{"question": "How do I rotate my API key?", "conversationId": "c1"}]),
        ]  # fmt: skip
        topics = await call("top-questions", WINDOW)
        assert [(t["category"], t["questions"], t["examples"]) for t in topics["rows"]] == [
            ("keys", 1, ["How do I rotate my API key?"]),
            ("sso", 1, ["Does SSO work with Okta?"]),
        ]
        # Writes last: they change what the reads above count.
        submitted = await call("feedback-submit", {"messageId": "c2-a", "type": "negative"})
        assert submitted["messageId"] == "c2-a"
        deleted = await call("feedback-delete-feedback-by-id", {"id": submitted["id"]})
        assert deleted == {"success": True, "message": "Feedback deleted successfully"}
        gone = await client.call_tool(
            "feedback-get-feedback-by-id", {"request": {"id": submitted["id"]}}
        )
        assert gone.is_error and "Not Found" in text(gone)


@pytest.mark.parametrize(
    ("tool", "request_", "field"),
    [
        pytest.param(
            "query-conversations",
            {"notes": "n" * 81},
            "request.notes: must have at most 80 characters",
            id="schema",
        ),
        pytest.param(
            "query-conversations",
            {"select": [{"type": "field", "field": "nope"}]},
            "request.select[0].field",
            id="dsl-field",
        ),  # fmt: skip
        pytest.param(
            "query-query-events",
            {"where": {"condition": {"field": "createdAt", "operator": "bogus", "value": 1}}},
            "request.where.condition.operator",
            id="dsl-operator",
        ),
        pytest.param(
            "feedback-submit", {"type": "negative"}, "request.messageId: is required", id="missing"
        ),
        pytest.param(
            "feedback-submit",
            {"type": "negative", "messageId": "no-such-message"},
            "request.messageId",
            id="unknown-message",
        ),  # fmt: skip
        pytest.param(
            "conversations-list",
            {"limit": 500},
            "request.limit: must be less than or equal to 100",
            id="limit",
        ),
        pytest.param("documentation-gaps", {"after": "yesterday"}, "request.after", id="time"),
        pytest.param(
            "top-search-queries",
            {"projectId": "proj_other"},
            "request.projectId",
            id="other-project",
        ),  # fmt: skip
    ],
)
async def test_bad_arguments_are_tool_errors_naming_the_field(
    mcp_server: McpServer, tool: str, request_: dict[str, object], field: str
) -> None:
    async with connect(mcp_server.url, mcp_server.acme.api_key) as client:
        refused = await client.call_tool(tool, {"request": request_})
        assert refused.is_error
        assert field in text(refused), text(refused)
        assert "Traceback" not in text(refused)
        # The session goes on.
        after = await client.call_tool("query-conversations", {"request": COUNT})
        assert structured(after)["data"]["result"] == [{"count": 2}]


async def test_another_projects_key_sees_nothing_of_this_one(mcp_server: McpServer) -> None:
    async with connect(mcp_server.url, mcp_server.globex.api_key) as client:

        async def call(name: str, request: dict[str, Any]) -> Any:
            return structured(await client.call_tool(name, {"request": request}))

        assert (await call("conversations-list", {}))["total"] == 0
        assert (await call("query-conversations", COUNT))["data"]["result"] == [{"count": 0}]
        assert (await call("query-query-semantic-threads", {}))["data"]["result"] == []
        assert (await call("top-search-queries", {}))["data"]["result"] == []
        assert await call("query-query-property-keys", {"field": "properties"}) == {"results": []}
        assert (await call("documentation-gaps", WINDOW))["rows"] == []
        assert (await call("top-questions", WINDOW))["rows"] == []
        export = await call("query-export-conversations-query-results", {})
        assert export["rows"] == 0
        for tool, request in (
            ("conversation-get", {"id": "c1"}),
            ("conversation-get-conversation-by-external-id", {"externalId": "ext-1"}),
            ("feedback-get-feedback-by-id", {"id": mcp_server.feedback_id}),
            ("feedback-delete-feedback-by-id", {"id": mcp_server.feedback_id}),
            ("feedback-submit", {"messageId": "c1-a", "type": "positive"}),
        ):
            refused = await client.call_tool(tool, {"request": request})
            assert refused.is_error, tool
            assert "How do I rotate" not in text(refused)
    async with connect(mcp_server.url, mcp_server.acme.api_key) as client:
        still = await client.call_tool("feedback-list", None)
        assert structured(still)["negativeFeedbackCount"] == 1


async def test_a_write_only_key_lists_only_the_write_tool(mcp_server: McpServer) -> None:
    async with connect(mcp_server.url, mcp_server.acme.web_key) as client:
        assert [t.name for t in (await client.list_tools()).tools] == ["feedback-submit"]
        refused = await client.call_tool("query-conversations", {"request": COUNT})
        assert refused.is_error and "api key" in text(refused)
        submitted = await client.call_tool(
            "feedback-submit", {"request": {"messageId": "c2-a", "type": "positive"}}
        )
        feedback_id = structured(submitted)["id"]
    async with connect(mcp_server.url, mcp_server.acme.api_key) as client:
        deleted = await client.call_tool(
            "feedback-delete-feedback-by-id", {"request": {"id": feedback_id}}
        )
        assert structured(deleted)["success"] is True


async def test_a_request_without_a_valid_key_is_refused(mcp_server: McpServer) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    async with httpx.AsyncClient(base_url=mcp_server.url, timeout=20) as client:
        for headers in ({}, {"Authorization": "Bearer cvs_not-a-key"}):
            response = await client.post("/mcp", json=initialize, headers=headers)
            assert response.status_code == 401
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"] == "Bearer"


async def test_a_result_over_the_budget_is_cut_with_a_note(mcp_server: McpServer) -> None:
    async with connect(mcp_server.url, mcp_server.bulk.api_key) as client:
        page = structured(await client.call_tool("conversations-list", None))
        assert (page["total"], page["count"]) == (3, 3)
        # Each holds its question twice (messages and messagesOpenAIFormat): one fits.
        assert [c["id"] for c in page["conversations"]] == ["big2"]
        assert page["note"].startswith(
            "Cut to stay under 100,000 characters: kept 1 of 3 conversations."
        )
        rows = structured(
            await client.call_tool(
                "query-query-semantic-threads",
                {"request": {"select": [{"type": "field", "field": "question"}]}},
            )
        )
        assert len(rows["data"]["result"]) == 2 and "narrow the query" in rows["note"].lower()
        export = structured(
            await client.call_tool(
                "query-export-semantic-threads-query-results",
                {"request": {"select": [{"type": "field", "field": "question"}]}},
            )
        )
        assert export["rows"] == 2 and export["note"].startswith("Cut to stay under")


async def test_a_request_sent_as_json_text_is_read_as_the_object(mcp_server: McpServer) -> None:
    # Some clients (Claude Desktop among them) send nested objects as JSON strings.
    async with connect(mcp_server.url, mcp_server.acme.api_key) as client:
        counted = await client.call_tool(
            "query-conversations", {"request": '{"select": [{"type": "aggregation", '
                                               '"aggregation": "count"}]}'}
        )  # fmt: skip
        assert structured(counted)["data"]["result"] == [{"count": 2}]
        unknown = await client.call_tool("no-such-tool", {})
        assert unknown.is_error and "no-such-tool" in text(unknown)


async def test_clients_of_the_initialize_handshake_get_the_same_tools(
    mcp_server: McpServer,
) -> None:
    async with connect(mcp_server.url, mcp_server.acme.web_key, mode="legacy") as client:
        assert [t.name for t in (await client.list_tools()).tools] == ["feedback-submit"]
    async with connect(mcp_server.url, mcp_server.acme.api_key, mode="legacy") as client:
        assert len((await client.list_tools()).tools) == len(INKEEP_TOOLS + OURS)
        counted = await client.call_tool("query-conversations", {"request": COUNT})
        assert structured(counted)["data"]["result"] == [{"count": 2}]


def test_building_the_server_leaves_logging_to_the_application() -> None:
    # The SDK's logging.basicConfig acts only on a root logger without handlers: give it one.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    root.handlers[:] = []
    try:
        McpEndpoint()
        assert (root.handlers, root.level) == ([], level)
        # Ours still sets it up afterwards, as app.py and cli/mcp.py do.
        logging.basicConfig(level="WARNING", format="%(levelname)s %(name)s %(message)s")
        assert [type(h) for h in root.handlers] == [logging.StreamHandler]
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
