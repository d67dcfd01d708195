import { env, loadConfig, pgServiceEnv } from "@fanfare/runtime";
import { z } from "zod";

export const socialGraphEnv = {
  ...pgServiceEnv({ database: "social_graph", grpcPort: 50051 }),
  /** Followers at which a user becomes a celebrity, whose posts are fanned out in chunks. */
  CELEBRITY_THRESHOLD: env.positiveInt(10_000),
  /**
   * A celebrity keeps the flag until followers drop this many percent below the threshold, so a
   * count wobbling around the threshold does not flip it back and forth. 0: clears just below it.
   */
  CELEBRITY_HYSTERESIS_PERCENT: z.coerce.number().min(0).max(10).default(0),
};

export type SocialGraphConfig = z.infer<z.ZodObject<typeof socialGraphEnv>>;

export function loadSocialGraphConfig(source: NodeJS.ProcessEnv = process.env): SocialGraphConfig {
  return loadConfig(socialGraphEnv, source);
}
