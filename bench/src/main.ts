// npm run bench [-- --quick]: generates a data set, starts the mesh as separate processes on it, runs
// every scenario, and writes BENCHMARKS.md with figures (min/median/max over repeats), ratios
// measured in the same run, raw JSON and SVG charts under bench/results/.
import { cpus, totalmem } from "node:os";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { connect } from "nats";
import { createLogger } from "@fanfare/runtime/observability";
import { forgetFeedConsumers } from "@fanfare/runtime/testing";
import { ensureDatabase, migrate } from "@fanfare/runtime/postgres";
import { generateDataset, SIZES, BENCH_PASSWORD, type DatasetSize } from "./dataset.js";
import { startBenchMesh } from "./mesh.js";
import {
  busiestReader,
  celebrityFanOut,
  coldRebuilds,
  feedReads,
  ordinaryFanOut,
  timelineMemory,
  writes,
  type BenchContext,
  type CelebrityRun,
} from "./scenarios.js";
import { auditFeeds, livePushLatency, PUSH_STAGES, readsByFollows, type AuditSummary, type FollowsRow, type LivePushes } from "./growth.js";
import { cdfPoints, fmt, med, svgChart, writeArtifacts } from "./report.js";
import { percentile } from "./stats.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const logger = createLogger("bench", "warn");
/** The durable consumers' names of the bench's feed deployment start with this. */
const BENCH_CONSUMER_PREFIX = "bench";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      seed: { type: "string", default: "1" },
      "celebrity-followers": { type: "string" },
      only: { type: "string" },
      "reuse-data": { type: "boolean", default: false },
      "report-dir": { type: "string", default: ROOT },
      /** Also runs the celebrity scenario with the mesh on local clusters (scripts/clusters.mjs). */
      cluster: { type: "boolean", default: false },
    },
  });
  const mode = values.quick ? "quick" : "default";
  const size = { ...SIZES[mode], ...(values["celebrity-followers"] ? { celebrityFollowers: Number(values["celebrity-followers"]) } : {}) };
  const seed = Number(values.seed);
  const timing = values.quick ? { seconds: 2, repeats: 3 } : { seconds: 8, repeats: 3 };
  const pgBase = process.env.PG_PRIMARY_URL ?? "postgres://postgres@127.0.0.1:5432";
  const replicaBase = process.env.PG_REPLICA_URL;
  const url = (base: string, db: string) => Object.assign(new URL(base), { pathname: `/${db}` }).toString();
  const dbs = { socialGraph: url(pgBase, "fanfare_bench_social_graph"), posts: url(pgBase, "fanfare_bench_posts") };
  const redisUrl = "redis://127.0.0.1:6379/9";

  step(
    `dataset (${mode}): ${size.users} users, ${size.minFollows}-${size.maxFollows} follows each, ${size.posts} posts${values["reuse-data"] ? " (reused)" : ""}`,
  );
  for (const [db, dir] of [
    [dbs.socialGraph, "social-graph"],
    [dbs.posts, "posts"],
  ] as const) {
    await ensureDatabase(db, logger);
    await migrate(db, `${ROOT}services/${dir}/migrations`, logger);
  }
  const { hashPassword } = await import("@fanfare/social-graph/domain/password.js");
  // --reuse-data (tuning runs with --only): whatever the bench databases hold, as the last run left them.
  if (values["reuse-data"] && !values.only) throw new Error("--reuse-data is for --only runs; a full report needs a fresh data set");
  const built = values["reuse-data"] ? undefined : await generateDataset(dbs, size, seed, await hashPassword(BENCH_PASSWORD));
  const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
  await startFromEmpty(redisUrl, natsUrl);

  step("starting the mesh");
  const meshEnv = {
    SOCIAL_GRAPH_PG: dbs.socialGraph,
    POSTS_PG: dbs.posts,
    ...(replicaBase
      ? {
          SOCIAL_GRAPH_PG_REPLICA: url(replicaBase, "fanfare_bench_social_graph"),
          POSTS_PG_REPLICA: url(replicaBase, "fanfare_bench_posts"),
        }
      : {}),
    REDIS_URL: redisUrl,
    FEED_CONSUMER_PREFIX: BENCH_CONSUMER_PREFIX,
    FEED_SYNC_INTERVAL_MS: "0",
    JWT_SECRET: "bench-secret-bench-secret-bench-secret!",
  };
  const mesh = await startBenchMesh(meshEnv);
  const ctx: BenchContext = {
    mesh,
    redisUrl,
    redisClusterNodes: [],
    natsUrl,
    graphUrl: dbs.socialGraph,
    postsUrl: dbs.posts,
    graphReadUrl: replicaBase ? url(replicaBase, "fanfare_bench_social_graph") : dbs.socialGraph,
    postsReadUrl: replicaBase ? url(replicaBase, "fanfare_bench_posts") : dbs.posts,
    ...timing,
    password: BENCH_PASSWORD,
  };
  try {
    const reader = await busiestReader(ctx);
    if (values.only) {
      // One scenario, for profiling or tuning: figures on stdout, BENCHMARKS.md left alone.
      const scenario = SCENARIOS[values.only as keyof typeof SCENARIOS];
      if (!scenario) throw new Error(`--only takes one of: ${Object.keys(SCENARIOS).join(", ")}`);
      step(values.only);
      process.stdout.write(`${JSON.stringify(await scenario(ctx, reader, size, values.quick), null, 2)}\n`);
      if (values.cluster && values.only === "celebrity")
        process.stdout.write(`${JSON.stringify(await celebrityOnClusters(ctx, meshEnv, reader, size), null, 2)}\n`);
      return;
    }
    step("feed reads (gateway, gRPC, floor, pull rival)");
    const reads = await SCENARIOS.reads(ctx, reader);
    step("memory per timeline entry");
    const memory = await SCENARIOS.memory(ctx);
    step("writes");
    const writeResults = await SCENARIOS.writes(ctx, reader);
    step("cold rebuilds");
    const rebuilds = await SCENARIOS.rebuilds(ctx, reader, size, values.quick);
    step("ordinary fan-out");
    const ordinary = await SCENARIOS.ordinary(ctx, reader, size, values.quick);
    step(`celebrity fan-out to ${size.celebrityFollowers} followers`);
    const celebrity = await SCENARIOS.celebrity(ctx, reader, size);
    step("how cost grows: feed reads by people followed (push and pull)");
    const byFollows = await SCENARIOS.follows(ctx, reader, size, values.quick);
    step("how cost grows: celebrity delivery by followers");
    const celebrityGrowth = await SCENARIOS.growth(ctx, reader, size);
    step("live push latency under read load");
    const live = await SCENARIOS.live(ctx, reader);
    const clusterCelebrity = values.cluster ? await celebrityOnClusters(ctx, meshEnv, reader, size) : undefined;
    step("truth audit of the timelines this run left");
    const audit = await auditFeeds(ctx);
    const report = {
      mode,
      size,
      seed,
      built,
      machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) },
      replica: Boolean(replicaBase),
      reads,
      memory,
      writes: writeResults,
      rebuilds,
      ordinary,
      celebrity,
      byFollows,
      celebrityGrowth,
      live,
      clusterCelebrity,
      audit,
    };
    writeReport(report, values["report-dir"]);
  } finally {
    await mesh.stop();
  }
}

