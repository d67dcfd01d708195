import { runMain } from "@fanfare/runtime";
import { createLogger } from "@fanfare/runtime/observability";
import { startPosts } from "./app.js";
import { loadPostsConfig } from "./config.js";

runMain(
  "posts",
  () => startPosts(loadPostsConfig()),
  () => createLogger("posts"),
);
