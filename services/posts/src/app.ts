import { fileURLToPath } from "node:url";
import { type PgServiceConfig, type RunningPgService, startPgService } from "@fanfare/runtime/postgres";
import { STREAMS } from "@fanfare/runtime/events";
import { PostsRepository } from "./data-access/posts-repository.js";
import { Posts } from "./domain/posts.js";
import { postsBinding } from "./entry-points/grpc-handlers.js";

const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations", import.meta.url));

/** config -> pools -> repository -> domain -> handlers -> server (see startPgService). */
export function startPosts(config: PgServiceConfig): Promise<RunningPgService> {
  return startPgService({
    name: "posts",
    config,
    migrationsDir: MIGRATIONS_DIR,
    stream: STREAMS.posts,
    bind: (database) => [postsBinding(new Posts(new PostsRepository(database)))],
  });
}
export { loadPostsConfig, postsEnv } from "./config.js";
