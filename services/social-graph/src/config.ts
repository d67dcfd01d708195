import { commonEnv, env, loadConfig } from "@fanfare/runtime";
import { z } from "zod";

export const socialGraphEnv = {
  ...commonEnv,
  PG_PRIMARY_URL: env.postgresUrl().default("postgres://postgres@127.0.0.1:5432/social_graph"),
  /** Reads go here once the replica issue lands; unset means the leader serves reads too. */
  PG_REPLICA_URL: env.postgresUrl().optional(),
  NATS_URL: z.string().default("nats://127.0.0.1:4222"),
  GRPC_HOST: z.string().default("0.0.0.0"),
  GRPC_PORT: env.port(50051),
  PG_POOL_SIZE: env.positiveInt(10),
};

export type SocialGraphConfig = ReturnType<typeof loadSocialGraphConfig>;

export function loadSocialGraphConfig(source: NodeJS.ProcessEnv = process.env) {
  return loadConfig(socialGraphEnv, source);
}
