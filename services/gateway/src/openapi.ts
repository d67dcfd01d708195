import { readFileSync } from "node:fs";
import { FEED_PAGING } from "./routes/api.js";

type Json = Record<string, any>;

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
  spec.paths["/friend/add/{user_id}"] = {
    put: { ...spec.paths["/friend/set/{user_id}"].put, description: "Alias of PUT /friend/set/{user_id}" },
  };

  const feedParameters = spec.paths["/post/feed"].get.parameters as Json[];
  // Still `number`, as the course types them (generated clients send 10.0 or 1e1): whole values only.
  for (const parameter of feedParameters) {
    parameter.schema.multipleOf = 1;
    if (parameter.name === "limit") parameter.schema.maximum = FEED_PAGING.maxLimit;
    if (parameter.name === "offset") parameter.schema.maximum = FEED_PAGING.maxOffset;
    parameter.description = `A whole number in any JSON spelling (10, 10.0, 1e1), at most ${parameter.schema.maximum}; larger values are refused with 400 naming the maximum`;
  }

  const problem = { $ref: "#/components/responses/5xx" };
  describeProblemBodies(spec);
  const problemContent = { "application/json": { schema: { $ref: "#/components/schemas/Problem" } } };
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
      // Any request may carry a body, and every one is read up to BODY_LIMIT_BYTES.
      operation.responses["413"] ??= { description: "The request body is larger than BODY_LIMIT_BYTES", content: problemContent };
    }
  }

  describeOperations(spec);
  return spec;
}

/**
 * Every error answer carries the JSON body the course's 5xx response describes ({message,
 * request_id, code}); the course's 4xx responses leave their body undescribed, so it is added to
 * each of them as components.schemas.Problem.
 */
function describeProblemBodies(spec: Json): void {
  const schema = structuredClone(spec.components.responses["5xx"].content["application/json"].schema) as Json;
  schema.required = ["message", "request_id", "code"];
  spec.components.schemas.Problem = schema;
  const content = { "application/json": { schema: { $ref: "#/components/schemas/Problem" } } };
  const responses = [
    ...Object.entries(spec.components.responses as Json),
    ...Object.values(spec.paths as Json).flatMap((item) =>
      Object.values(item as Json).flatMap((operation) => Object.entries((operation as Json).responses as Json)),
    ),
  ];
  for (const [status, response] of responses) if (/^4\d\d$/.test(status) && !response.$ref) response.content ??= content;
}

/** The gateway's own probes, as /healthz and /readyz answer them. */
function describeOperations(spec: Json): void {
  const json = (schema: Json) => ({ "application/json": { schema } });
  spec.paths["/healthz"] = {
    get: {
      description: "Liveness: the gateway process is up",
      responses: {
        "200": {
          description: "alive",
          content: json({ type: "object", required: ["status"], properties: { status: { type: "string", enum: ["ok"] } } }),
        },
      },
    },
  };
  const readiness = {
    type: "object",
    required: ["status", "downstreams"],
    properties: {
      status: { type: "string", enum: ["ready", "not ready"] },
      downstreams: { type: "object", additionalProperties: { type: "string", enum: ["SERVING", "NOT_SERVING", "UNAVAILABLE"] } },
    },
  };
  spec.paths["/readyz"] = {
    get: {
      description: "Readiness: 200 only when every downstream service reports SERVING",
      responses: {
        "200": { description: "ready", content: json(readiness) },
        "503": { description: "not ready: a downstream is not serving (retry after Retry-After seconds)", content: json(readiness) },
      },
    },
  };
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
