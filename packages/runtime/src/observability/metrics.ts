import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import client from "prom-client";

/** The process-wide Prometheus registry; every metric of every service in this process is in it. */
export const metricsRegistry = client.register;

let defaultsCollected = false;
export function collectDefaultMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  client.collectDefaultMetrics({ register: metricsRegistry });
}

/** Returns the metric registered under `name`, creating it once; tests run several services in one process. */
function singleton<T>(name: string, create: () => T): T {
  return (metricsRegistry.getSingleMetric(name) as T | undefined) ?? create();
}

export function counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []) {
  return singleton(name, () => new client.Counter<L>({ name, help, labelNames }));
}

export function gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []) {
  return singleton(name, () => new client.Gauge<L>({ name, help, labelNames }));
}

export function histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets?: number[]) {
  return singleton(name, () => new client.Histogram<L>({ name, help, labelNames, ...(buckets ? { buckets } : {}) }));
}

/** Latency buckets in seconds, from sub-millisecond cache hits to multi-second outages. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: metricsRegistry.contentType, body: await metricsRegistry.metrics() };
}

/** Serves GET /metrics for a gRPC service, which has no HTTP server of its own. */
export async function startMetricsServer(port: number, host = "0.0.0.0"): Promise<{ port: number; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method !== "GET" || req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    renderMetrics().then(
      ({ contentType, body }) => res.writeHead(200, { "content-type": contentType }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
