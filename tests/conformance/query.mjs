// The query DSL driven through the official npm SDK: the four resources with raw
// rows, time buckets, aggregations, group-by with a JSON path and every operator the
// SDK can send; the semantic-threads export; property keys and values; top search
// queries and weekly search users; and the typed errors.
//
// Usage: CONVOSCOPE_URL=... CONVOSCOPE_API_KEY=... CONVOSCOPE_WEB_KEY=... \
//        CONVOSCOPE_OTHER_API_KEY=... node tests/conformance/query.mjs

import assert from "node:assert/strict";

import { Forbidden, UnprocessableEntity } from "@inkeep/inkeep-analytics/models/errors";

import { RUN, check, expectTypedError, finish, makeClient, need, readEnv } from "./harness.mjs";

const env = readEnv([
  "CONVOSCOPE_URL",
  "CONVOSCOPE_API_KEY",
  "CONVOSCOPE_WEB_KEY",
  "CONVOSCOPE_OTHER_API_KEY",
]);

const url = env.CONVOSCOPE_URL;
const API = { apiIntegrationKey: env.CONVOSCOPE_API_KEY };
const api = makeClient(url, env.CONVOSCOPE_API_KEY);
const web = makeClient(url, env.CONVOSCOPE_WEB_KEY);
const other = makeClient(url, env.CONVOSCOPE_OTHER_API_KEY);

// ---------------------------------------------------------------- fixtures

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ids = [0, 1, 2].map((i) => `q-${RUN}-${i}`);
// Every row this script writes carries the run id, so the checks see only their own rows
// on a server the other scenarios share.
const mine = { condition: { field: "properties", operator: "jsonContains", value: { run: RUN } } };
const and = (...conditions) => ({ and: [mine, ...conditions] });
const cond = (field, operator, value) => ({ condition: { field, operator, value } });

function conversation(i, day, plan, user) {
  return {
    id: ids[i],
    type: "openai",
    properties: { run: RUN, plan, seats: i + 1, tags: ["a", `t${i}`], userId: 40 + i },
    userProperties: { id: user, userId: 100 + i, additionalProperties: { tier: plan } },
    messages: [
      { id: `${ids[i]}-q`, role: "user", content: `How do I rotate key ${i}?`, createdAt: new Date(`${day}T10:00:00.000Z`) },
      { id: `${ids[i]}-a`, role: "assistant", content: `Open settings (${i}).`, createdAt: new Date(`${day}T10:01:00.000Z`) },
    ],
  };
}

async function rowsOf(promise) {
  const response = await promise;
  assert.equal(response.status, "ok");
  const { result, total, pageSize, count } = response.data;
  assert.equal(pageSize, 1000);
  assert.equal(count, result.length);
  assert.equal(typeof total, "number");
  return result;
}

let logged = false;
await check("setup: conversations, feedback and events through the SDK", async () => {
  await api.conversations.log(API, conversation(0, "2025-03-03", "pro", "u0"));
  await api.conversations.log(API, conversation(1, "2025-03-04", "pro", "u1"));
  await api.conversations.log(API, conversation(2, "2025-03-11", "free", 7));
  await api.feedback.submit({
    id: `fb-${RUN}`,
    type: "negative",
    messageId: `${ids[0]}-a`,
    reasons: [{ label: "inaccurate", details: "no such button" }],
    properties: { run: RUN },
  });
  for (const [query, at, user] of [
    [`rotate ${RUN}`, "2025-03-03T08:00:00.000Z", "s1"],
    [`rotate ${RUN}`, "2025-03-04T08:00:00.000Z", "s2"],
    [`billing ${RUN}`, "2025-03-10T08:00:00.000Z", "s1"],
  ]) {
    await api.events.log(API, {
      type: "search_query_submitted",
      entityType: "search",
      searchQuery: query,
      createdAt: new Date(at),
      properties: { run: RUN, resultCount: 3 },
      userProperties: { id: user, additionalProperties: {} },
    });
  }
  await api.events.log(API, {
    type: "message_copied",
    entityType: "message",
    messageId: `${ids[1]}-a`,
    createdAt: new Date("2025-03-04T10:05:00.000Z"),
    properties: { run: RUN },
  });
  logged = true;
});

// ---------------------------------------------------------------- conversations

