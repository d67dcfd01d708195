import { createLogger, runMain } from "@fanfare/runtime";
import { startFeed } from "./app.js";
import { loadFeedConfig } from "./config.js";

runMain("feed", () => startFeed(loadFeedConfig()), () => createLogger("feed"));
