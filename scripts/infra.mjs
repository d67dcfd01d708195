// Makes sure PostgreSQL, Redis and NATS JetStream answer before the mesh starts. A local service
// that is installed but stopped is started with this machine kind's own commands; one that is
// missing is installed from Debian's packages when we are root; anything else is reported plainly.
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { connect } from "node:net";
import { run, say } from "./lib.mjs";

const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);
/** A freshly started server may take this long before it accepts connections. */
const START_TIMEOUT_MS = 30_000;

const SERVICES = [
  {
    name: "PostgreSQL",
    url: process.env.PG_PRIMARY_URL ?? "postgres://postgres@127.0.0.1:5432",
    defaultPort: 5432,
    binary: "/usr/bin/pg_ctlcluster",
    aptPackages: ["postgresql"],
    start: async () => {
      const versions = existsSync("/etc/postgresql") ? readdirSync("/etc/postgresql") : [];
      if (versions.length === 0) throw new Error("no PostgreSQL cluster under /etc/postgresql");
      await run("pg_ctlcluster", ["--skip-systemctl-redirect", versions.sort().at(-1), "main", "start"]);
    },
  },
  {
    name: "Redis",
    url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    defaultPort: 6379,
    binary: "/usr/bin/redis-server",
    aptPackages: ["redis-server"],
    start: async () => {
      for (const dir of ["/var/lib/redis", "/var/log/redis"]) mkdirSync(dir, { recursive: true });
      await run("redis-server", [
        "--daemonize",
        "yes",
        "--bind",
        "127.0.0.1",
        "-::1",
        "--port",
        "6379",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        "/var/lib/redis",
        "--logfile",
        "/var/log/redis/ci.log",
      ]);
    },
  },
  {
    name: "NATS (JetStream)",
    url: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
    defaultPort: 4222,
    binary: "/usr/sbin/nats-server",
    aptPackages: ["nats-server"],
    start: async () => {
      mkdirSync("/var/lib/nats-server", { recursive: true });
      await run("start-stop-daemon", [
        "--start",
        "--oknodo",
        "--background",
        "--exec",
        "/usr/sbin/nats-server",
        "--",
        "-a",
        "127.0.0.1",
        "-p",
        "4222",
        "-js",
        "-sd",
        "/var/lib/nats-server",
        "-l",
        "/var/log/nats-server.log",
      ]);
    },
  },
];

export async function ensureInfrastructure() {
  const problems = [];
  for (const service of SERVICES) {
    const problem = await ensureService(service).catch((error) => `${service.name}: ${error.message}`);
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) {
    throw new Error(`the mesh needs services that are not available:\n  - ${problems.join("\n  - ")}`);
  }
}

async function ensureService(service) {
  const { host, port } = hostAndPort(service.url, service.defaultPort);
  if (await answers(host, port)) return undefined;
  if (!LOCAL_HOSTS.has(host)) return `${service.name} does not answer at ${host}:${port} (set by the environment; start it there)`;
  if (!existsSync(service.binary)) await install(service);
  say(`starting ${service.name} on ${host}:${port}`);
  await service.start();
  if (await waitUntilAnswers(host, port)) return undefined;
  return `${service.name} was started but does not answer at ${host}:${port} after ${START_TIMEOUT_MS / 1000}s`;
}

async function install(service) {
  if (process.getuid?.() !== 0) {
    throw new Error(`not installed; install it with: sudo apt-get install -y ${service.aptPackages.join(" ")}`);
  }
  say(`installing ${service.name} from Debian's packages (${service.aptPackages.join(", ")})`);
  await run("apt-get", ["update", "-q"]);
  await run("apt-get", ["install", "-y", "-q", ...service.aptPackages], { env: { DEBIAN_FRONTEND: "noninteractive" } });
}

function hostAndPort(url, defaultPort) {
  const parsed = new URL(url.split(",")[0]);
  return { host: parsed.hostname.replace(/^\[|\]$/g, ""), port: Number(parsed.port || defaultPort) };
}

export function answers(host, port, timeoutMs = 1_000) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

async function waitUntilAnswers(host, port) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await answers(host, port)) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}
