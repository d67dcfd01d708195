import { fileURLToPath } from "node:url";
import { type RunningPgService, startPgService } from "@fanfare/runtime/postgres";
import { STREAMS } from "@fanfare/runtime/events";
import type { SocialGraphConfig } from "./config.js";
import { FriendshipsRepository } from "./data-access/friendships-repository.js";
import { LoginFailuresRepository } from "./data-access/login-failures-repository.js";
import { UsersRepository } from "./data-access/users-repository.js";
import { PasswordHasher } from "./domain/password.js";
import { SocialGraph } from "./domain/social-graph.js";
import { socialGraphBinding } from "./entry-points/grpc-handlers.js";

const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations", import.meta.url));

/** config -> pools -> repositories -> domain -> handlers -> server (see startPgService). */
export function startSocialGraph(config: SocialGraphConfig): Promise<RunningPgService> {
  const celebrityRule = { threshold: config.CELEBRITY_THRESHOLD, hysteresisPercent: config.CELEBRITY_HYSTERESIS_PERCENT };
  const hasher = new PasswordHasher(config.PASSWORD_HASH_CONCURRENCY, config.PASSWORD_HASH_QUEUE);
  const loginLimits = { account: config.LOGIN_MAX_FAILURES_PER_ACCOUNT, address: config.LOGIN_MAX_FAILURES_PER_ADDRESS };
  return startPgService({
    name: "social-graph",
    config,
    migrationsDir: MIGRATIONS_DIR,
    stream: STREAMS.graph,
    bind: (database) => [
      socialGraphBinding(
        new SocialGraph(
          new UsersRepository(database),
          new FriendshipsRepository(database),
          new LoginFailuresRepository(database, config.LOGIN_FAILURE_WINDOW_SECONDS),
          hasher,
          loginLimits,
          celebrityRule,
        ),
      ),
    ],
  });
}
export { loadSocialGraphConfig, socialGraphEnv } from "./config.js";