/** Every scenario, by the name `--only` takes. */
const SCENARIOS = {
  reads: (ctx: BenchContext, reader: string) => feedReads(ctx, reader, [16, 64]),
  memory: (ctx: BenchContext) => timelineMemory(ctx.redisUrl),
  writes: (ctx: BenchContext, reader: string) => writes(ctx, reader),
  rebuilds: (ctx: BenchContext, reader: string, _size: DatasetSize, quick = false) => coldRebuilds(ctx, reader, quick ? 20 : 50),
  ordinary: (ctx: BenchContext, _reader: string, _size: DatasetSize, quick = false) => ordinaryFanOut(ctx, 200, quick ? 10 : 30),
  celebrity: (ctx: BenchContext, reader: string, size: DatasetSize) => celebrityFanOut(ctx, size.celebrityFollowers, reader),
  follows: (ctx: BenchContext, _reader: string, _size: DatasetSize, quick = false) =>
    readsByFollows(ctx, quick ? [10, 100, 1000] : [10, 100, 1000, 5000]),
  /** One post each to smaller audiences than the main celebrity scenario's (which gives the largest row). */
  growth: async (ctx: BenchContext, reader: string, size: DatasetSize) => {
    const runs = [];
    for (const fans of [size.celebrityFollowers / 100, size.celebrityFollowers / 10])
      runs.push(await celebrityFanOut({ ...ctx, repeats: 1 }, fans, reader));
    return runs;
  },
  live: (ctx: BenchContext, reader: string) => livePushLatency(ctx, reader),
  audit: (ctx: BenchContext) => auditFeeds(ctx),
};

