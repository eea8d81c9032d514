/**
 * Failed Kubernetes requests as LockErrors: the reason from `Status.reason` (both "stale
 * resourceVersion" and "already exists" are HTTP 409), and a message that says what to do.
 *
 * @module
 */
import { LockError, type LockErrorReason } from "../../src/lock.ts";
import { asStatus, type Status } from "./wire.ts";

/** What was being done, for messages: `get lease default/demo`. */
export interface Action {
  readonly verb: string;
  readonly resource: string;
  readonly namespace: string;
  readonly name?: string;
}

/** Status.reason values that are not already LockError reasons of the same name. */
const ALIASES: Record<string, LockErrorReason> = {
  Gone: "Expired",
  ServerTimeout: "Timeout",
  InternalError: "ServerError",
  ServiceUnavailable: "ServerError",
};
const KNOWN = new Set<string>(["NotFound", "Conflict", "AlreadyExists", "Expired", "Unauthorized", "Forbidden", "Invalid", "BadRequest", "TooManyRequests", "Timeout"]);
const reasonOfStatus = (reason: string): LockErrorReason | undefined =>
  KNOWN.has(reason) ? (reason as LockErrorReason) : ALIASES[reason];

/** By HTTP status when the body names no reason; a 409 of unknown reason is a Conflict, as client-go's IsConflict. */
const BY_CODE: Record<number, LockErrorReason> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  409: "Conflict",
  410: "Expired",
  422: "Invalid",
  429: "TooManyRequests",
  504: "Timeout",
};
const byStatus = (code: number): LockErrorReason => BY_CODE[code] ?? (code >= 500 ? "ServerError" : "Unknown");

/** What was being done, for messages: `get leases.coordination.k8s.io ns/lock`. */
export const describe = (action: Action): string =>
  `${action.verb} ${action.resource} ${action.namespace}${action.name === undefined ? "" : `/${action.name}`}`;

const advice = (reason: LockErrorReason, action: Action): string => {
  switch (reason) {
    case "Forbidden":
      return ` Grant the identity RBAC permission to ${action.verb} ${action.resource} in namespace ${action.namespace} (see the Role in tenure's README).`;
    case "Unauthorized":
      return " The token may have expired or been revoked, or the client certificate is not trusted.";
    default:
      return "";
  }
};

/** The LockError for an HTTP error response whose body (if JSON) has been parsed. */
export const errorOfResponse = (status: number, body: unknown, headers: Headers, action: Action): LockError => {
  const kube: Status | undefined = asStatus(body);
  const reason = (kube?.reason === undefined ? undefined : reasonOfStatus(kube.reason)) ?? byStatus(kube?.code ?? status);
  const retrySeconds = Number(headers.get("retry-after") ?? kube?.details?.retryAfterSeconds ?? NaN);
  const causes = (kube?.details?.causes ?? []).map((c) => c.message).filter((m): m is string => m !== undefined);
  const said = kube?.message ?? (typeof body === "string" && body !== "" ? body.slice(0, 200) : "no details");
  const message = `${describe(action)}: HTTP ${status} ${reason}: ${said}${causes.length > 0 && !said.includes(causes[0] as string) ? ` (${causes.join("; ")})` : ""}.${advice(reason, action)}`;
  return new LockError(reason, message, {
    status,
    cause: kube,
    retryAfter: Number.isFinite(retrySeconds) ? retrySeconds * 1000 : undefined,
  });
};

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|TLS|SSL|certificate/i;

/**
 * The LockError for a request that got no response, or (`reading`) whose answer broke off midway:
 * aborted, timed out, or a network or TLS failure.
 */
export const errorOfFailure = (error: unknown, server: string, action: Action, signal: AbortSignal, reading?: boolean): LockError => {
  if (signal.aborted) {
    return signal.reason instanceof LockError
      ? signal.reason
      : new LockError("Timeout", `${describe(action)}: cancelled before the server answered`, { cause: error });
  }
  if (error instanceof LockError) return error;
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const detail = [cause?.code, cause?.message ?? (error instanceof Error ? error.message : String(error))].filter(Boolean).join(": ");
  if (reading) return new LockError("Network", `${describe(action)}: the connection to ${server} broke while reading the answer (${detail})`, { cause: error });
  if (TLS_CODES.test(detail)) {
    return new LockError("Network", `${describe(action)}: TLS verification of ${server} failed (${detail}). The server's certificate is not signed by the configured CA: check the CA file or certificate-authority-data.`, { cause: error });
  }
  return new LockError("Network", `${describe(action)}: could not reach ${server} (${detail}). Check the server address and that the API server is reachable from here.`, { cause: error });
};
