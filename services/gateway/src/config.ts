import { commonEnv, env, loadConfig } from "@fanfare/runtime";
import { z } from "zod";

export const gatewayEnv = {
  ...commonEnv,
  GATEWAY_HOST: z.string().default("0.0.0.0"),
  GATEWAY_PORT: env.port(8083),
  /** HMAC key for bearer tokens; at least 32 characters so it cannot be guessed offline. */
  JWT_SECRET: z.string().min(32, "must be at least 32 characters"),
  /** How long a token from /login stays valid. */
  TOKEN_TTL_SECONDS: env.positiveInt(24 * 3600),
  /** Largest JSON body accepted: a 1000-character post in 4-byte characters is about 4 KB. */
  BODY_LIMIT_BYTES: env.positiveInt(64 * 1024),
  SOCIAL_GRAPH_ADDR: env.grpcAddress().default("127.0.0.1:15051"),
  POSTS_ADDR: env.grpcAddress().default("127.0.0.1:15052"),
  FEED_ADDR: env.grpcAddress().default("127.0.0.1:15053"),
  /** Live feed pushes arrive on plain NATS subjects feed.live.<user>. */
  NATS_URL: z.string().default("nats://127.0.0.1:4222"),
};

export type GatewayConfig = z.infer<z.ZodObject<typeof gatewayEnv>>;

export function loadGatewayConfig(source: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return loadConfig(gatewayEnv, source);
}