/**
 * The celebrity scenario again, with a second mesh on a local Redis Cluster (3 masters + 3 replicas)
 * and JetStream cluster, on the same databases and the same number of fans: single node and
 * cluster inserts/s from one run.
 */
async function celebrityOnClusters(ctx: BenchContext, meshEnv: Record<string, string>, reader: string, size: DatasetSize) {
  const clusters = (await import(new URL("scripts/clusters.mjs", `file://${ROOT}`).href)) as {
    startClusters(): Promise<Record<string, string>>;
    stopClusters(): Promise<void>;
  };
  step(`celebrity fan-out to ${size.celebrityFollowers} followers on the local clusters`);
  const env = await clusters.startClusters();
  try {
    const mesh = await startBenchMesh({ ...meshEnv, ...env, FEED_CONSUMER_PREFIX: "bench-cluster" });
    try {
      // One post: the cluster run repeats the whole set-up of the fans, the longest part of the scenario.
      const clusterCtx: BenchContext = {
        ...ctx,
        repeats: 1,
        mesh,
        redisClusterNodes: env.REDIS_CLUSTER_NODES!.split(","),
        natsUrl: env.NATS_URL!,
      };
      return await celebrityFanOut(clusterCtx, size.celebrityFollowers, reader);
    } finally {
      await mesh.stop();
    }
  } finally {
    await clusters.stopClusters();
  }
}

function step(message: string): void {
  process.stdout.write(`[bench] ${message}\n`);
}

type Report = Record<string, any>;

type CelebrityScale = { fans: number; memoryPerFan: number; runs: CelebrityRun[] };

