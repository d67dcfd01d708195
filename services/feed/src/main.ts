import { runMain } from "@fanfare/runtime";
import { createLogger } from "@fanfare/runtime/observability";
import { startFeed } from "./app.js";
import { loadFeedConfig } from "./config.js";

runMain(
  "feed",
  () => startFeed(loadFeedConfig()),
  () => createLogger("feed"),
);