await check("conversations: raw rows carry typed base fields", async () => {
  need(logged || null, "setup");
  const rows = await rowsOf(api.query.conversations({ where: mine, orderBy: [{ field: "id", direction: "asc" }] }));
  assert.deepEqual(rows.map((r) => r.id), ids);
  const row = rows[0];
  assert.ok(row.firstMessageTime instanceof Date, "firstMessageTime is parsed as a date");
  assert.equal(row.firstMessageTime.toISOString(), "2025-03-03T10:00:00.000Z");
  assert.equal(row.userMessageCount, 1);
  assert.equal(row.type, "openai");
  assert.equal(row.properties.plan, "pro");
  assert.equal(row.userProperties.id, "u0");
});

await check("conversations: time buckets, aggregations and group-by with a path", async () => {
  const rows = await rowsOf(
    api.query.conversations({
      select: [
        { type: "time", timeUnit: "week", field: "firstMessageTime" },
        { type: "aggregation", aggregation: "count" },
        { type: "aggregation", aggregation: "count", field: "id" },
        { type: "aggregation", aggregation: "sum", field: "userMessageCount" },
        { type: "aggregation", aggregation: "max", field: "firstMessageTime" },
        { type: "aggregation", aggregation: "countDistinct", field: "userProperties", path: ["userId"] },
      ],
      groupBy: [{ field: "properties", path: ["plan"] }],
      where: mine,
      orderBy: [{ field: "firstMessageTime_week", direction: "asc" }],
      notes: "weekly conversations per plan",
    }),
  );
  assert.equal(rows.length, 2);
  assert.equal(rows[0].firstMessageTimeWeek, "2025-03-03T00:00:00.000Z");
  assert.equal(rows[0].count, 2);
  assert.equal(rows[0].countId, 2);
  assert.equal(rows[0].sumUserMessageCount, 2);
  assert.equal(rows[0].maxFirstMessageTime, Date.parse("2025-03-04T10:00:00.000Z"));
  assert.equal(rows[0].countDistinctUserPropertiesUserId, 2);
  assert.equal(rows[0].additionalProperties["properties.plan"], "pro");
  assert.equal(rows[1].firstMessageTimeWeek, "2025-03-10T00:00:00.000Z");
});

await check("conversations: declared path keys are strings", async () => {
  const rows = await rowsOf(
    api.query.conversations({
      select: [
        { type: "field", field: "properties", path: ["userId"] },
        { type: "field", field: "userProperties", path: ["userId"] },
        { type: "aggregation", aggregation: "count" },
      ],
      groupBy: [{ field: "properties", path: ["userId"], includeInSelect: true }],
      where: and(cond("id", "eq", ids[2])),
    }),
  );
  assert.deepEqual(
    rows.map((r) => [r.propertiesUserId, r.userPropertiesUserId, r.count]),
    [["42", "102", 1]],
  );
});

const OPERATORS = [
  ["eq", cond("id", "eq", ids[1]), [1]],
  ["neq", cond("id", "neq", ids[1]), [0, 2]],
  ["gt", cond("firstMessageTime", "gt", "2025-03-04T10:00:00.000Z"), [2]],
  ["gte", cond("userMessageCount", "gte", 1), [0, 1, 2]],
  ["lt", cond("firstMessageTime", "lt", "2025-03-04T00:00:00.000Z"), [0]],
  ["lte", cond("properties", "lte", { path: ["seats"], value: 2 }), [0, 1]],
  ["in", cond("id", "in", [ids[0], ids[2], null]), [0, 2]],
  ["notIn", cond("properties", "notIn", { path: ["plan"], value: ["free"] }), [0, 1]],
  ["arrayContains", cond("properties", "arrayContains", { path: ["tags"], value: ["a", "t1"] }), [1]],
  ["jsonContains", cond("userProperties", "jsonContains", { tier: "free" }), [2]],
  ["jsonContainedBy", cond("userProperties", "jsonContainedBy", { id: "u1", userId: 101, tier: "pro", extra: 1 }), [1]],
  ["jsonHasKey", cond("userProperties", "jsonHasKey", "tier"), [0, 1, 2]],
  ["jsonHasAnyKey", cond("properties", "jsonHasAnyKey", ["nope", "seats"]), [0, 1, 2]],
  ["jsonHasAllKeys", cond("properties", "jsonHasAllKeys", ["plan", "nope"]), []],
  ["isNull", cond("integrationId", "isNull"), []],
  ["isNotNull", cond("properties", "isNotNull", { path: ["plan"] }), [0, 1, 2]],
];

