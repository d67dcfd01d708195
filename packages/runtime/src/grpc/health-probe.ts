// Container health check for a gRPC service: `node health-probe.js [host:port]` exits 0 when the
// standard health service answers SERVING, 1 otherwise. Images have no grpc_health_probe binary.
import { health } from "@fanfare/contracts";
import { createGrpcClient } from "./client.js";

/** A probe that cannot tell within this is a failed probe. */
const PROBE_DEADLINE_MS = 2_000;
const SERVING = health.HealthCheckResponse_ServingStatus.SERVING;

const address = process.argv[2] ?? `127.0.0.1:${process.env.GRPC_PORT ?? "15051"}`;
const client = createGrpcClient(health.HealthClient, address);
client.check({ service: "" }, { deadlineMs: PROBE_DEADLINE_MS }).then(
  (response) => process.exit(response.status === SERVING ? 0 : 1),
  () => process.exit(1),
);
