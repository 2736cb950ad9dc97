// Conversation endpoints driven through the official npm SDK:
// log (upsert), get, list, get by external id, delete, and the typed errors.
//
// Usage: CONVOSCOPE_URL=... CONVOSCOPE_API_KEY=... CONVOSCOPE_WEB_KEY=... \
//        CONVOSCOPE_OTHER_API_KEY=... node tests/conformance/conversations.mjs

import assert from "node:assert/strict";

import {
  BadRequest,
  Forbidden,
  NotFound,
  Unauthorized,
} from "@inkeep/inkeep-analytics/models/errors";

import {
  RUN,
  assertId,
  assertTimestamp,
  check,
  compact,
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
const bad = makeClient(url, `invalid-key-${RUN}`);

// ---------------------------------------------------------------- fixtures

const CREATED_AT = new Date("2025-01-02T03:04:05.678Z");

const ids = {
  openai: `conf-${RUN}-openai`,
  ticket: `conf-${RUN}-ticket`,
  copilot: `conf-${RUN}-copilot`,
  odd: `conf/${RUN}/ünïcødé 日本語 50%?`,
  unknown: `conf-${RUN}-does-not-exist`,
};

// npm 0.2.4-alpha.27 only sends userProperties that carry the SDK-side
// `additionalProperties` container; its content is merged into the object.
const userProperties = {
  id: `anon-${RUN}`,
  identificationType: "COOKIED",
  additionalProperties: { plan: "pro", seats: 3 },
};

const openaiBody = {
  id: ids.openai,
  type: "openai",
  externalId: `chat-${RUN}`,
  createdAt: CREATED_AT,
  properties: { page: "/docs/install", plan: "pro", nested: { list: [1, "two", null] } },
  userProperties,
  tags: ["conformance", RUN],
  visibility: "public",
  messages: [
    { role: "system", content: "You are a helpful assistant." },
    {
      role: "user",
      name: "alice",
      content: [
        { type: "text", text: "What is on this screenshot?" },
        { type: "image_url", imageUrl: { url: "https://example.com/screenshot.png" } },
      ],
      userProperties: { id: `anon-${RUN}`, additionalProperties: {} },
    },
    {
      role: "assistant",
      content: "",
      toolCalls: [
        {
          id: "call_1",
          type: "function",
          function: { name: "lookup_error", arguments: '{"code":"E42"}' },
        },
      ],
    },
    {
      id: `msg-${RUN}-answer`,
      role: "assistant",
      content: "Open Settings → API keys and click Rotate.",
      links: [
        { url: "https://example.com/docs/keys", title: "API keys", type: "documentation" },
        {
          url: "https://example.com/forum/42",
          label: "Forum",
          description: "A forum thread",
          breadcrumbs: ["Forum", "Keys"],
          type: "forum_thread",
        },
      ],
      properties: { model: "gpt-4o", latencyMs: 420 },
    },
  ],
};

const ticketBody = {
  id: ids.ticket,
  type: "support_ticket",
  externalId: `zd/${RUN}/4411`,
  externalUrl: `https://support.example.com/tickets/${RUN}`,
  messages: [
    {
      role: "customer",
      content: "My export fails",
      externalId: `zd-${RUN}-c1`,
      externalUrl: `https://support.example.com/tickets/${RUN}#c1`,
    },
    { role: "agent", content: null },
    { role: "agent", name: "Bob" },
  ],
};

const copilotBody = {
  id: ids.copilot,
  type: "support_copilot",
  supportTicketConversationId: ids.ticket,
  userProperties: {
    userId: 42,
    supportAgentName: "Bob",
    userType: "agent",
    additionalProperties: {},
  },
  messages: [
    { role: "agent", content: "Customer says the export fails." },
    {
      role: "copilot",
      content: "Suggest re-running the export with a smaller date range.",
      links: [{ url: "https://example.com/docs/export", title: "Exports" }],
    },
  ],
};

const oddBody = {
  id: ids.odd,
  type: "openai",
  externalId: `ext/${RUN}/ü 100%`,
  messages: [{ role: "user", content: "Ünïcødé — 日本語のテキスト 🚀" }],
};

// ------------------------------------------------------------ expectations

/** What the SDK returns for userProperties it sent (extra keys are collected again). */
function expectedUserProperties(sent) {
  if (sent === undefined || sent === null) return null;
  const { additionalProperties = {}, ...known } = sent;
  return Object.keys(additionalProperties).length > 0 ? { ...known, additionalProperties } : known;
}

/** Content as the SDK returns it: image parts get `detail: "auto"` when absent. */
function expectedContent(content) {
  if (!Array.isArray(content)) return content;
  return content.map((part) =>
    part.type === "image_url"
      ? { type: "image_url", imageUrl: { detail: "auto", ...part.imageUrl } }
      : part,
  );
}

function expectedOpenAIFormat(messages) {
  return messages.map((m) =>
    compact({ role: m.role, content: expectedContent(m.content), name: m.name, toolCalls: m.toolCalls }),
  );
}

function assertMessage(got, sent, type, conversationId, where) {
  if (sent.id !== undefined) assert.equal(got.id, sent.id, `${where}.id`);
  else assertId(got.id, `${where}.id`);
  assert.equal(got.type, type, `${where}.type`);
  assert.equal(got.conversationId, conversationId, `${where}.conversationId`);
  assert.equal(got.externalId, sent.externalId ?? null, `${where}.externalId`);
  assert.equal(got.externalUrl, sent.externalUrl ?? null, `${where}.externalUrl`);
  assertTimestamp(got.createdAt, `${where}.createdAt`);
  assertTimestamp(got.updatedAt, `${where}.updatedAt`);
  assert.equal(got.role, sent.role, `${where}.role`);
  if (type === "openai") {
    assert.deepEqual(compact(got.content), expectedContent(sent.content), `${where}.content`);
    assert.deepEqual(got.toolCalls ?? null, sent.toolCalls ?? null, `${where}.toolCalls`);
  } else {
    assert.equal(got.content, sent.content ?? null, `${where}.content`);
  }
  assert.equal(got.name ?? null, sent.name ?? null, `${where}.name`);
  assert.deepEqual(compact(got.links ?? null), sent.links ?? null, `${where}.links`);
  assert.deepEqual(got.properties ?? null, sent.properties ?? null, `${where}.properties`);
  assert.deepEqual(
    got.userProperties ?? null,
    expectedUserProperties(sent.userProperties),
    `${where}.userProperties`,
  );
}

function assertConversation(got, sent) {
  assert.equal(got.id, sent.id, "id");
  assert.equal(got.type, sent.type, "type");
  assert.equal(got.externalId, sent.externalId ?? null, "externalId");
  assert.equal(got.externalUrl, sent.externalUrl ?? null, "externalUrl");
  assert.equal(
    got.supportTicketConversationId,
    sent.supportTicketConversationId ?? null,
    "supportTicketConversationId",
  );
  assertTimestamp(got.createdAt, "createdAt");
  assertTimestamp(got.updatedAt, "updatedAt");
  if (sent.createdAt) assert.equal(got.createdAt, sent.createdAt.toISOString(), "createdAt");
  assertId(got.projectId, "projectId");
  assertId(got.integrationId, "integrationId");
  assert.deepEqual(got.properties ?? null, sent.properties ?? null, "properties");
  assert.deepEqual(
    got.userProperties ?? null,
    expectedUserProperties(sent.userProperties),
    "userProperties",
  );
  assert.deepEqual(got.tags ?? null, sent.tags ?? null, "tags");
  assert.equal(got.visibility, sent.visibility ?? null, "visibility");
  assert.equal(got.messages.length, sent.messages.length, "number of messages");
  sent.messages.forEach((m, i) => assertMessage(got.messages[i], m, sent.type, sent.id, `messages[${i}]`));
  const messageIds = got.messages.map((m) => m.id);
  assert.equal(new Set(messageIds).size, messageIds.length, "message ids must be unique");
  if (sent.type === "openai") {
    assert.deepEqual(
      compact(got.messagesOpenAIFormat),
      expectedOpenAIFormat(sent.messages),
      "messagesOpenAIFormat",
    );
  }
}

/** Asserts that a typed error body does not leak any text of the conversation. */
function assertNoLeak(err, body) {
  for (const m of body.messages) {
    if (typeof m.content === "string" && m.content.length > 0) {
      assert.ok(!err.body.includes(m.content), "error body must not contain conversation data");
    }
  }
}

// ------------------------------------------------------------------ checks

const state = {};

await check("list with limit 0 returns the total and no conversations", async () => {
  const page = await api.conversations.list({ limit: 0, offset: 0 });
  assert.deepEqual(page.conversations, []);
  assert.equal(page.pageSize, 0);
  assert.equal(page.count, 0);
  assert.ok(Number.isInteger(page.total) && page.total >= 0, "total must be a count");
  state.total0 = page.total;
});

await check("log openai conversation (content parts, image, tool call, links, name, userProperties)", async () => {
  const got = await api.conversations.log(API, openaiBody);
  assertConversation(got, openaiBody);
  state.openai = got;
});

await check("log support_ticket conversation with null and missing content", async () => {
  const got = await api.conversations.log(API, ticketBody);
  assertConversation(got, ticketBody);
  state.ticket = got;
});

await check("log support_copilot conversation with the web key", async () => {
  const got = await api.conversations.log(WEB, copilotBody);
  assertConversation(got, copilotBody);
  state.copilot = got;
});

await check("log conversation whose id contains '/', spaces, '%' and unicode", async () => {
  const got = await api.conversations.log(API, oddBody);
  assertConversation(got, oddBody);
  state.odd = got;
});

await check("log with an empty message list -> BadRequest", async () => {
  const body = { id: `conf-${RUN}-empty`, type: "openai", messages: [] };
  await expectTypedError(api.conversations.log(API, body), BadRequest);
});

await check("projectId and integrationId are taken from the key", async () => {
  const openai = need(state.openai, "openai conversation");
  const ticket = need(state.ticket, "support_ticket conversation");
  const copilot = need(state.copilot, "support_copilot conversation");
  assert.equal(ticket.projectId, openai.projectId);
  assert.equal(copilot.projectId, openai.projectId, "web key belongs to the same project");
  assert.equal(ticket.integrationId, openai.integrationId, "same api key, same integration");
  assert.notEqual(copilot.integrationId, openai.integrationId, "web key has its own integration");
});

await check("get openai conversation with the api key", async () => {
  const got = await api.conversations.get(API, { id: ids.openai });
  assert.deepEqual(got, need(state.openai, "openai conversation"));
});

await check("get openai conversation with the web key", async () => {
  const got = await api.conversations.get(WEB, { id: ids.openai });
  assert.deepEqual(got, need(state.openai, "openai conversation"));
});

await check("get support_ticket conversation", async () => {
  const got = await api.conversations.get(API, { id: ids.ticket });
  assert.deepEqual(got, need(state.ticket, "support_ticket conversation"));
});

await check("get support_copilot conversation with the web key", async () => {
  const got = await api.conversations.get(WEB, { id: ids.copilot });
  assert.deepEqual(got, need(state.copilot, "support_copilot conversation"));
});

await check("get conversation whose id contains '/', spaces, '%' and unicode", async () => {
  const got = await api.conversations.get(API, { id: ids.odd });
  assert.deepEqual(got, need(state.odd, "odd-id conversation"));
});

await check("list: walking all pages yields every conversation once, newest first", async () => {
  const expectedTotal = need(state.total0, "baseline total") + 4;
  const seen = [];
  for (let offset = 0; offset < expectedTotal; offset += 100) {
    const page = await api.conversations.list({ limit: 100, offset });
    assert.equal(page.total, expectedTotal, `total at offset ${offset}`);
    assert.equal(page.pageSize, 100, `pageSize at offset ${offset}`);
    assert.equal(page.count, Math.min(100, expectedTotal - offset), `count at offset ${offset}`);
    assert.equal(page.conversations.length, page.count, "count must equal the page length");
    seen.push(...page.conversations);
  }
  const seenIds = seen.map((c) => c.id);
  assert.equal(new Set(seenIds).size, seenIds.length, "no conversation may appear twice");
  for (const id of [ids.openai, ids.ticket, ids.copilot, ids.odd]) {
    assert.ok(seenIds.includes(id), `conversation ${id} missing from the list`);
  }
  for (let i = 1; i < seen.length; i += 1) {
    assert.ok(
      Date.parse(seen[i - 1].createdAt) >= Date.parse(seen[i].createdAt),
      `list must be ordered by createdAt descending (positions ${i - 1} and ${i})`,
    );
  }
  assert.deepEqual(
    seen.find((c) => c.id === ids.openai),
    need(state.openai, "openai conversation"),
    "listed conversation equals the logged one",
  );
  state.listedIds = seenIds;
});

await check("list: limit 2 offset 1 returns the second and third conversation", async () => {
  const listedIds = need(state.listedIds, "full list");
  const page = await api.conversations.list({ limit: 2, offset: 1 });
  assert.equal(page.total, listedIds.length);
  assert.equal(page.pageSize, 2);
  assert.equal(page.count, 2);
  assert.deepEqual(
    page.conversations.map((c) => c.id),
    listedIds.slice(1, 3),
  );
});

await check("list: offset at the end returns an empty page", async () => {
  const listedIds = need(state.listedIds, "full list");
  const page = await api.conversations.list({ limit: 5, offset: listedIds.length });
  assert.deepEqual(page.conversations, []);
  assert.equal(page.total, listedIds.length);
  assert.equal(page.pageSize, 5);
  assert.equal(page.count, 0);
});

await check("list: default page size is 20", async () => {
  const listedIds = need(state.listedIds, "full list");
  const page = await api.conversations.list({});
  assert.equal(page.total, listedIds.length);
  assert.equal(page.pageSize, 20);
  assert.equal(page.count, Math.min(20, listedIds.length));
  assert.deepEqual(
    page.conversations.map((c) => c.id),
    listedIds.slice(0, 20),
  );
});

await check("get support_ticket conversation by external id containing '/'", async () => {
  const got = await api.conversation.getConversationByExternalId({ externalId: ticketBody.externalId });
  assert.deepEqual(got, need(state.ticket, "support_ticket conversation"));
});

await check("get conversation by external id containing unicode, spaces and '%'", async () => {
  const got = await api.conversation.getConversationByExternalId({ externalId: oddBody.externalId });
  assert.deepEqual(got, need(state.odd, "odd-id conversation"));
});

await check("upsert: same id with one more message replaces the messages and keeps their ids", async () => {
  const before = need(state.openai, "openai conversation");
  const messages = [
    ...openaiBody.messages.slice(0, 3),
    { ...openaiBody.messages[3], content: "Open Settings → API keys, then click Rotate key." },
    { role: "user", content: "Thanks, that worked!" },
  ];
  const body = {
    ...openaiBody,
    createdAt: undefined,
    properties: { page: "/docs/keys" },
    messages,
  };
  const got = await api.conversations.log(API, body);
  assertConversation(got, { ...body, createdAt: CREATED_AT });
  assert.deepEqual(
    got.messages.slice(0, 4).map((m) => m.id),
    before.messages.map((m) => m.id),
    "earlier messages keep their ids",
  );
  assert.ok(
    !before.messages.some((m) => m.id === got.messages[4].id),
    "the new message gets a new id",
  );
  state.upserted = got;
});

await check("get after upsert returns the replaced conversation", async () => {
  const got = await api.conversations.get(API, { id: ids.openai });
  assert.deepEqual(got, need(state.upserted, "upserted conversation"));
});

await check("upsert keeps the conversation count", async () => {
  const page = await api.conversations.list({ limit: 0, offset: 0 });
  assert.equal(page.total, need(state.total0, "baseline total") + 4);
});

await check("invalid api key on conversations.list -> Unauthorized", async () => {
  await expectTypedError(bad.conversations.list({}), Unauthorized);
});

await check("invalid api key on conversations.get -> Unauthorized", async () => {
  await expectTypedError(
    api.conversations.get({ apiIntegrationKey: `invalid-key-${RUN}` }, { id: ids.openai }),
    Unauthorized,
  );
});

await check("no key at all on conversations.log -> Unauthorized", async () => {
  await expectTypedError(
    api.conversations.log({}, { ...oddBody, id: `conf-${RUN}-nokey` }),
    Unauthorized,
  );
});

await check("web key on conversations.list -> Forbidden", async () => {
  await expectTypedError(web.conversations.list({}), Forbidden);
});

await check("web key on getConversationByExternalId -> Forbidden", async () => {
  await expectTypedError(
    web.conversation.getConversationByExternalId({ externalId: ticketBody.externalId }),
    Forbidden,
  );
});

await check("other project's key cannot get this project's conversation", async () => {
  const err = await expectTypedError(other.conversations.get(OTHER, { id: ids.ticket }), NotFound, Forbidden);
  assertNoLeak(err, ticketBody);
});

await check("other project's key cannot get this project's conversation by external id", async () => {
  const err = await expectTypedError(
    other.conversation.getConversationByExternalId({ externalId: ticketBody.externalId }),
    NotFound,
    Forbidden,
  );
  assertNoLeak(err, ticketBody);
});

await check("other project's key cannot delete this project's conversation", async () => {
  await expectTypedError(other.conversations.delete(OTHER, { id: ids.ticket }), NotFound, Forbidden);
  const still = await api.conversations.get(API, { id: ids.ticket });
  assert.deepEqual(still, need(state.ticket, "support_ticket conversation"));
});

await check("other project's list does not contain this project's conversations", async () => {
  const first = await other.conversations.list({ limit: 100, offset: 0 });
  const found = [...first.conversations];
  for (let offset = 100; offset < first.total; offset += 100) {
    const page = await other.conversations.list({ limit: 100, offset });
    found.push(...page.conversations);
  }
  const ours = new Set([ids.openai, ids.ticket, ids.copilot, ids.odd]);
  const projectId = need(state.openai, "openai conversation").projectId;
  assert.ok(!found.some((c) => ours.has(c.id)), "conversations leaked into another project");
  assert.ok(!found.some((c) => c.projectId === projectId), "conversations leaked into another project");
});

// The spec recommends 403 for an id that exists in another project; keeping ids
// per project is accepted too, as long as this project's conversation is untouched.
await check("other project's key cannot overwrite this project's conversation", async () => {
  const hijack = { ...ticketBody, messages: [{ role: "customer", content: "overwritten" }] };
  let theirs;
  try {
    theirs = await other.conversations.log(OTHER, hijack);
  } catch (err) {
    if (!(err instanceof Forbidden)) throw err;
    await expectTypedError(Promise.reject(err), Forbidden);
  }
  if (theirs !== undefined) {
    assertConversation(theirs, hijack);
    assert.notEqual(theirs.projectId, need(state.ticket, "support_ticket conversation").projectId);
    const removed = await other.conversations.delete(OTHER, { id: ids.ticket });
    assert.equal(removed.success, true);
  }
  const still = await api.conversations.get(API, { id: ids.ticket });
  assert.deepEqual(still, need(state.ticket, "support_ticket conversation"));
});

await check("get unknown id -> NotFound", async () => {
  await expectTypedError(api.conversations.get(API, { id: ids.unknown }), NotFound);
});

await check("get unknown external id -> NotFound", async () => {
  await expectTypedError(
    api.conversation.getConversationByExternalId({ externalId: `ext-${RUN}-unknown` }),
    NotFound,
  );
});

await check("delete unknown id -> NotFound", async () => {
  await expectTypedError(api.conversations.delete(API, { id: ids.unknown }), NotFound);
});

await check("delete conversation whose id contains '/', spaces, '%' and unicode", async () => {
  const got = await api.conversations.delete(API, { id: ids.odd });
  assert.deepEqual(got, { success: true, message: "Conversation deleted successfully" });
});

await check("get deleted conversation -> NotFound", async () => {
  await expectTypedError(api.conversations.get(API, { id: ids.odd }), NotFound);
});

await check("get deleted conversation by external id -> NotFound", async () => {
  await expectTypedError(
    api.conversation.getConversationByExternalId({ externalId: oddBody.externalId }),
    NotFound,
  );
});

await check("delete deleted conversation again -> NotFound", async () => {
  await expectTypedError(api.conversations.delete(API, { id: ids.odd }), NotFound);
});

await check("list total drops by one after the delete", async () => {
  const page = await api.conversations.list({ limit: 0, offset: 0 });
  assert.equal(page.total, need(state.total0, "baseline total") + 3);
});

await check("delete with the web key", async () => {
  const got = await api.conversations.delete(WEB, { id: ids.copilot });
  assert.deepEqual(got, { success: true, message: "Conversation deleted successfully" });
  await expectTypedError(api.conversations.get(API, { id: ids.copilot }), NotFound);
});

await check("clean up: delete the remaining conversations", async () => {
  for (const id of [ids.openai, ids.ticket]) {
    const got = await api.conversations.delete(API, { id });
    assert.deepEqual(got, { success: true, message: "Conversation deleted successfully" });
  }
  const page = await api.conversations.list({ limit: 0, offset: 0 });
  assert.equal(page.total, need(state.total0, "baseline total"));
});

finish();
