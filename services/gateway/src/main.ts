import { createLogger, runMain } from "@fanfare/runtime";
import { startGateway } from "./app.js";
import { loadGatewayConfig } from "./config.js";

runMain("gateway", () => startGateway(loadGatewayConfig()), () => createLogger("gateway"));
