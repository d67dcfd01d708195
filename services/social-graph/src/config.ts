import { loadConfig, pgServiceEnv, type PgServiceConfig } from "@fanfare/runtime";

export const socialGraphEnv = pgServiceEnv({ database: "social_graph", grpcPort: 50051 });

export function loadSocialGraphConfig(source: NodeJS.ProcessEnv = process.env): PgServiceConfig {
  return loadConfig(socialGraphEnv, source);
}
