import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { testEnv } from "./env.js";

const FEED_MAIN = fileURLToPath(new URL("../../../services/feed/dist/src/main.js", import.meta.url));

/**
 * A feed replica as a process of its own (same consumers, same Redis as the tests' feed), so a test
 * can kill it with SIGKILL mid-work. Resolves once its gRPC server listens.
 */
export async function spawnFeedProcess(
  addresses: { socialGraph: string; posts: string },
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [FEED_MAIN], {
    // LOG_LEVEL info last: the "listening" line is how this knows the replica is up.
    env: { ...process.env, ...testEnv, SOCIAL_GRAPH_ADDR: addresses.socialGraph, POSTS_ADDR: addresses.posts, ...env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes("gRPC server listening")) {
        child.stdout.off("data", onData);
        child.stdout.resume();
        resolve();
      }
    };
    child.stdout.on("data", onData);
    child.once("exit", (code) => reject(new Error(`feed process exited with ${code} before listening:\n${seen.slice(-2000)}`)));
  });
  return child;
}

export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}
