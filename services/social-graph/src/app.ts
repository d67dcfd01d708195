import { fileURLToPath } from "node:url";
import { startPgService, STREAMS, type RunningPgService } from "@fanfare/runtime";
import type { SocialGraphConfig } from "./config.js";
import { FriendshipsRepository } from "./data-access/friendships-repository.js";
import { UsersRepository } from "./data-access/users-repository.js";
import { SocialGraph } from "./domain/social-graph.js";
import { socialGraphBinding } from "./entry-points/grpc-handlers.js";

const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations", import.meta.url));

/** config -> pools -> repositories -> domain -> handlers -> server (see startPgService). */
export function startSocialGraph(config: SocialGraphConfig): Promise<RunningPgService> {
  const celebrityRule = { threshold: config.CELEBRITY_THRESHOLD, hysteresisPercent: config.CELEBRITY_HYSTERESIS_PERCENT };
  return startPgService({
    name: "social-graph",
    config,
    migrationsDir: MIGRATIONS_DIR,
    stream: STREAMS.graph,
    bind: (database) => [socialGraphBinding(new SocialGraph(new UsersRepository(database), new FriendshipsRepository(database, celebrityRule)))],
  });
}
export { loadSocialGraphConfig, socialGraphEnv } from "./config.js";
