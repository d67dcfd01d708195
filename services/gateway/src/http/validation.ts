import { z } from "zod";
import { badRequest } from "./problems.js";

/** Parses one part of a request (body, params, query) or answers 400 naming the first problem. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, part: "body" | "path" | "query"): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join(".") : part;
  throw badRequest(`${where}: ${issue?.message ?? "invalid"}`);
}

const UUID_MESSAGE = "must be a UUID";
export const uuid = () =>
  z
    .string()
    .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, UUID_MESSAGE)
    .transform((s) => s.toLowerCase());

/** A JSON object body; a missing or non-JSON body (wrong content type) reads as "must be an object". */
export const jsonObject = <S extends z.ZodRawShape>(shape: S) =>
  z.object(shape, {
    error: (issue) => (issue.input === undefined ? "a JSON object is required (Content-Type: application/json)" : "must be a JSON object"),
  });

/** A number as JSON spells it (optionally signed): what a client generated from a `type: number` parameter sends. */
const JSON_NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * An integral query parameter the contract types as `number`: generated clients send 10, 10.0 or
 * 1e1, all accepted; fractional, non-numeric and empty values and those outside [min, max] are
 * refused with a message naming the rule.
 */
export const queryInteger = (fallback: number, min: number, max: number) =>
  z
    .string({ error: "must be given once, as a number" })
    .regex(JSON_NUMBER, "must be a number")
    .refine((value) => Number.isInteger(Number(value)), "must be a whole number")
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
    .default(fallback);
