import { z } from "zod";

/** Raised when the environment does not describe a runnable service; the message lists every problem. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Environment variables every service reads; each service extends this with its own. */
export const commonEnv = {
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Port of the Prometheus /metrics endpoint of a gRPC service; 0 picks a free port. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  /** How long SIGTERM waits for in-flight calls before cutting them. */
  SHUTDOWN_DEADLINE_MS: z.coerce.number().int().positive().default(10_000),
};

export const env = {
  postgresUrl: () =>
    z
      .string()
      .url()
      .refine((u) => /^postgres(ql)?:\/\//.test(u), "must be a postgres:// URL"),
  grpcAddress: () => z.string().regex(/^[^\s:]+:\d{1,5}$/, "must be host:port"),
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  positiveInt: (fallback: number) => z.coerce.number().int().positive().default(fallback),
};

/**
 * Reads and validates configuration from the environment. Empty strings count as unset, so
 * `FOO= npm start` falls back to the default instead of failing on "".
 */
export function loadConfig<S extends z.ZodRawShape>(shape: S, source: NodeJS.ProcessEnv = process.env): z.infer<z.ZodObject<S>> {
  const present = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = z.object(shape).safeParse(present);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  throw new ConfigError(`invalid configuration:\n  ${problems.join("\n  ")}`);
}
