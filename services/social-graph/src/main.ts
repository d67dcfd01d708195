import { runMain } from "@fanfare/runtime";
import { createLogger } from "@fanfare/runtime/observability";
import { startSocialGraph } from "./app.js";
import { loadSocialGraphConfig } from "./config.js";

runMain(
  "social-graph",
  () => startSocialGraph(loadSocialGraphConfig()),
  () => createLogger("social-graph"),
);
