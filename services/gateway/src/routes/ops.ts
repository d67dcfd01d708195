import { Router } from "express";
import swaggerUi from "swagger-ui-express";
import { health } from "@fanfare/contracts";
import { renderMetrics } from "@fanfare/runtime/observability";
import { sendJson } from "../http/respond.js";
import type { PromiseClient } from "@fanfare/runtime/grpc";

/** A readiness probe must answer fast; a downstream slower than this counts as not ready. */
const READINESS_DEADLINE_MS = 1_000;
const SERVING = health.HealthCheckResponse_ServingStatus.SERVING;

export function opsRouter(options: { spec: object; downstreamHealth: Record<string, PromiseClient<health.HealthClient>> }): Router {
  const router = Router();

  router.get("/healthz", (_req, res) => {
    sendJson(res, { status: "ok" });
  });

  router.get("/readyz", async (_req, res) => {
    const statuses = await Promise.all(
      Object.entries(options.downstreamHealth).map(async ([name, client]) => {
        const status = await client.check({ service: "" }, { deadlineMs: READINESS_DEADLINE_MS }).then(
          (response) => (response.status === SERVING ? "SERVING" : "NOT_SERVING"),
          () => "UNAVAILABLE",
        );
        return [name, status] as const;
      }),
    );
    const downstreams = Object.fromEntries(statuses);
    if (statuses.every(([, status]) => status === "SERVING")) sendJson(res, { status: "ready", downstreams });
    else {
      res.setHeader("retry-after", "5");
      sendJson(res, { status: "not ready", downstreams }, 503);
    }
  });

  router.get("/metrics", async (_req, res) => {
    const { contentType, body } = await renderMetrics();
    res.type(contentType).send(body);
  });

  router.get("/openapi.json", (_req, res) => {
    sendJson(res, options.spec);
  });
  router.use("/docs", swaggerUi.serve, swaggerUi.setup(options.spec));

  return router;
}
