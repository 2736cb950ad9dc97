// Feedback and event endpoints driven through the official npm SDK:
// feedback submit (upsert), list, get by id, events of all three entity types,
// and the typed errors.
//
// Usage: CONVOSCOPE_URL=... CONVOSCOPE_API_KEY=... CONVOSCOPE_WEB_KEY=... \
//        CONVOSCOPE_OTHER_API_KEY=... node tests/conformance/feedback_events.mjs

import assert from "node:assert/strict";

import {
  Forbidden,
  NotFound,
  Unauthorized,
  UnprocessableEntity,
} from "@inkeep/inkeep-analytics/models/errors";

import {
  RUN,
  assertId,
  assertTimestamp,
  check,
  expectTypedError,
  finish,
  makeClient,
  need,
  readEnv,
} from "./harness.mjs";

const env = readEnv([
  "CONVOSCOPE_URL",
  "CONVOSCOPE_API_KEY",
  "CONVOSCOPE_WEB_KEY",
  "CONVOSCOPE_OTHER_API_KEY",
]);

const url = env.CONVOSCOPE_URL;
const API = { apiIntegrationKey: env.CONVOSCOPE_API_KEY };
const WEB = { webIntegrationKey: env.CONVOSCOPE_WEB_KEY };
const OTHER = { apiIntegrationKey: env.CONVOSCOPE_OTHER_API_KEY };

const api = makeClient(url, env.CONVOSCOPE_API_KEY);
const web = makeClient(url, env.CONVOSCOPE_WEB_KEY);
const other = makeClient(url, env.CONVOSCOPE_OTHER_API_KEY);

// ---------------------------------------------------------------- fixtures

const conversationId = `conf-${RUN}-rated`;
const questionId = `msg-${RUN}-question`;
const answerId = `msg-${RUN}-answer`;
const QUESTION = "How do I rotate my API key?";
const ANSWER = "Open Settings → API keys and click Rotate.";

const conversationBody = {
  id: conversationId,
  type: "openai",
  messages: [
    { id: questionId, role: "user", content: QUESTION },
    {
      id: answerId,
      role: "assistant",
      content: ANSWER,
      links: [{ url: "https://example.com/docs/keys", title: "API keys", type: "documentation" }],
    },
  ],
};

const feedbackIds = { rated: `fb-${RUN}-rated`, web: `fb-${RUN}-web` };
const FEEDBACK_CREATED_AT = new Date("2025-02-03T04:05:06.789Z");

const positiveBody = {
  id: feedbackIds.rated,
  type: "positive",
  messageId: answerId,
  createdAt: FEEDBACK_CREATED_AT,
  reasons: [{ label: "accurate", details: "Worked on the first try" }],
  properties: { source: "conformance", run: RUN },
  // npm 0.2.4-alpha.27 requires the SDK-side `additionalProperties` container.
  userProperties: {
    id: `anon-${RUN}`,
    identificationType: "COOKIED",
    additionalProperties: { plan: "pro" },
  },
};

const negativeBody = {
  type: "negative",
  messageId: answerId,
  reasons: [{ label: "incomplete", details: "Missing the CLI steps" }],
};

const webBody = {
  id: feedbackIds.web,
  type: "positive",
  messageId: questionId,
  userProperties: { id: 7, additionalProperties: {} },
};

const upsertBody = {
  id: feedbackIds.rated,
  type: "negative",
  messageId: answerId,
  reasons: [
    { label: "outdated", details: "The button is called Regenerate now" },
    { label: "other", details: "Ünïcødé détails ✓" },
  ],
  properties: { source: "conformance", edited: true },
  userProperties: { id: `anon-${RUN}`, additionalProperties: {} },
};

// ------------------------------------------------------------ expectations

function expectedUserProperties(sent) {
  if (sent === undefined || sent === null) return null;
  const { additionalProperties = {}, ...known } = sent;
  return Object.keys(additionalProperties).length > 0 ? { ...known, additionalProperties } : known;
}

function assertFeedback(got, sent, where = "feedback") {
  if (sent.id !== undefined) assert.equal(got.id, sent.id, `${where}.id`);
  else assertId(got.id, `${where}.id`);
  assert.equal(got.type, sent.type, `${where}.type`);
  assert.equal(got.messageId, sent.messageId, `${where}.messageId`);
  assertTimestamp(got.createdAt, `${where}.createdAt`);
  if (sent.createdAt) assert.equal(got.createdAt, sent.createdAt.toISOString(), `${where}.createdAt`);
  assert.deepEqual(got.reasons ?? null, sent.reasons ?? null, `${where}.reasons`);
  assert.deepEqual(got.properties ?? null, sent.properties ?? null, `${where}.properties`);
  assert.deepEqual(
    got.userProperties ?? null,
    expectedUserProperties(sent.userProperties),
    `${where}.userProperties`,
  );
}

/** Asserts the embedded conversation and message of a feedback read. */
function assertEmbedded(got, messageId, where) {
  const conversation = need(state.conversation, "rated conversation");
  assert.deepEqual(got.conversation, conversation, `${where}.conversation`);
  const message = conversation.messages.find((m) => m.id === messageId);
  assert.deepEqual(got.message, message, `${where}.message`);
}