/** How cost grows: reads by people followed, celebrity delivery by audience, live pushes, and the audit. */
function growthSections(r: Report): string {
  const follows = r.byFollows as FollowsRow[];
  const celebrities = [...(r.celebrityGrowth as CelebrityScale[]), r.celebrity as CelebrityScale];
  const live = r.live as LivePushes;
  const audit = r.audit as AuditSummary;
  return `## How cost grows

### Feed reads by people followed (64 connections; push = gateway \`GET /post/feed?limit=10\`, pull = the SQL rival)

| follows | push req/s | push p99 ms | pull req/s | pull p99 ms | push / pull |
|---|---|---|---|---|---|
${follows.map((x) => `| ${x.follows} | ${x.push.rps.toFixed(0)} | ${x.push.p99.toFixed(1)} | ${x.pull.rps.toFixed(0)} | ${x.pull.p99.toFixed(1)} | **${(x.push.rps / x.pull.rps).toFixed(1)}x** |`).join("\n")}

![reads by follows](bench/results/reads-by-follows.svg)

### Celebrity delivery and Redis memory by audience

| followers | delivery s | timeline inserts/s | Redis CPU µs per insert | Redis bytes per cached fan (empty timeline + 1-friend set) |
|---|---|---|---|---|
${celebrities.map((x) => `| ${x.fans} | ${med(x.runs.map((run) => run.durationMs / 1000)).toFixed(2)} | ${med(x.runs.map((run) => run.insertsPerSecond)).toFixed(0)} | ${med(x.runs.map((run) => run.redis.usPerInsert)).toFixed(2)} | ${x.memoryPerFan.toFixed(0)} |`).join("\n")}

![celebrity delivery by followers](bench/results/celebrity-growth.svg)

### Live pushes (post created -> WebSocket, ${live.sockets} followers connected, the gateway serving feed reads at 16 connections meanwhile)

${live.pushes} of ${live.expected} pushes arrived; p50 **${live.p50.toFixed(1)} ms**, p99 **${live.p99.toFixed(1)} ms**, max ${live.max.toFixed(1)} ms; reads meanwhile ${live.readLoad.rps.toFixed(0)} req/s, p99 ${live.readLoad.p99.toFixed(1)} ms

Where the time goes (ms from the POST's start to each step, at one follower; p50 / p99 over the posts):

| POST answered | \`posts.created\` on NATS (outbox relay) | \`feed.live.<follower>\` on NATS (feed delivered) | on the socket |
|---|---|---|---|
| ${PUSH_STAGES.map((stage) => `${live.stages[stage].p50.toFixed(1)} / ${live.stages[stage].p99.toFixed(1)}`).join(" | ")} |

## Truth audit after the run

${audit.audited} cached timelines compared with the databases (every user the data set and the scenarios made, and ${audit.fansSampled} sampled celebrity fans) in ${audit.seconds.toFixed(1)} s: **${audit.differing} differ** (${Object.entries(
    audit.byKind,
  )
    .map(([kind, n]) => `${kind} ${n}`)
    .join(", ")})`;
}

/** The issue's targets P1-P6, each as measured in this run, and met or not. */
function targetsTable(r: Report): string {
  const rps = (list: { rps: number }[]) => med(list.map((x) => x.rps));
  const p99 = (list: { p99: number }[]) => med(list.map((x) => x.p99));
  const reads = r.reads["64"];
  const runs = r.celebrity.runs as CelebrityRun[];
  const delivery = med(runs.map((x) => x.durationMs / 1000));
  const zaddShare = med(runs.map((x) => (100 * x.insertsPerSecond) / x.zaddRate));
  const p99Ratio = med(runs.map((x) => x.during.p99 / x.idle.p99));
  const thousand = (r.byFollows as FollowsRow[]).find((x) => x.follows === 1000);
  const rows: [string, string, string, boolean][] = [
    [
      "P1",
      "gateway req/s / floor req/s, 64 connections (>= 0.5x)",
      `${(rps(reads.gateway) / rps(reads.floor)).toFixed(2)}x`,
      rps(reads.gateway) / rps(reads.floor) >= 0.5,
    ],
    [
      "P1b",
      "gateway p99 / floor p99, 64 connections (<= 2x)",
      `${(p99(reads.gateway) / p99(reads.floor)).toFixed(2)}x`,
      p99(reads.gateway) / p99(reads.floor) <= 2,
    ],
    [
      "P2",
      "push / pull req/s, reader following 1000 (>= 20x)",
      thousand ? `${(thousand.push.rps / thousand.pull.rps).toFixed(1)}x` : "not measured",
      thousand ? thousand.push.rps / thousand.pull.rps >= 20 : false,
    ],
    [
      "P3",
      `celebrity fully delivered (<= 5 s at 1M, >= 50% of same-run ZADD)`,
      `${delivery.toFixed(2)} s at ${r.celebrity.fans}, ${zaddShare.toFixed(1)}% (Redis CPU per insert allows at most ${med(
        runs.map((x) => (100 * x.redis.usPerZadd) / x.redis.usPerInsert),
      ).toFixed(0)}%)`,
      r.celebrity.fans >= 1_000_000 && delivery <= 5 && zaddShare >= 50,
    ],
    ["P4", "feed p99 during that fan-out / idle (<= 1.5x)", `${p99Ratio.toFixed(2)}x`, p99Ratio <= 1.5],
    [
      "P5",
      "post -> WebSocket push p99 with the read load running (<= 50 ms)",
      `${(r.live as LivePushes).p99.toFixed(1)} ms`,
      (r.live as LivePushes).p99 <= 50,
    ],
    [
      "P6",
      "cold rebuild p99, up to 200 friends (<= 30 ms)",
      `${percentile(r.rebuilds, 0.99).toFixed(1)} ms`,
      percentile(r.rebuilds, 0.99) <= 30,
    ],
    [
      "audit",
      "cached timelines differing from the databases after the run (0)",
      String((r.audit as AuditSummary).differing),
      (r.audit as AuditSummary).differing === 0,
    ],
  ];
  return [
    "| # | target | measured | met |",
    "|---|---|---|---|",
    ...rows.map(([id, what, measured, met]) => `| ${id} | ${what} | ${measured} | ${met ? "yes" : "no"} |`),
  ].join("\n");
}

