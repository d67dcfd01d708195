import autocannon from "autocannon";
import { percentile } from "./stats.js";

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  /** Latencies in ms (load generated here, not by autocannon), for distribution charts. */
  samples?: number[];
}

/** HTTP load with autocannon: requests/s and latency percentiles in ms. */
export async function httpLoad(options: {
  url: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
  method?: "GET" | "POST";
  body?: string;
  /**
   * Fire the requests from a worker thread, for a scenario whose own clients measure latency in
   * this thread: on the same event loop as the load they waited behind it (see livePushLatency).
   */
  offThread?: boolean;
}): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    headers: options.headers,
    method: options.method ?? "GET",
    body: options.body,
    ...(options.offThread ? { workers: 1 } : {}),
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${options.url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

/** Closed-loop load on any async call (gRPC, SQL): `connections` callers back to back for `seconds`. */
export async function callLoad(call: () => Promise<unknown>, connections: number, seconds: number): Promise<LoadResult> {
  const samples: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const caller = async () => {
    while (performance.now() < deadline) {
      const started = performance.now();
      await call();
      samples.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: connections }, caller));
  return { rps: samples.length / seconds, p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), samples };
}
