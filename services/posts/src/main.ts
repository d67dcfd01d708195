import { createLogger, runMain } from "@fanfare/runtime";
import { startPosts } from "./app.js";
import { loadPostsConfig } from "./config.js";

runMain("posts", () => startPosts(loadPostsConfig()), () => createLogger("posts"));
