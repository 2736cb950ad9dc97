// Shared helpers for the conformance scenarios: environment, SDK clients,
// the check runner and typed-error assertions.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { inspect } from "node:util";

import { InkeepAnalytics } from "@inkeep/inkeep-analytics";
import {
  APIError,
  BadRequest,
  Forbidden,
  InternalServerError,
  NotFound,
  ResponseValidationError,
  SDKValidationError,
  Unauthorized,
  UnprocessableEntity,
} from "@inkeep/inkeep-analytics/models/errors";

const TYPED_ERRORS = [BadRequest, Unauthorized, Forbidden, NotFound, UnprocessableEntity, InternalServerError];

/** Reads the required environment variables; exits with status 2 if one is missing. */
export function readEnv(names) {
  const env = {};
  const missing = [];
  for (const name of names) {
    const value = process.env[name];
    if (!value) missing.push(name);
    env[name] = value;
  }
  if (missing.length > 0) {
    console.error(`missing environment variable(s): ${missing.join(", ")}`);
    process.exit(2);
  }
  return env;
}

/** A short random suffix so that every run uses fresh ids. */
export const RUN = `${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;

/**
 * An SDK client whose global key is `apiIntegrationKey`. Retries are off so a
 * server error surfaces at once instead of being retried for up to an hour.
 */
export function makeClient(serverURL, apiIntegrationKey) {
  return new InkeepAnalytics({
    serverURL,
    apiIntegrationKey,
    retryConfig: { strategy: "none" },
    timeoutMs: 30_000,
  });
}

const results = { passed: 0, failed: 0 };

function describe(err) {
  if (err instanceof ResponseValidationError) {
    return {
      summary: `ResponseValidationError (HTTP ${err.statusCode}): ${firstLine(err.message)}`,
      details: [err.pretty(), `response body: ${truncate(err.body, 2000)}`],
    };
  }
  if (err instanceof SDKValidationError) {
    return {
      summary: `SDKValidationError: ${firstLine(err.message)}`,
      details: [err.pretty()],
    };
  }
  if (err instanceof APIError) {
    return {
      summary: `APIError (HTTP ${err.statusCode}, ${err.contentType || "no content type"}): ${firstLine(err.message)}`,
      details: [`response body: ${truncate(err.body, 2000)}`],
    };
  }
  if (err instanceof assert.AssertionError) {
    let summary = err.generatedMessage ? firstLine(err.message).replace(/:$/, "") : firstLine(err.message);
    if (["strictEqual", "deepStrictEqual", "notStrictEqual", "match"].includes(err.operator)) {
      summary += `: expected ${brief(err.expected)}, got ${brief(err.actual)}`;
    }
    return { summary, details: [err.message] };
  }
  if (TYPED_ERRORS.some((cls) => err instanceof cls)) {
    return {
      summary: `${err.name} (HTTP ${err.statusCode}): ${err.detail ?? firstLine(err.message)}`,
      details: [`response body: ${truncate(err.body, 2000)}`],
    };
  }
  if (err instanceof PrerequisiteError) return { summary: err.message, details: [] };
  const name = err?.name ?? "Error";
  return { summary: `${name}: ${firstLine(String(err?.message ?? err))}`, details: [err?.stack ?? ""] };
}

function firstLine(text) {
  return String(text).split("\n").find((line) => line.trim() !== "") ?? "";
}

function brief(value) {
  return truncate(inspect(value, { depth: 4, breakLength: Infinity }), 300);
}

function truncate(text, max) {
  const s = String(text ?? "");
  return s.length > max ? `${s.slice(0, max)}...` : s;
}

/**
 * Runs one named check. Prints `ok - name` or `not ok - name: reason` on
 * stdout (details of a failure go to stderr). Any thrown error fails the check.
 */
export async function check(name, fn) {
  try {
    await fn();
    results.passed += 1;
    console.log(`ok - ${name}`);
  } catch (err) {
    results.failed += 1;
    const { summary, details } = describe(err);
    console.log(`not ok - ${name}: ${summary}`);
    if (details.length > 0) console.error(`# not ok - ${name}`);
    for (const block of details) {
      for (const line of String(block).split("\n")) console.error(`#   ${line}`);
    }
  }
}

/** Prints the summary line and sets the exit status. */
export function finish() {
  console.log(`${results.passed} passed, ${results.failed} failed`);
  process.exitCode = results.failed > 0 ? 1 : 0;
}

class PrerequisiteError extends Error {}

/** Fails the current check when a value from an earlier check is missing. */
export function need(value, what) {
  if (value === undefined || value === null) {
    throw new PrerequisiteError(`prerequisite missing: ${what} (an earlier check failed)`);
  }
  return value;
}

const CODES = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  422: "unprocessable_entity",
  500: "internal_server_error",
};

/**
 * Awaits `promise` and asserts that it rejects with one of the given typed SDK
 * error classes, carrying a complete problem+json body. Returns the error.
 */
export async function expectTypedError(promise, ...classes) {
  let value;
  try {
    value = await promise;
  } catch (err) {
    if (!classes.some((cls) => err instanceof cls)) throw err;
    const status = err.statusCode;
    assert.equal(err.contentType.split(";")[0].trim(), "application/problem+json");
    assert.equal(err.status, status, "body `status` must repeat the HTTP status");
    assert.equal(err.code, CODES[status]);
    assert.equal(err.error.code, CODES[status]);
    assert.equal(typeof err.error.message, "string");
    assert.equal(typeof err.title, "string");
    assert.ok(err.title.length > 0, "`title` must not be empty");
    assert.equal(typeof err.detail, "string");
    assert.ok(err.detail.length > 0, "`detail` must not be empty");
    return err;
  }
  const names = classes.map((cls) => cls.name).join(" or ");
  assert.fail(`expected ${names}, but the call succeeded: ${truncate(JSON.stringify(value), 300)}`);
}

/** Recursively drops keys whose value is null or undefined (for optional, nullable fields). */
export function compact(value) {
  if (Array.isArray(value)) return value.map(compact);
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== null && v !== undefined) out[k] = compact(v);
    }
    return out;
  }
  return value;
}

/** Asserts that `value` is a non-empty string. */
export function assertId(value, what) {
  assert.equal(typeof value, "string", `${what} must be a string`);
  assert.ok(value.length > 0, `${what} must not be empty`);
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Asserts that `value` is an ISO-8601 date-time string with a time zone. */
export function assertTimestamp(value, what) {
  assert.equal(typeof value, "string", `${what} must be a string`);
  assert.match(value, ISO_DATE_TIME, `${what} must be an ISO-8601 date-time with zone`);
}
