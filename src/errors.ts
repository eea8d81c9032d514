/**
 * The one base of every error tenure throws or hands to `onError`, so a caller can tell tenure's
 * failures from their own with one `instanceof`. Each subclass names one kind of failure.
 *
 * @module
 */

/** Base class of tenure's errors; `name` says which subclass. */
export class TenureError extends Error {
  override readonly name: string = "TenureError";
}
