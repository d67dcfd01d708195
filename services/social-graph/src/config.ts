import { env, loadConfig } from "@fanfare/runtime";
import { pgServiceEnv } from "@fanfare/runtime/postgres";
import { z } from "zod";

export const socialGraphEnv = {
  ...pgServiceEnv({ database: "social_graph", grpcPort: 15051 }),
  /** Followers at which a user becomes a celebrity, whose posts are fanned out in chunks. */
  CELEBRITY_THRESHOLD: env.positiveInt(10_000),
  /**
   * A celebrity keeps the flag until followers drop this many percent below the threshold, so a
   * count wobbling around the threshold does not flip it back and forth. 0: clears just below it.
   */
  CELEBRITY_HYSTERESIS_PERCENT: z.coerce.number().min(0).max(10).default(0),
  /** Failed logins per account in a window before it must wait for the window's end (brute force gets 5 guesses per 15 min). */
  LOGIN_MAX_FAILURES_PER_ACCOUNT: env.positiveInt(5),
  /** Failed logins per client address in a window (across accounts: guessing many accounts from one place). */
  LOGIN_MAX_FAILURES_PER_ADDRESS: env.positiveInt(100),
  /** The window failed logins are counted in, in seconds. */
  LOGIN_FAILURE_WINDOW_SECONDS: env.positiveInt(900),
  /** Password hashes (scrypt, ~80 ms of a core each) computed at once; 1 leaves the other core of two to everything else. */
  PASSWORD_HASH_CONCURRENCY: env.positiveInt(1),
  /** Password hashes that may wait for a turn; more are refused with RESOURCE_EXHAUSTED (429, Retry-After: 1). */
  PASSWORD_HASH_QUEUE: env.positiveInt(64),
};

export type SocialGraphConfig = z.infer<z.ZodObject<typeof socialGraphEnv>>;

export function loadSocialGraphConfig(source: NodeJS.ProcessEnv = process.env): SocialGraphConfig {
  return loadConfig(socialGraphEnv, source);
}
