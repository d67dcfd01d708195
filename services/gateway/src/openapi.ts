import { readFileSync } from "node:fs";
import { FEED_MAX_LIMIT, FEED_MAX_OFFSET } from "./routes/api.js";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SPEC_PATH = new URL("../../openapi/otus-openapi-1.2.0.json", import.meta.url);

/**
 * The course's OpenAPI 1.2.0 contract, extended with what Fanfare adds: the `celebrity` flag,
 * the original system's route forms, the feed's maximum page, operational endpoints and the
 * error codes the gateway really answers with. /dialog/* is not served.
 */
export function buildOpenApiSpec(): Json {
  const spec = JSON.parse(readFileSync(SPEC_PATH, "utf8")) as Json;
  spec.info = { ...spec.info, title: "Fanfare (OTUS Highload Architect API)", version: "1.2.0-fanfare.1" };
  spec.servers = [{ url: "/" }, { url: "/api/v1" }, { url: "/api/v2" }];
  delete spec.paths["/dialog/{user_id}/send"];
  delete spec.paths["/dialog/{user_id}/list"];

  spec.components.schemas.User.properties.celebrity = {
    type: "boolean",
    description: "True when the user has at least CELEBRITY_THRESHOLD followers",
  };
  spec.paths["/friend/add/{user_id}"] = { put: { ...spec.paths["/friend/set/{user_id}"].put, description: "Alias of PUT /friend/set/{user_id}" } };

  const feedParameters = spec.paths["/post/feed"].get.parameters as Json[];
  for (const parameter of feedParameters) {
    parameter.schema.type = "integer";
    if (parameter.name === "limit") parameter.schema.maximum = FEED_MAX_LIMIT;
    if (parameter.name === "offset") parameter.schema.maximum = FEED_MAX_OFFSET;
  }

  const problem = { $ref: "#/components/responses/5xx" };
  describeIdempotencyKeys(spec);
  spec.paths["/login"].post.responses["429"] = {
    description: "Too many failed logins for this account (5 per 15 minutes by default) or from this address: wait Retry-After seconds",
    headers: { "Retry-After": { schema: { type: "integer" }, description: "Seconds until a login is allowed again" } },
    content: spec.components.responses["5xx"].content,
  };
  for (const [path, item] of Object.entries(spec.paths as Json)) {
    for (const operation of Object.values(item as Json) as Json[]) {
      if (/\{(id|user_id)\}/.test(path) || path === "/post/update" || path === "/login") operation.responses["404"] ??= problem;
      if (path.startsWith("/post/update") || path.startsWith("/post/delete")) operation.responses["403"] ??= problem;
    }
  }

  for (const [path, description] of [
    ["/healthz", "Liveness: the gateway process is up"],
    ["/readyz", "Readiness: 200 only when every downstream service reports SERVING"],
  ] as const) {
    spec.paths[path] = { get: { description, responses: { "200": { description: "ready" }, "503": problem } } };
  }
  return spec;
}

/** The writing routes a client may retry without duplicating: POST/PUT with the Idempotency-Key header. */
const IDEMPOTENT_ROUTES: [path: string, method: string][] = [
  ["/user/register", "post"],
  ["/friend/set/{user_id}", "put"],
  ["/friend/add/{user_id}", "put"],
  ["/friend/delete/{user_id}", "put"],
  ["/post/create", "post"],
  ["/post/update", "put"],
  ["/post/delete/{id}", "put"],
];

function describeIdempotencyKeys(spec: Json): void {
  spec.components.parameters ??= {};
  spec.components.parameters.IdempotencyKey = {
    name: "Idempotency-Key",
    in: "header",
    required: false,
    description:
      "Makes a retry safe: a repeat of this request with the same key (by the same user) within 24 hours answers the first result and changes nothing; the same key with a different request answers 400.",
    schema: { type: "string", minLength: 1, maxLength: 255, pattern: "^[\\x21-\\x7e]+$" },
  };
  for (const [path, method] of IDEMPOTENT_ROUTES) {
    const operation = spec.paths[path][method] as Json;
    operation.parameters = [...((operation.parameters as Json[] | undefined) ?? []), { $ref: "#/components/parameters/IdempotencyKey" }];
  }
}