async function feedbackCounts(client = api) {
  const page = await client.feedback.list({ limit: 0, offset: 0 });
  assert.deepEqual(page.positiveFeedback, [], "limit 0 returns no positive items");
  assert.deepEqual(page.negativeFeedback, [], "limit 0 returns no negative items");
  return { positive: page.positiveFeedbackCount, negative: page.negativeFeedbackCount };
}

/** Reads every feedback of the key's project page by page (small pages, at most 50 requests). */
async function allFeedback(client) {
  const { positive, negative } = await feedbackCounts(client);
  const limit = Math.min(100, Math.max(2, Math.ceil((positive + negative) / 50)));
  const items = [];
  for (let offset = 0; offset < positive + negative; offset += limit) {
    const page = await client.feedback.list({ limit, offset });
    assert.equal(page.positiveFeedbackCount, positive, `positiveFeedbackCount at offset ${offset}`);
    assert.equal(page.negativeFeedbackCount, negative, `negativeFeedbackCount at offset ${offset}`);
    const size = page.positiveFeedback.length + page.negativeFeedback.length;
    assert.equal(size, Math.min(limit, positive + negative - offset), `page size at offset ${offset}`);
    for (const f of page.positiveFeedback) assert.equal(f.type, "positive", "positiveFeedback item type");
    for (const f of page.negativeFeedback) assert.equal(f.type, "negative", "negativeFeedback item type");
    items.push(...page.positiveFeedback, ...page.negativeFeedback);
  }
  const ids = items.map((f) => f.id);
  assert.equal(new Set(ids).size, ids.length, "no feedback may appear twice");
  return items;
}

// ------------------------------------------------------------------ checks

const state = {};

await check("log a conversation to rate", async () => {
  const got = await api.conversations.log(API, conversationBody);
  assert.equal(got.id, conversationId);
  assert.deepEqual(
    got.messages.map((m) => [m.id, m.role, m.content]),
    [
      [questionId, "user", QUESTION],
      [answerId, "assistant", ANSWER],
    ],
  );
  state.conversation = got;
});

await check("feedback.list with limit 0 returns the counts only", async () => {
  state.counts0 = await feedbackCounts();
});

await check("submit positive feedback with reasons, properties and userProperties", async () => {
  const got = await api.feedback.submit(positiveBody);
  assertFeedback(got, positiveBody);
});

await check("submit negative feedback without an id (server generates it)", async () => {
  const got = await api.feedback.submit(negativeBody);
  assertFeedback(got, negativeBody);
  assert.notEqual(got.id, feedbackIds.rated);
  state.generatedId = got.id;
});

await check("submit feedback with the web key", async () => {
  const got = await web.feedback.submit(webBody);
  assertFeedback(got, webBody);
});

await check("feedback counts after three submissions", async () => {
  const before = need(state.counts0, "baseline counts");
  assert.deepEqual(await feedbackCounts(), {
    positive: before.positive + 2,
    negative: before.negative + 1,
  });
});

await check("upsert feedback by id changes its type and reasons", async () => {
  const got = await api.feedback.submit(upsertBody);
  assertFeedback(got, upsertBody);
});

await check("feedback counts after the upsert", async () => {
  const before = need(state.counts0, "baseline counts");
  assert.deepEqual(await feedbackCounts(), {
    positive: before.positive + 1,
    negative: before.negative + 2,
  });
});

await check("feedback.list pages contain each feedback once, with its conversation and message", async () => {
  const before = need(state.counts0, "baseline counts");
  const items = await allFeedback(api);
  assert.equal(items.length, before.positive + before.negative + 3);
  const byId = new Map(items.map((f) => [f.id, f]));
  const rated = byId.get(feedbackIds.rated);
  assert.ok(rated, "upserted feedback missing from the list");
  assertFeedback(rated, upsertBody, "rated");
  assertEmbedded(rated, answerId, "rated");
  const generated = byId.get(need(state.generatedId, "generated feedback id"));
  assert.ok(generated, "feedback with a generated id missing from the list");
  assertFeedback(generated, negativeBody, "generated");
  assertEmbedded(generated, answerId, "generated");
  const fromWeb = byId.get(feedbackIds.web);
  assert.ok(fromWeb, "feedback sent with the web key missing from the list");
  assertFeedback(fromWeb, webBody, "web");
  assertEmbedded(fromWeb, questionId, "web");
});

await check("feedback.list default page holds at most 10 items", async () => {
  const before = need(state.counts0, "baseline counts");
  const page = await api.feedback.list({});
  const total = before.positive + before.negative + 3;
  assert.equal(page.positiveFeedback.length + page.negativeFeedback.length, Math.min(10, total));
});

await check("getFeedbackById returns the upserted feedback with its conversation and message", async () => {
  const got = await api.feedback.getFeedbackById({ id: feedbackIds.rated });
  assertFeedback(got, upsertBody);
  assertEmbedded(got, answerId, "feedback");
});

