// @fanfare/runtime/observability: the pino logger with its request context, Prometheus metrics.
export * from "./logger.js";
export * from "./metrics.js";
