import { createLogger, runMain } from "@fanfare/runtime";
import { startSocialGraph } from "./app.js";
import { loadSocialGraphConfig } from "./config.js";

runMain("social-graph", () => startSocialGraph(loadSocialGraphConfig()), () => createLogger("social-graph"));
