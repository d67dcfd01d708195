import { commonEnv, env, loadConfig } from "@fanfare/runtime";
import { z } from "zod";

export const feedEnv = {
  ...commonEnv,
  GRPC_HOST: z.string().default("0.0.0.0"),
  GRPC_PORT: env.port(50053),
  SOCIAL_GRAPH_ADDR: env.grpcAddress().default("127.0.0.1:50051"),
  POSTS_ADDR: env.grpcAddress().default("127.0.0.1:50052"),
};

export type FeedConfig = z.infer<z.ZodObject<typeof feedEnv>>;

export function loadFeedConfig(source: NodeJS.ProcessEnv = process.env): FeedConfig {
  return loadConfig(feedEnv, source);
}
