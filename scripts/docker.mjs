// The container engine and Compose command the stand scripts use: whatever answers on this
// machine, or (as root, with apt) a Docker engine of our own, started here and stopped by whoever
// started it. Plain Node, no dependencies.
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { promisify } from "node:util";
import { say } from "./lib.mjs";

const exec = promisify(execFile);

/** Our own engine's socket and roots, apart from any system Docker. */
const OWN_SOCKET = "/run/fanfare-docker.sock";
const OWN_DATA_ROOT = "/var/lib/fanfare-docker";
const OWN_EXEC_ROOT = "/run/fanfare-docker";
const ENGINE_START_TIMEOUT_MS = 30_000;
/** dockerd stops its containers first; past this it is killed. */
const ENGINE_STOP_TIMEOUT_MS = 30_000;

async function answers(command, args, env = process.env) {
  try {
    await exec(command, args, { env, timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/** `docker compose` (v2) when the plugin exists, else Debian's `docker-compose` (v1); undefined when neither does. */
export async function composeCommand(env = process.env) {
  if (await answers("docker", ["compose", "version"], env)) return ["docker", "compose"];
  if (await answers("docker-compose", ["version"], env)) return ["docker-compose"];
  return undefined;
}

/**
 * An engine to talk to: { env (DOCKER_HOST set when it is ours), compose, stop() }, or
 * { skipped: reason } when none can be had here.
 */
export async function dockerEngine() {
  if (await answers("docker", ["info"])) return withCompose(process.env, async () => undefined);
  const ownEnv = { ...process.env, DOCKER_HOST: `unix://${OWN_SOCKET}` };
  if (await answers("docker", ["info"], ownEnv)) return withCompose(ownEnv, async () => undefined);
  if (process.getuid?.() !== 0) return { skipped: "no Docker engine answers and starting one needs root" };
  if (!(await installPackages(["docker.io", "docker-compose", "debootstrap"])))
    return { skipped: "no Docker engine, and apt-get could not install docker.io" };
  const stop = await startOwnEngine(ownEnv);
  if (!stop) return { skipped: `dockerd did not start (see ${OWN_DATA_ROOT}.log)` };
  return withCompose(ownEnv, stop);
}

async function withCompose(env, stop) {
  const compose = await composeCommand(env);
  if (!compose) {
    await stop();
    return { skipped: "neither `docker compose` nor `docker-compose` is installed" };
  }
  return { env, compose, stop };
}

/** apt-get install of whatever is missing; false when apt is not there or fails. */
export async function installPackages(packages) {
  const missing = [];
  for (const name of packages) if (!(await answers("dpkg", ["-s", name]))) missing.push(name);
  if (missing.length === 0) return true;
  if (!existsSync("/usr/bin/apt-get")) return false;
  say(`installing ${missing.join(", ")} with apt-get`);
  return answers("apt-get", ["install", "-y", "-q", ...missing], { ...process.env, DEBIAN_FRONTEND: "noninteractive" });
}

/**
 * dockerd with its own roots and socket. No iptables and no default bridge: this kind of machine
 * allows neither; containers use user-defined networks, and builds the host's network.
 */
async function startOwnEngine(env) {
  await clearPidFile();
  mkdirSync(OWN_DATA_ROOT, { recursive: true });
  mkdirSync(OWN_EXEC_ROOT, { recursive: true });
  say("starting a Docker engine of our own");
  const log = openSync(`${OWN_DATA_ROOT}.log`, "a");
  const daemon = spawn(
    "dockerd",
    [
      "--iptables=false",
      "--ip6tables=false",
      "--bridge=none",
      `--data-root=${OWN_DATA_ROOT}`,
      `--exec-root=${OWN_EXEC_ROOT}`,
      `--host=unix://${OWN_SOCKET}`,
      `--pidfile=${OWN_EXEC_ROOT}.pid`,
    ],
    { stdio: ["ignore", log, log], detached: true },
  );
  daemon.unref();
  const deadline = Date.now() + ENGINE_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await answers("docker", ["info"], env)) {
      return async () => {
        say("stopping the Docker engine this run started");
        // Held again while it stops: an unreferenced child would let this process end mid-await.
        daemon.ref();
        const exited = new Promise((resolve) =>
          daemon.exitCode !== null || daemon.signalCode !== null ? resolve() : daemon.once("exit", resolve),
        );
        daemon.kill("SIGTERM");
        const forced = setTimeout(() => daemon.kill("SIGKILL"), ENGINE_STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(forced);
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  daemon.kill("SIGKILL");
  return undefined;
}

/** A previous engine of ours may still be shutting down (wait for it) or have died leaving its pid file (remove it). */
async function clearPidFile() {
  const pidFile = `${OWN_EXEC_ROOT}.pid`;
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let waited = 0; pid > 0 && alive() && waited < ENGINE_START_TIMEOUT_MS; waited += 500)
    await new Promise((resolve) => setTimeout(resolve, 500));
  if (!(pid > 0 && alive())) rmSync(pidFile, { force: true });
}
