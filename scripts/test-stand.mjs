// `npm run test:stand`: builds the images, brings the whole Compose stand up (leader, replica,
// Redis, NATS, the four services), runs the end-to-end suite against it, checks the replica, a
// SIGKILLed feed and a restarted leader, tears it all down, and ends with "N passed, N failed".
// Without a container registry it first makes local base images (debootstrap + Debian packages +
// this machine's node), tagged fanfare-local/*, never with the official names.
import { execFile, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, cpSync, rmSync, realpathSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { promisify } from "node:util";
import { dockerEngine, installPackages } from "./docker.mjs";
import { repoRoot, run, say } from "./lib.mjs";
import { prepare, runScript } from "./prepare.mjs";

const exec = promisify(execFile);
const PROJECT = "fanfare-stand";
const SERVICES = ["social-graph", "posts", "feed", "gateway"];
const OFFICIAL = {
  NODE_IMAGE: "node:22-bookworm-slim",
  POSTGRES_IMAGE: "postgres:17",
  REDIS_IMAGE: "redis:7.2",
  NATS_IMAGE: "nats:2.10-alpine",
};
const ROOTFS = "/var/cache/fanfare-stand/bookworm";
const BASE = "fanfare-local/debian:bookworm";
/** The e2e files that need only the public API (tests that look inside skip themselves). */
const E2E = ["dist/test/e2e/gateway.test.js", "dist/test/e2e/contract-clients.test.js"];
const HEALTHY_TIMEOUT_MS = 180_000;
/** The same secret the e2e suite signs its own test tokens with. */
const JWT_SECRET = "test-secret-that-is-long-enough-for-hs256!";

const results = { passed: 0, failed: 0 };
const figures = [];

runScript(async () => {
  const engine = await dockerEngine();
  if (engine.skipped) {
    say(`SKIPPED: the stand needs a container engine: ${engine.skipped}`);
    process.stdout.write("\n0 passed, 0 failed\n");
    return;
  }
  try {
    await prepare({ servicesNeeded: false });
    const images = await baseImages(engine.env);
    const env = { ...engine.env, ...images, JWT_SECRET, GATEWAY_PUBLISHED_PORT: String(await freePort()), FANFARE_TAG: "stand" };
    const compose = (...args) => run(engine.compose[0], [...engine.compose.slice(1), "-p", PROJECT, ...args], { env });
    await buildImages(env);
    try {
      await bringUp(compose, env);
      const url = `http://127.0.0.1:${env.GATEWAY_PUBLISHED_PORT}`;
      await runE2e(url);
      await checkReplica(engine, env, url);
      await checkFeedKilled(engine, env, url);
      await checkLeaderRestart(engine, env, url, compose);
    } finally {
      await compose("down", "-v", "--remove-orphans").catch((error) => say(`compose down failed: ${error.message}`));
    }
  } finally {
    await engine.stop();
    for (const line of figures) say(line);
    process.stdout.write(`\n${results.passed} passed, ${results.failed} failed\n`);
    if (results.failed > 0) process.exitCode = 1;
  }
});

async function check(name, work) {
  try {
    await work();
    results.passed++;
    say(`ok: ${name}`);
  } catch (error) {
    results.failed++;
    say(`FAILED: ${name}: ${error.message}`);
  }
}

async function docker(env, ...args) {
  return (await exec("docker", args, { env, maxBuffer: 64 * 1024 * 1024 })).stdout.trim();
}

const timed = async (work) => {
  const started = Date.now();
  await work();
  return ((Date.now() - started) / 1000).toFixed(1);
};

/** The official images when a registry answers; otherwise local stand-ins, built once and kept. */
async function baseImages(env) {
  const pulled = await Promise.all(
    Object.values(OFFICIAL).map((image) =>
      exec("docker", ["pull", "-q", image], { env, timeout: 60_000 }).then(
        () => true,
        () => false,
      ),
    ),
  );
  if (pulled.every(Boolean)) return OFFICIAL;
  say("no registry answers: using local base images (fanfare-local/*) made from Debian's packages");
  const hasImage = (image) =>
    docker(env, "image", "inspect", image).then(
      () => true,
      () => false,
    );
  if (!(await hasImage(BASE))) await importDebian(env);
  const nodeVersion = process.version.slice(1);
  const local = {
    NODE_IMAGE: `fanfare-local/node:${nodeVersion}`,
    POSTGRES_IMAGE: "fanfare-local/postgres:bookworm",
    REDIS_IMAGE: "fanfare-local/redis:bookworm",
    NATS_IMAGE: "fanfare-local/nats:bookworm",
  };
  for (const [name, image] of [
    ["postgres", local.POSTGRES_IMAGE],
    ["redis", local.REDIS_IMAGE],
    ["nats", local.NATS_IMAGE],
  ]) {
    if (!(await hasImage(image)))
      await buildLocal(env, `${repoRoot}/deploy/local-images/${name}.Dockerfile`, `${repoRoot}/deploy/local-images`, image);
  }
  if (!(await hasImage(local.NODE_IMAGE))) {
    const context = mkdtempSync(`${tmpdir()}/fanfare-node-`);
    copyFileSync(realpathSync(process.execPath), `${context}/node`);
    cpSync(npmRoot(), `${context}/npm`, { recursive: true });
    await buildLocal(env, `${repoRoot}/deploy/local-images/node.Dockerfile`, context, local.NODE_IMAGE);
    rmSync(context, { recursive: true, force: true });
  }
  return local;
}

function npmRoot() {
  for (const candidate of ["/usr/lib/node_modules/npm", "/usr/local/lib/node_modules/npm"]) if (existsSync(candidate)) return candidate;
  throw new Error("cannot find this machine's npm to put into the local node image");
}

/** A Debian bookworm root filesystem from the mirror apt already uses, imported as an image. */
async function importDebian(env) {
  if (!(await installPackages(["debootstrap"]))) throw new Error("debootstrap is needed to make a local base image");
  if (!existsSync(`${ROOTFS}/etc/debian_version`)) {
    rmSync(ROOTFS, { recursive: true, force: true });
    say(`debootstrap bookworm into ${ROOTFS}`);
    await run("debootstrap", ["--variant=minbase", "bookworm", ROOTFS, debianMirror()]);
  }
  say(`importing ${BASE}`);
  await run("sh", ["-c", `tar -C ${ROOTFS} --exclude=./var/cache/apt/archives/*.deb -c . | docker import - ${BASE}`], { env });
}

function debianMirror() {
  return process.env.DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
}

async function buildLocal(env, dockerfile, context, tag) {
  say(`building ${tag}`);
  await run("docker", ["build", "-q", "--network", "host", "--build-arg", `BASE=${BASE}`, "-f", dockerfile, "-t", tag, context], {
    env: { ...env, DOCKER_BUILDKIT: "0" },
  });
}

/** The four service images, timed; behind a TLS-intercepting proxy npm gets this machine's CA bundle. */
async function buildImages(env) {
  const bundle = process.env.NODE_EXTRA_CA_CERTS ?? "/etc/ssl/certs/ca-certificates.crt";
  if (existsSync(bundle)) copyFileSync(bundle, `${repoRoot}/deploy/ca/extra-ca.pem`);
  const buildEnv = { ...env, DOCKER_BUILDKIT: "0" };
  const total = await timed(async () => {
    for (const service of SERVICES) {
      const seconds = await timed(() =>
        run(
          "docker",
          [
            "build",
            "-q",
            "--network",
            "host",
            "--build-arg",
            `SERVICE=${service}`,
            "--build-arg",
            `NODE_IMAGE=${env.NODE_IMAGE}`,
            "-t",
            `fanfare/${service}:stand`,
            ".",
          ],
          { env: buildEnv },
        ),
      );
      const bytes = Number(await docker(env, "image", "inspect", "-f", "{{.Size}}", `fanfare/${service}:stand`));
      figures.push(`image fanfare/${service}: ${(bytes / 1e6).toFixed(0)} MB, built in ${seconds} s`);
    }
  });
  figures.push(`images built in ${total} s (on ${env.NODE_IMAGE})`);
  // Each build leaves the previous images untagged; a reused machine should not fill up with them.
  // Only old ones go: the recent untagged ones are the build stages the next build reuses as cache.
  await docker(env, "image", "prune", "-f", "--filter", "until=168h");
}

async function bringUp(compose, env) {
  await compose("down", "-v", "--remove-orphans").catch(() => undefined);
  const started = Date.now();
  await compose("up", "-d", "--no-build");
  await check("every container of the stand becomes healthy", async () => {
    const deadline = Date.now() + HEALTHY_TIMEOUT_MS;
    for (;;) {
      const states = await healthStates(env);
      if (states.length === 8 && states.every(([, state]) => state === "healthy")) break;
      if (Date.now() > deadline) throw new Error(`not healthy after ${HEALTHY_TIMEOUT_MS / 1000} s: ${JSON.stringify(states)}`);
      await sleep(1000);
    }
    figures.push(`time to a healthy stand: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
}

async function containerOf(env, service) {
  const ids = await docker(
    env,
    "ps",
    "-aq",
    "--filter",
    `label=com.docker.compose.project=${PROJECT}`,
    "--filter",
    `label=com.docker.compose.service=${service}`,
  );
  if (!ids) throw new Error(`no container for ${service}`);
  return ids.split("\n")[0];
}

async function healthStates(env) {
  const ids = (await docker(env, "ps", "-aq", "--filter", `label=com.docker.compose.project=${PROJECT}`)).split("\n").filter(Boolean);
  return Promise.all(
    ids.map(async (id) => {
      const [name, state] = (
        await docker(env, "inspect", "-f", "{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}", id)
      ).split(" ");
      return [name, state];
    }),
  );
}

/** The e2e suite against the stand's published gateway; its counts join this run's. */
async function runE2e(url) {
  const output = await new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        `${repoRoot}/node_modules/mocha/bin/mocha.js`,
        "--no-config",
        "--require",
        "dist/test/support/hooks.js",
        "--timeout",
        "60000",
        "--exit",
        ...E2E,
      ],
      {
        cwd: repoRoot,
        env: { ...process.env, FANFARE_URL: url },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let text = "";
    child.stdout.on("data", (chunk) => {
      text += chunk;
      process.stdout.write(chunk);
    });
    child.on("error", reject);
    child.on("exit", () => resolve(text));
  });
  const count = (word) => Number(new RegExp(`(\\d+) ${word}`).exec(output)?.[1] ?? 0);
  results.passed += count("passing");
  results.failed += count("failing");
  if (count("passing") === 0) results.failed++;
}

async function api(url, path, options = {}) {
  const response = await fetch(`${url}${path}`, {
    method: options.method ?? "GET",
    headers: { "content-type": "application/json", ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text && response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text,
  };
}

async function newUser(url) {
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const registered = await api(url, "/user/register", { method: "POST", body: { first_name: "Стенд", second_name: "Проверка", password } });
  if (registered.status !== 200) throw new Error(`register answered ${registered.status}`);
  const id = registered.body.user_id;
  const login = await api(url, "/login", { method: "POST", body: { id, password } });
  return { id, token: login.body.token };
}

async function eventually(work, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(500);
    }
  }
}

const psql = (env, id, database, sql) => docker(env, "exec", id, "psql", "-U", "postgres", "-d", database, "-tAc", sql);

async function checkReplica(engine, env, url) {
  const leader = await containerOf(env, "postgres");
  const replica = await containerOf(env, "postgres-replica");
  await check("the replica streams from the leader", async () => {
    if ((await psql(env, replica, "postgres", "SELECT pg_is_in_recovery()")) !== "t") throw new Error("the replica is not in recovery");
    const streaming = Number(await psql(env, leader, "postgres", "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"));
    if (streaming < 1) throw new Error("the leader has no streaming replica");
  });
  await check("the replica serves the services' reads", async () => {
    const returned = async () =>
      Number(
        await psql(
          env,
          replica,
          "postgres",
          "SELECT coalesce(sum(tup_returned + tup_fetched), 0) FROM pg_stat_database WHERE datname IN ('social_graph', 'posts')",
        ),
      );
    const before = await returned();
    const user = await newUser(url);
    await eventually(async () => {
      for (let i = 0; i < 20; i++) await api(url, `/user/get/${user.id}`);
      if ((await returned()) <= before) throw new Error("no rows read on the replica");
    });
  });
}

/** A post from a friend reaches the reader's feed: the whole write and read path works. */
async function feedWorks(url) {
  const [reader, author] = [await newUser(url), await newUser(url)];
  await api(url, `/friend/set/${author.id}`, { method: "PUT", token: reader.token });
  const created = await api(url, "/post/create", { method: "POST", token: author.token, body: { text: "стенд" } });
  if (created.status !== 200) throw new Error(`post/create answered ${created.status}`);
  await eventually(async () => {
    const feed = await api(url, "/post/feed", { token: reader.token });
    if (!Array.isArray(feed.body) || feed.body[0]?.id !== created.body) throw new Error(`feed is ${JSON.stringify(feed.body)}`);
  });
}

async function checkFeedKilled(engine, env, url) {
  await check("a SIGKILLed feed container comes back and feeds keep working", async () => {
    const feed = await containerOf(env, "feed");
    const restarts = Number(await docker(env, "inspect", "-f", "{{.RestartCount}}", feed));
    const pid = Number(await docker(env, "inspect", "-f", "{{.State.Pid}}", feed));
    const killedAt = Date.now();
    process.kill(pid, "SIGKILL");
    await eventually(async () => {
      const [count, health] = (await docker(env, "inspect", "-f", "{{.RestartCount}} {{.State.Health.Status}}", feed)).split(" ");
      if (Number(count) <= restarts || health !== "healthy") throw new Error(`feed: restarts ${count}, ${health}`);
    }, 90_000);
    figures.push(`feed healthy again ${((Date.now() - killedAt) / 1000).toFixed(1)} s after SIGKILL`);
    await feedWorks(url);
  });
}

async function checkLeaderRestart(engine, env, url, compose) {
  await check("writes answer 503 with Retry-After while the leader is down, reads go on, and writes recover", async () => {
    const author = await newUser(url);
    await compose("stop", "postgres");
    try {
      await eventually(async () => {
        const refused = await api(url, "/post/create", { method: "POST", token: author.token, body: { text: "без лидера" } });
        if (refused.status !== 503 || !/^\d+$/.test(refused.headers.get("retry-after") ?? ""))
          throw new Error(`post/create answered ${refused.status}`);
      });
      const profile = await api(url, `/user/get/${author.id}`);
      if (profile.status !== 200) throw new Error(`reads during the outage answered ${profile.status}`);
    } finally {
      await compose("start", "postgres");
    }
    const restartedAt = Date.now();
    await eventually(async () => {
      const created = await api(url, "/post/create", { method: "POST", token: author.token, body: { text: "лидер вернулся" } });
      if (created.status !== 200) throw new Error(`post/create answered ${created.status}`);
    }, 60_000);
    figures.push(`writes back ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after the leader's restart`);
    await feedWorks(url);
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject).listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
