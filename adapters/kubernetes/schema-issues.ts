/**
 * Readable zod/mini failures. zod/mini has no messages of its own ("Invalid input") unless a
 * locale is configured, and that configuration is global: a library must not change it for its
 * users. So each parse passes this error map, which says what was expected and what came.
 *
 * @module
 */
import type * as z from "zod/mini";

const kindOf = (value: unknown): string =>
  value === undefined ? "nothing" : value === null ? "null" : Array.isArray(value) ? "a list" : typeof value;

/** `expected string, got number`; other issues keep their schema's message. */
export const explain: z.core.$ZodErrorMap = (issue) =>
  issue.code === "invalid_type" ? `expected ${issue.expected}, got ${kindOf(issue.input)}` : undefined;

/** One entry per issue: `clusters.0.cluster.server: expected string, got nothing`. */
export const issuesOf = (error: z.core.$ZodError): string[] =>
  error.issues.map((issue) => `${issue.path.join(".") || "(the whole document)"}: ${issue.message}`);
