import { loadConfig } from "@fanfare/runtime";
import { type PgServiceConfig, pgServiceEnv } from "@fanfare/runtime/postgres";

export const postsEnv = pgServiceEnv({ database: "posts", grpcPort: 15052 });

export function loadPostsConfig(source: NodeJS.ProcessEnv = process.env): PgServiceConfig {
  return loadConfig(postsEnv, source);
}