for (const [name, condition, expected] of OPERATORS) {
  await check(`conversations: operator ${name}`, async () => {
    const rows = await rowsOf(
      api.query.conversations({
        select: [{ type: "field", field: "id" }],
        where: and(condition),
        orderBy: [{ field: "id", direction: "asc" }],
      }),
    );
    assert.deepEqual(rows.map((r) => r.id), expected.map((i) => ids[i]));
  });
}

await check("conversations: or-trees", async () => {
  const rows = await rowsOf(
    api.query.conversations({
      select: [{ type: "field", field: "id" }],
      where: and({ or: [cond("id", "eq", ids[0]), { and: [cond("properties", "eq", { path: ["plan"], value: "free" })] }] }),
      orderBy: [{ field: "id", direction: "desc" }],
    }),
  );
  assert.deepEqual(rows.map((r) => r.id), [ids[2], ids[0]]);
});

// ---------------------------------------------------------------- events, feedback

await check("events: raw search rows leave out keys they lack; values are strings", async () => {
  const rows = await rowsOf(
    api.query.queryEvents({
      where: { and: [cond("properties", "jsonContains", { run: RUN }), cond("eventType", "eq", "search")] },
      orderBy: [{ field: "createdAt", direction: "asc" }],
    }),
  );
  assert.equal(rows.length, 3);
  assert.equal(rows[0].messageId, undefined);
  assert.equal(rows[0].searchQuery, `rotate ${RUN}`);
  assert.equal(rows[0].createdAt, "2025-03-03T08:00:00.000Z");
  assert.equal(rows[0].properties.resultCount, "3");
});

await check("events: counts per type and day", async () => {
  const rows = await rowsOf(
    api.query.queryEvents({
      select: [{ type: "time", timeUnit: "day" }, { type: "aggregation", aggregation: "count" }],
      groupBy: [{ field: "type" }],
      where: cond("properties", "jsonContains", { run: RUN }),
      orderBy: [{ field: "createdAt_day", direction: "asc" }, { field: "type", direction: "asc" }],
    }),
  );
  assert.deepEqual(
    rows.map((r) => [r.createdAtDay, r.type, r.count]),
    [
      ["2025-03-03T00:00:00.000Z", "search_query_submitted", 1],
      ["2025-03-04T00:00:00.000Z", "message_copied", 1],
      ["2025-03-04T00:00:00.000Z", "search_query_submitted", 1],
      ["2025-03-10T00:00:00.000Z", "search_query_submitted", 1],
    ],
  );
});

await check("feedback: raw rows and counts per type", async () => {
  const where = cond("properties", "jsonContains", { run: RUN });
  const rows = await rowsOf(api.query.queryFeedback({ where }));
  assert.equal(rows.length, 1);
  assert.equal(rows[0].type, "negative");
  assert.equal(rows[0].conversationId, ids[0]);
  assert.deepEqual(rows[0].reasons, [{ label: "inaccurate", details: "no such button" }]);
  const counts = await rowsOf(
    api.query.queryFeedback({
      select: [{ type: "aggregation", aggregation: "count" }],
      groupBy: [{ field: "type" }],
      where: { and: [where, cond("reasons", "jsonContains", [{ label: "inaccurate" }])] },
    }),
  );
  assert.deepEqual(counts.map((r) => [r.type, r.count]), [["negative", 1]]);
});

// ---------------------------------------------------------------- semantic threads

await check("semantic threads: raw rows pass the strict row schema", async () => {
  const rows = await rowsOf(
    api.query.querySemanticThreads({
      where: mine,
      orderBy: [{ field: "firstMessageTime", direction: "asc" }],
    }),
  );
  assert.equal(rows.length, 3);
  const row = rows[0];
  assert.equal(row.question, "How do I rotate key 0?");
  assert.equal(row.answer, "Open settings (0).");
  assert.ok(row.firstMessageTime instanceof Date && row.lastUpdated instanceof Date);
  assert.deepEqual(row.conversationIds, [ids[0]]);
  assert.deepEqual(row.messageIds, [`${ids[0]}-q`, `${ids[0]}-a`]);
  assert.equal(row.hasNegativeFeedback, true);
  assert.equal(row.hasPositiveFeedback, false);
  assert.equal(row.isInitialQuestionAnswer, true);
});

