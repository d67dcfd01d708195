// Makes sure the local PostgreSQL has a streaming replica, as the original stand ran "leader + 1
// replica": a second Debian cluster named "replica" on port 5433, cloned with pg_basebackup -R over
// a physical replication slot. Idempotent and quick once it exists. Where it cannot be made (not
// root, no Debian cluster tools, a leader elsewhere) it says so and the system runs on the leader alone.
//
//   node scripts/replica.mjs        set up (or start) the replica and print its URL
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { answers } from "./infra.mjs";
import { run, say } from "./lib.mjs";

export const REPLICA_PORT = 5433;
const CLUSTER = "replica";
const SLOT = "fanfare_replica";
const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost"]);
/** A fresh clone of a small development database takes a few seconds. */
const READY_TIMEOUT_MS = 60_000;

/** The replica's server URL (no database), or undefined when the system must run on the leader alone. */
export async function ensureLocalReplica(leaderUrl = process.env.PG_PRIMARY_URL ?? "postgres://postgres@127.0.0.1:5432") {
  if (process.env.PG_REPLICA_URL) return process.env.PG_REPLICA_URL;
  if (process.env.FANFARE_NO_REPLICA) return alone("FANFARE_NO_REPLICA is set");
  const leader = new URL(leaderUrl);
  if (!LOCAL_HOSTS.has(leader.hostname)) return alone(`the leader ${leader.host} is not local; set PG_REPLICA_URL to use a replica`);
  if (process.getuid?.() !== 0) return alone("setting up the local replica needs root (Debian's pg_createcluster)");
  if (!existsSync("/usr/bin/pg_createcluster") || !existsSync("/etc/postgresql"))
    return alone("no Debian PostgreSQL cluster tools (pg_createcluster)");
  const version = readdirSync("/etc/postgresql").sort().at(-1);
  try {
    await allowReplicationConnections(version, leader);
    await ensureSlot(leader);
    if (!existsSync(`/etc/postgresql/${version}/${CLUSTER}`)) await createCluster(version);
    // pg_createcluster makes a stand-alone cluster; only a clone made with -R is a standby.
    if (!existsSync(`${dataDir(version)}/standby.signal`)) await cloneLeader(version, leader);
    const authChanged = mirrorLeaderAuth(version);
    if (!(await answers("127.0.0.1", REPLICA_PORT))) await run("pg_ctlcluster", ["--skip-systemctl-redirect", version, CLUSTER, "start"]);
    else if (authChanged) await run("pg_ctlcluster", ["--skip-systemctl-redirect", version, CLUSTER, "reload"]);
    await waitUntilStreaming(leader);
  } catch (error) {
    return alone(`the local replica could not be set up: ${error.message}`);
  }
  const replica = new URL(leader);
  replica.port = String(REPLICA_PORT);
  replica.pathname = "/";
  return replica.toString().replace(/\/$/, "");
}

function alone(reason) {
  say(`no PostgreSQL replica (${reason}): reads go to the leader`);
  return undefined;
}

/** pg_basebackup and streaming need a `replication` line in pg_hba.conf for 127.0.0.1. */
async function allowReplicationConnections(version, leader) {
  const hba = `/etc/postgresql/${version}/main/pg_hba.conf`;
  const lines = readFileSync(hba, "utf8")
    .split("\n")
    .map((line) => line.trim());
  if (lines.some((line) => /^host\s+replication\s+\S+\s+127\.0\.0\.1\/32\s/.test(line))) return;
  say(`allowing local replication connections in ${hba}`);
  appendFileSync(
    hba,
    "\n# Added by Fanfare's scripts/replica.mjs: the local streaming replica on port 5433.\nhost replication all 127.0.0.1/32 trust\n",
  );
  await psql(leader, "SELECT pg_reload_conf()");
}

/** Clients use the replica exactly as the leader: same authentication rules. True when they changed. */
function mirrorLeaderAuth(version) {
  const leaderHba = readFileSync(`/etc/postgresql/${version}/main/pg_hba.conf`, "utf8");
  const replicaHba = `/etc/postgresql/${version}/${CLUSTER}/pg_hba.conf`;
  if (readFileSync(replicaHba, "utf8") === leaderHba) return false;
  writeFileSync(replicaHba, leaderHba);
  return true;
}

async function ensureSlot(leader) {
  await psql(
    leader,
    `SELECT pg_create_physical_replication_slot('${SLOT}') WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '${SLOT}')`,
  );
}

const dataDir = (version) => `/var/lib/postgresql/${version}/${CLUSTER}`;

async function createCluster(version) {
  say(`creating the local streaming replica (cluster ${version}/${CLUSTER}, port ${REPLICA_PORT})`);
  await run("pg_createcluster", [version, CLUSTER, "-p", String(REPLICA_PORT)], { quiet: true });
}

/** Replaces the new cluster's own data with a copy of the leader's, set up to follow it (-R). */
async function cloneLeader(version, leader) {
  say("cloning the leader into the replica (pg_basebackup)");
  if (await answers("127.0.0.1", REPLICA_PORT))
    await run("pg_ctlcluster", ["--skip-systemctl-redirect", version, CLUSTER, "stop", "-m", "fast"]);
  rmSync(dataDir(version), { recursive: true, force: true });
  await run("install", ["-d", "-o", "postgres", "-g", "postgres", "-m", "700", dataDir(version)]);
  await run("runuser", [
    "-u",
    "postgres",
    "--",
    "pg_basebackup",
    "-h",
    leader.hostname,
    "-p",
    leader.port || "5432",
    "-U",
    leader.username || "postgres",
    "-D",
    dataDir(version),
    "-R",
    "-S",
    SLOT,
    "-X",
    "stream",
    "-c",
    "fast",
  ]);
}

async function waitUntilStreaming(leader) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const state = await psqlOutput(
      leader,
      "SELECT state FROM pg_stat_replication WHERE application_name IN ('replica', '15/replica', 'walreceiver') OR state = 'streaming' LIMIT 1",
    ).catch(() => "");
    if (state.trim() === "streaming") return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error("the replica does not stream from the leader");
}

function psql(leader, sql) {
  return run(
    "psql",
    ["-h", leader.hostname, "-p", leader.port || "5432", "-U", leader.username || "postgres", "-d", "postgres", "-Atqc", sql],
    { quiet: true },
  );
}

async function psqlOutput(leader, sql) {
  const { execFile } = await import("node:child_process");
  return new Promise((resolve, reject) =>
    execFile(
      "psql",
      ["-h", leader.hostname, "-p", leader.port || "5432", "-U", leader.username || "postgres", "-d", "postgres", "-Atqc", sql],
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    ),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const url = await ensureLocalReplica();
  if (url) say(`replica: ${url}`);
}
