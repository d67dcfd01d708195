import { Router } from "express";
import swaggerUi from "swagger-ui-express";
import { health } from "@fanfare/contracts";
import { renderMetrics } from "@fanfare/runtime/observability";
import type { PromiseClient } from "@fanfare/runtime/grpc";

/** A readiness probe must answer fast; a downstream slower than this counts as not ready. */
const READINESS_DEADLINE_MS = 1_000;
const SERVING = health.HealthCheckResponse_ServingStatus.SERVING;

export function opsRouter(options: { spec: object; downstreamHealth: Record<string, PromiseClient<health.HealthClient>> }): Router {
  const router = Router();

  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
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
    if (statuses.every(([, status]) => status === "SERVING")) res.json({ status: "ready", downstreams });
    else res.status(503).set("retry-after", "5").json({ status: "not ready", downstreams });
  });

  router.get("/metrics", async (_req, res) => {
    const { contentType, body } = await renderMetrics();
    res.type(contentType).send(body);
  });

  router.get("/openapi.json", (_req, res) => {
    res.json(options.spec);
  });
  router.use("/docs", swaggerUi.serve, swaggerUi.setup(options.spec));

  return router;
}
