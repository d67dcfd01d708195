import { invalidArgument } from "./errors.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Checks an id field of a gRPC request; the services validate their own input, the gateway is not trusted to. */
export function requireUuid(value: string, field: string): string {
  if (!isUuid(value)) throw invalidArgument(`${field} must be a UUID`);
  return value.toLowerCase();
}

/** Length in characters (code points), not UTF-16 units or bytes: "ё" and "😀" count as one. */
export function characterLength(text: string): number {
  let length = 0;
  for (const _ of text) length++;
  return length;
}

export interface TextRule {
  /** Minimum length in characters after trimming; 0 allows an empty value. */
  min: number;
  max: number;
}

/**
 * Checks a free-text field: length in characters and no NUL, which PostgreSQL cannot store in
 * text and would otherwise turn a client's input into a server error.
 */
export function requireText(value: string, field: string, rule: TextRule): string {
  if (value.includes("\u0000")) throw invalidArgument(`${field} must not contain NUL characters`);
  if (rule.min > 0 && value.trim().length === 0) throw invalidArgument(`${field} must not be empty`);
  const length = characterLength(value);
  if (length < rule.min || length > rule.max) {
    throw invalidArgument(`${field} must be ${rule.min} to ${rule.max} characters long`);
  }
  return value;
}

/** Clamps a requested page size: 0 (unset) takes the default, more than the maximum takes the maximum. */
export function pageSize(requested: number, fallback: number, max: number): number {
  if (requested < 0) throw invalidArgument("page size must not be negative");
  if (requested === 0) return fallback;
  return Math.min(requested, max);
}

/** Rows found for `ids`, in the order of `ids` (repeats kept); ids without a row are left out. */
export function inRequestedOrder<T extends { id: string }>(ids: string[], rows: T[]): T[] {
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}
