import { loadConfig, pgServiceEnv, type PgServiceConfig } from "@fanfare/runtime";

export const postsEnv = pgServiceEnv({ database: "posts", grpcPort: 15052 });

export function loadPostsConfig(source: NodeJS.ProcessEnv = process.env): PgServiceConfig {
  return loadConfig(postsEnv, source);
}
