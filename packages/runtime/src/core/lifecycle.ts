import { ConfigError } from "./config.js";
import type { Logger } from "../observability/logger.js";

/** Something that was started and must be stopped, named for the log. */
export interface Closer {
  name: string;
  close: () => Promise<void> | void;
}

/** Closes in the order given; one failing step is logged and does not keep the others from running. */
export async function closeAll(closers: Closer[], logger: Logger): Promise<void> {
  for (const closer of closers) {
    try {
      await closer.close();
    } catch (error) {
      logger.warn({ err: error, step: closer.name }, "shutdown step failed");
    }
  }
}

/**
 * The process entry point every service's main.ts uses: starts the service, and on SIGTERM/SIGINT
 * stops it gracefully and exits. A configuration error prints one clear message and exits 2.
 */
export function runMain(name: string, start: () => Promise<{ stop: () => Promise<void> }>, logger: () => Logger): void {
  Promise.resolve()
    .then(start)
    .then(
      (service) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          logger().info({ signal }, `${name} shutting down`);
          service.stop().then(
            () => process.exit(0),
            (error: unknown) => {
              logger().error({ err: error }, "shutdown failed");
              process.exit(1);
            },
          );
        };
        process.once("SIGTERM", () => stop("SIGTERM"));
        process.once("SIGINT", () => stop("SIGINT"));
      },
      (error: unknown) => {
        if (error instanceof ConfigError) {
          process.stderr.write(`${name}: ${error.message}\n`);
          process.exit(2);
        }
        logger().fatal({ err: error }, `${name} failed to start`);
        process.exit(1);
      },
    );
}