/** Single node next to the local Redis Cluster, when the run had --cluster. */
function clusterSection(r: Report): string {
  if (!r.clusterCelebrity) return "";
  const single = r.celebrity.runs as CelebrityRun[];
  const cluster = r.clusterCelebrity.runs as CelebrityRun[];
  const line = (name: string, runs: CelebrityRun[]) =>
    `| ${name} | ${fmt(
      runs.map((x) => x.durationMs / 1000),
      2,
    )} | ${fmt(
      runs.map((x) => x.insertsPerSecond),
      0,
    )} | ${fmt(
      runs.map((x) => x.zaddRate),
      0,
    )} | ${fmt(
      runs.map((x) => (100 * x.insertsPerSecond) / x.zaddRate),
      1,
    )}% | ${fmt(
      runs.map((x) => x.during.p99 / x.idle.p99),
      2,
    )}x |`;
  return `
### Single Redis vs Redis Cluster (\`npm run bench -- --cluster\`; ${r.clusterCelebrity.fans} followers, same run, same machine; ${single.length} posts on one server, ${cluster.length} on the cluster)

| Redis | delivery s | timeline inserts/s | redis-benchmark ZADD/s (-P 16) | share of ZADD | feed p99 during / idle |
|---|---|---|---|---|---|
${line("one server", single)}
${line("cluster: 3 masters + 3 replicas (local, one machine), JetStream cluster of 3", cluster)}

On one machine a cluster adds processes, not cores: its value here is that the same code runs on it
(per-slot scripts, one pipeline per master); the capacity model (docs/capacity.md) scales it across machines.
`;
}