await check("getFeedbackById of a server-generated id", async () => {
  const got = await api.feedback.getFeedbackById({ id: need(state.generatedId, "generated feedback id") });
  assertFeedback(got, negativeBody);
  assertEmbedded(got, answerId, "feedback");
});

await check("feedback on an unknown message id -> UnprocessableEntity", async () => {
  await expectTypedError(
    api.feedback.submit({ type: "positive", messageId: `msg-${RUN}-unknown` }),
    UnprocessableEntity,
  );
});

await check("getFeedbackById of an unknown id -> NotFound", async () => {
  await expectTypedError(api.feedback.getFeedbackById({ id: `fb-${RUN}-unknown` }), NotFound);
});

await check("web key on feedback.list -> Forbidden", async () => {
  await expectTypedError(web.feedback.list({}), Forbidden);
});

await check("web key on feedback.getFeedbackById -> Forbidden", async () => {
  await expectTypedError(web.feedback.getFeedbackById({ id: feedbackIds.rated }), Forbidden);
});

await check("other project's key cannot rate this project's message", async () => {
  await expectTypedError(
    other.feedback.submit({ type: "negative", messageId: answerId }),
    UnprocessableEntity,
    Forbidden,
  );
});

await check("other project's key cannot read this project's feedback", async () => {
  await expectTypedError(other.feedback.getFeedbackById({ id: feedbackIds.rated }), NotFound, Forbidden);
});

await check("other project's feedback.list does not contain this project's feedback", async () => {
  const items = await allFeedback(other);
  const ours = new Set([feedbackIds.rated, feedbackIds.web, state.generatedId]);
  assert.ok(!items.some((f) => ours.has(f.id)), "feedback leaked into another project");
});

// Events: every entity type, once with the api key and once with the web key.

const EVENT_CREATED_AT = new Date("2025-03-04T05:06:07.089Z");

function eventBodies(label) {
  return [
    {
      id: `evt-${RUN}-${label}-message`,
      entityType: "message",
      type: "message:copied",
      messageId: answerId,
      createdAt: EVENT_CREATED_AT,
      properties: { source: "button", label },
      userProperties: { id: `anon-${RUN}`, additionalProperties: { plan: "pro" } },
    },
    {
      entityType: "conversation",
      type: "chat_shared",
      conversationId,
      properties: { channel: "link" },
    },
    {
      entityType: "search",
      type: "search_query_submitted",
      searchQuery: `rotate api key ${label} ünïcødé`,
      userProperties: { id: `anon-${RUN}`, additionalProperties: {} },
    },
  ];
}

const VARIANT_KEY = { message: "messageId", conversation: "conversationId", search: "searchQuery" };

function assertEvent(got, sent) {
  if (sent.id !== undefined) assert.equal(got.id, sent.id, "id");
  else assertId(got.id, "id");
  assert.equal(got.entityType, sent.entityType, "entityType");
  assert.equal(got.type, sent.type, "type");
  const key = VARIANT_KEY[sent.entityType];
  assert.equal(got[key], sent[key], key);
  assertTimestamp(got.createdAt, "createdAt");
  if (sent.createdAt) assert.equal(got.createdAt, sent.createdAt.toISOString(), "createdAt");
  assert.deepEqual(got.properties ?? null, sent.properties ?? null, "properties");
  assert.deepEqual(
    got.userProperties ?? null,
    expectedUserProperties(sent.userProperties),
    "userProperties",
  );
  assertId(got.projectId, "projectId");
  assertId(got.integrationId, "integrationId");
}

for (const [label, security] of [
  ["api", API],
  ["web", WEB],
]) {
  for (const body of eventBodies(label)) {
    await check(`log ${body.entityType} event '${body.type}' with the ${label} key`, async () => {
      const got = await api.events.log(security, body);
      assertEvent(got, body);
      const conversation = need(state.conversation, "rated conversation");
      assert.equal(got.projectId, conversation.projectId, "projectId comes from the key");
      if (label === "api") {
        assert.equal(got.integrationId, conversation.integrationId, "integrationId comes from the key");
      } else {
        assert.notEqual(got.integrationId, conversation.integrationId, "web key has its own integration");
      }
    });
  }
}

await check("event without any key -> Unauthorized", async () => {
  await expectTypedError(api.events.log({}, eventBodies("nokey")[2]), Unauthorized);
});

await check("event with an invalid key -> Unauthorized", async () => {
  await expectTypedError(
    api.events.log({ webIntegrationKey: `invalid-key-${RUN}` }, eventBodies("badkey")[2]),
    Unauthorized,
  );
});

await check("clean up: deleting the conversation removes its feedback", async () => {
  const got = await api.conversations.delete(API, { id: conversationId });
  assert.deepEqual(got, { success: true, message: "Conversation deleted successfully" });
  await expectTypedError(api.feedback.getFeedbackById({ id: feedbackIds.rated }), NotFound);
  assert.deepEqual(await feedbackCounts(), need(state.counts0, "baseline counts"));
});

finish();
