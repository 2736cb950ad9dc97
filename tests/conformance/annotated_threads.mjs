// Semantic threads annotated by the offline analyzer, queried through the official npm
// SDK by category, sentiment, isDocumented and arrayContains on languages. The Python
// test logs the conversations (property run = CONVOSCOPE_RUN) and annotates them first.
//
// Usage: CONVOSCOPE_URL=... CONVOSCOPE_API_KEY=... CONVOSCOPE_RUN=... \
//        node tests/conformance/annotated_threads.mjs

import assert from "node:assert/strict";

import { check, finish, makeClient, readEnv } from "./harness.mjs";

const env = readEnv(["CONVOSCOPE_URL", "CONVOSCOPE_API_KEY", "CONVOSCOPE_RUN"]);
const api = makeClient(env.CONVOSCOPE_URL, env.CONVOSCOPE_API_KEY);
const mine = {
  condition: { field: "properties", operator: "jsonContains", value: { run: env.CONVOSCOPE_RUN } },
};
const cond = (field, operator, value) => ({ condition: { field, operator, value } });

async function threads(where) {
  const response = await api.query.querySemanticThreads({ where: { and: [mine, where] } });
  assert.equal(response.status, "ok");
  return response.data.result;
}

const all = (await api.query.querySemanticThreads({ where: mine })).data.result;
const idsOf = (rows) => rows.map((r) => r.id).sort();
const expect = (predicate) => idsOf(all.filter(predicate));

await check("every thread is annotated, with provenance-free wire fields", async () => {
  assert.ok(all.length >= 6, `expected at least 6 threads, got ${all.length}`);
  for (const row of all) {
    assert.equal(typeof row.subject, "string");
    assert.ok(["positive", "neutral", "negative"].includes(row.sentiment), row.sentiment);
    assert.ok(Array.isArray(row.languages) && row.languages.length > 0);
    assert.equal(typeof row.isDocumented, "boolean");
  }
});

await check("by category", async () => {
  const category = all.find((r) => r.category)?.category;
  assert.ok(category, "some thread has a category");
  assert.deepEqual(idsOf(await threads(cond("category", "eq", category))), expect((r) => r.category === category));
});

await check("by sentiment", async () => {
  assert.deepEqual(idsOf(await threads(cond("sentiment", "eq", "negative"))), expect((r) => r.sentiment === "negative"));
  assert.ok(expect((r) => r.sentiment === "negative").length > 0, "the frustrated question is negative");
});

await check("by isDocumented", async () => {
  const gaps = await threads(cond("isDocumented", "eq", false));
  assert.deepEqual(idsOf(gaps), expect((r) => r.isDocumented === false));
  assert.ok(gaps.length > 0, "the refused answer is a documentation gap");
  assert.ok(gaps.every((r) => typeof r.gapSummary === "string"));
});

await check("arrayContains on languages", async () => {
  const german = await threads(cond("languages", "arrayContains", "de"));
  assert.deepEqual(idsOf(german), expect((r) => r.languages.includes("de")));
  assert.equal(german.length, 1);
});

await check("count per category", async () => {
  const response = await api.query.querySemanticThreads({
    select: [{ type: "aggregation", aggregation: "count" }],
    groupBy: [{ field: "category" }],
    where: mine,
  });
  const total = response.data.result.reduce((sum, row) => sum + row.count, 0);
  assert.equal(total, all.length);
});

finish();