await check("semantic threads: text search and aggregates", async () => {
  const rows = await rowsOf(
    api.query.querySemanticThreads({
      query: "ROTATE KEY 1",
      select: [{ type: "field", field: "question" }],
      where: mine,
    }),
  );
  assert.deepEqual(rows.map((r) => r.question), ["How do I rotate key 1?"]);
  const stats = await rowsOf(
    api.query.querySemanticThreads({
      select: [
        { type: "aggregation", aggregation: "count" },
        { type: "aggregation", aggregation: "avg", field: "questionLength" },
        { type: "aggregation", aggregation: "min", field: "lastMessageTime" },
      ],
      groupBy: [{ field: "hasNegativeFeedback" }],
      where: mine,
      orderBy: [{ field: "hasNegativeFeedback", direction: "asc" }],
    }),
  );
  assert.deepEqual(
    stats.map((r) => [r.hasNegativeFeedback, r.count, r.avgQuestionLength]),
    [
      [false, 2, 22],
      [true, 1, 22],
    ],
  );
});

await check("semantic threads: export streams CSV", async () => {
  const stream = await api.query.exportSemanticThreadsQueryResults({
    select: [{ type: "field", field: "question" }, { type: "field", field: "userProperties" }],
    where: mine,
    orderBy: [{ field: "question", direction: "asc" }],
  });
  const text = await new Response(stream).text();
  const lines = text.trimEnd().split("\n");
  assert.deepEqual(lines, [
    "question,userProperties.id,userProperties.tier,userProperties.userId",
    "How do I rotate key 0?,u0,pro,100",
    "How do I rotate key 1?,u1,pro,101",
    "How do I rotate key 2?,7,free,102",
  ]);
});

// ---------------------------------------------------------------- discovery

await check("property keys and values", async () => {
  const keys = await api.query.queryPropertyKeys({
    field: "properties",
    views: ["conversations_view"],
    where: mine,
  });
  assert.deepEqual(keys.results, ["plan", "run", "seats", "tags", "userId"]);
  const values = await api.query.queryPropertyValues({
    field: "userProperties",
    key: "tier",
    views: ["conversations_view"],
  });
  assert.ok(values.results.includes("pro") && values.results.includes("free"));
  assert.ok(values.results.every((v) => typeof v === "string"));
  const all = await api.query.queryPropertyKeys({ field: "userProperties" });
  assert.ok(all.results.includes("tier"));
});

await check("top search queries and weekly search users", async () => {
  const top = await api.topSearchQueries({ after: "2025-03-01T00:00:00.000Z" });
  // The SDK hands the wire's search_query / unique_users over as camelCase.
  const found = top.data.result.filter((r) => r.searchQuery.endsWith(RUN));
  assert.deepEqual(found, [
    { searchQuery: `rotate ${RUN}`, count: "2" },
    { searchQuery: `billing ${RUN}`, count: "1" },
  ]);
  assert.equal(top.data.total, top.data.result.length);
  const weekly = await api.weeklySearchUsers({ after: "2025-03-03" });
  const weeks = weekly.data.result.map((r) => r.week);
  assert.ok(weeks.includes("2025-03-03T00:00:00.000Z") && weeks.includes("2025-03-10T00:00:00.000Z"));
  assert.ok(weekly.data.result.every((r) => typeof r.uniqueUsers === "string"));
});

// ---------------------------------------------------------------- errors, isolation

await check("ordering by a key the result lacks is UnprocessableEntity", async () => {
  const err = await expectTypedError(
    api.query.conversations({
      select: [{ type: "aggregation", aggregation: "count" }],
      orderBy: [{ field: "count_id", direction: "desc" }],
    }),
    UnprocessableEntity,
  );
  assert.match(err.detail, /orderBy\[0\]\.field/);
});

await check("a write-only key cannot query", async () => {
  await expectTypedError(web.query.conversations({}), Forbidden);
  await expectTypedError(web.topSearchQueries({}), Forbidden);
});

await check("another project's key sees none of these rows", async () => {
  const rows = await rowsOf(other.query.conversations({ where: mine }));
  assert.deepEqual(rows, []);
  const keys = await other.query.queryPropertyKeys({ field: "properties", where: mine });
  assert.deepEqual(keys.results, []);
});

finish();