/** Writes <dir>/BENCHMARKS.md and <dir>/bench/results/ (the repository root unless --report-dir says otherwise). */
function writeReport(r: Report, dir: string): void {
  const rps = (list: { rps: number }[]) => list.map((x) => x.rps);
  const p50 = (list: { p50: number }[]) => list.map((x) => x.p50);
  const p99 = (list: { p99: number }[]) => list.map((x) => x.p99);
  const row = (name: string, list: { rps: number; p50: number; p99: number }[]) =>
    `| ${name} | ${fmt(rps(list), 0)} | ${fmt(p50(list))} | ${fmt(p99(list))} |`;
  const sections: string[] = [];
  for (const [c, byKind] of Object.entries(
    r.reads as Record<string, Record<string, { rps: number; p50: number; p99: number; samples?: number[] }[]>>,
  )) {
    const ratioFloor = med(rps(byKind.gateway!)) / med(rps(byKind.floor!));
    const ratioPull = med(rps(byKind.gateway!)) / med(rps(byKind.pull!));
    sections.push(`### ${c} connections

| path | req/s | p50 ms | p99 ms |
|---|---|---|---|
${row("gateway `GET /post/feed?limit=10`", byKind.gateway!)}
${row("feed gRPC `GetFeed` (direct)", byKind.grpc!)}
${row("floor: bare Node + ioredis", byKind.floor!)}
${row("pull rival: SQL fan-out on read (replica)", byKind.pull!)}

gateway / floor = **${ratioFloor.toFixed(2)}x**, gateway / pull = **${ratioPull.toFixed(2)}x** (medians of req/s)`);
  }
  const grpcSamples = (r.reads["64"].grpc as { samples: number[] }[]).flatMap((x) => x.samples);
  const pullSamples = (r.reads["64"].pull as { samples: number[] }[]).flatMap((x) => x.samples);
  const c = r.celebrity;
  const runs = c.runs as CelebrityRun[];
  const zaddShares = runs.map((x) => (100 * x.insertsPerSecond) / x.zaddRate);
  const p99Ratios = runs.map((x) => x.during.p99 / x.idle.p99);
  const md = `# Benchmarks

Generated by \`npm run bench${r.mode === "quick" ? " -- --quick" : ""}\`; do not edit by hand. Every figure is the median with
(min-max) over ${r.reads["16"].gateway.length} repeated runs unless it says otherwise; ratios compare medians measured in this run.

- machine: ${r.machine.cpus} cores (${r.machine.model}), ${r.machine.memoryGiB} GiB; load generator, services, PostgreSQL, Redis and NATS share it
- data set (${r.mode}, seed ${r.seed}): ${r.size.users} users following ${r.size.minFollows}-${r.size.maxFollows} others (skewed: a few have many followers), ${r.size.posts} posts; built in SQL in ${r.built.seconds.users.toFixed(1)} s (users) + ${r.built.seconds.follows.toFixed(1)} s (follows) + ${r.built.seconds.posts.toFixed(1)} s (posts)
- PostgreSQL replica: ${r.replica ? "yes (reads of the services and the pull rival go to it)" : "no (everything on the leader)"}

## Feed reads (warm cache, the reader following the most people; the four paths take turns, run after run)

${sections.join("\n\n")}

![feed read latency](bench/results/feed-latency.svg)

## Memory

| timeline encoding | Redis bytes per entry at 1000 entries |
|---|---|
| Fanfare: score 0, 16-byte binary UUIDv7 members (${r.memory.compactEncoding}) | **${r.memory.compact.toFixed(1)}** |
| default sorted set, UUID strings, ms scores (${r.memory.naiveEncoding}) | ${r.memory.naive.toFixed(1)} |

## Writes

| path | req/s | p50 ms | p99 ms |
|---|---|---|---|
${row("gateway `POST /post/create` (16 connections)", r.writes)}

## Cold rebuild (the reader's timeline dropped, then one GetFeed; ${r.rebuilds.length} rounds)

p50 **${percentile(r.rebuilds, 0.5).toFixed(1)} ms**, p99 **${percentile(r.rebuilds, 0.99).toFixed(1)} ms**, max ${Math.max(...r.rebuilds).toFixed(1)} ms

## Ordinary fan-out (author with ${r.ordinary.followers} active followers; post created -> in every follower's timeline; ${r.ordinary.latencies.length} posts)

p50 **${percentile(r.ordinary.latencies, 0.5).toFixed(1)} ms**, p99 **${percentile(r.ordinary.latencies, 0.99).toFixed(1)} ms**

## Celebrity fan-out ("Lady Gaga", ${c.fans} active followers; ${runs.length} posts)

- full delivery (post created -> last chunk landed): **${fmt(
    runs.map((x) => x.durationMs / 1000),
    2,
  )} s** (setting up the followers took ${c.setupSeconds.toFixed(1)} s)
- timeline inserts/s: **${fmt(
    runs.map((x) => x.insertsPerSecond),
    0,
  )}**; redis-benchmark pipelined ZADD (-P 16) after each post: ${fmt(
    runs.map((x) => x.zaddRate),
    0,
  )}/s -> **${fmt(zaddShares, 1)}%** of it
- feed reads (gateway, 16 connections) idle: p99 ${fmt(runs.map((x) => x.idle.p99))} ms, ${fmt(
    runs.map((x) => x.idle.rps),
    0,
  )} req/s; during the fan-out: p99 ${fmt(runs.map((x) => x.during.p99))} ms, ${fmt(
    runs.map((x) => x.during.rps),
    0,
  )} req/s -> **${fmt(p99Ratios, 2)}x** idle p99 (each post against the idle reads just before it)
- Redis, the fan-out's shared resource: busy ${fmt(
    runs.map((x) => 100 * x.redis.busy),
    0,
  )}% of a core over the delivery; CPU per timeline insert **${fmt(
    runs.map((x) => x.redis.usPerInsert),
    2,
  )} µs** (the reads' share, measured idle just before, taken out) against ${fmt(
    runs.map((x) => x.redis.usPerZadd),
    2,
  )} µs per redis-benchmark ZADD, so with Redis doing nothing else inserts could reach at most **${fmt(
    runs.map((x) => (100 * x.redis.usPerZadd) / x.redis.usPerInsert),
    0,
  )}%** of the ZADD rate: an insert is its checks (cached? author still followed? rebuild under way? follower connected?) and the ZADD, four key lookups a fan (most of them cache misses in a big keyspace) against the benchmark's one hot key

![celebrity fan-out progress](bench/results/celebrity-progress.svg)
${clusterSection(r)}
${growthSections(r)}

## Targets

${targetsTable(r)}

With 64 callers in a closed loop the mean latency is 64 / throughput (Little's law), so absolute
latency targets are read as ratios to the floor measured in the same run; every process (load
generator included) shares the same ${r.machine.cpus} cores.

Raw results: \`bench/results/results.json\`.
`;
  writeArtifacts(`${dir}/bench/results`, {
    "results.json": JSON.stringify(
      {
        ...r,
        reads: Object.fromEntries(
          Object.entries(r.reads as Record<string, Record<string, { samples?: number[] }[]>>).map(([k, v]) => [
            k,
            Object.fromEntries(Object.entries(v).map(([kind, list]) => [kind, list.map(({ samples: _, ...rest }) => rest)])),
          ]),
        ),
      },
      null,
      2,
    ),
    "feed-latency.svg": svgChart("Feed read latency, 64 concurrent callers (CDF)", "latency ms", "share of requests", [
      { name: "feed gRPC GetFeed", points: cdfPoints(grpcSamples) },
      { name: "pull rival (SQL)", points: cdfPoints(pullSamples) },
    ]),
    "reads-by-follows.svg": svgChart("Feed reads by people followed, 64 connections", "people followed", "req/s", [
      { name: "push (gateway)", points: (r.byFollows as FollowsRow[]).map((x) => [x.follows, x.push.rps] as [number, number]) },
      { name: "pull (SQL rival)", points: (r.byFollows as FollowsRow[]).map((x) => [x.follows, x.pull.rps] as [number, number]) },
    ]),
    "celebrity-growth.svg": svgChart("Celebrity delivery by followers", "followers", "seconds to deliver", [
      {
        name: "delivery",
        points: [...(r.celebrityGrowth as { fans: number; runs: CelebrityRun[] }[]), r.celebrity].map(
          (x: { fans: number; runs: CelebrityRun[] }) => [x.fans, med(x.runs.map((run) => run.durationMs / 1000))] as [number, number],
        ),
      },
    ]),
    "celebrity-progress.svg": svgChart(
      `Celebrity fan-out to ${c.fans} followers`,
      "seconds since the post",
      "timelines written",
      runs.map((x, i) => ({ name: `post ${i + 1}`, points: x.progress.map((p) => [p.t, p.written] as [number, number]) })),
    ),
  });
  writeFileSync(`${dir}/BENCHMARKS.md`, md);
  step(`report written: ${dir === ROOT ? "" : `${dir}/`}BENCHMARKS.md, bench/results/`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);

/**
 * An empty cache, and no events from before this run: the bench's durable consumers gather every
 * event published on this NATS while no bench runs (the test suite's thousands, say), and the mesh
 * would handle them during the first scenario.
 */
async function startFromEmpty(redisUrl: string, natsUrl: string): Promise<void> {
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
  const nats = await connect({ servers: natsUrl.split(",") });
  await forgetFeedConsumers(nats, BENCH_CONSUMER_PREFIX);
  await nats.close();
}
