import { runMain } from "@fanfare/runtime";
import { createLogger } from "@fanfare/runtime/observability";
import { startGateway } from "./app.js";
import { loadGatewayConfig } from "./config.js";

runMain(
  "gateway",
  () => startGateway(loadGatewayConfig()),
  () => createLogger("gateway"),
);
