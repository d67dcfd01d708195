// Scenarios that show how cost grows, and what must stay true: feed reads by the number of people
// a reader follows (push against pull), live push latency under read load, and the truth audit of
// every timeline the run left behind.
import { randomUUID } from "node:crypto";
import { connect, type NatsConnection } from "nats";
import pg from "pg";
import WebSocket from "ws";
import { events } from "@fanfare/contracts";
import { loadFeedConfig, openFeedAudit, type AuditReport } from "@fanfare/feed";
import { liveFeedSubject, SUBJECTS } from "@fanfare/runtime/events";
import { httpLoad, callLoad, type LoadResult } from "./load.js";
import { login, pullRival, type BenchContext } from "./scenarios.js";
import { percentile } from "./stats.js";

/** Live-feed sockets open while their author posts: enough for a p99 from a few hundred pushes. */
const LIVE_FOLLOWERS = 20;
/** One post this often while the read load runs. */
const LIVE_POST_INTERVAL_MS = 100;
/** Celebrity fans audited (their timelines are seeded, all alike); every other cached timeline is audited. */
const AUDITED_FANS = 10_000;

export interface FollowsRow {
  follows: number;
  push: LoadResult;
  pull: LoadResult;
}

/**
 * A reader following `n` authors (the most prolific ones), for each n: the gateway's warm feed read
 * (push: fan-out on write) against the pull rival's SQL fan-out on read, same reader, 64 callers.
 */
export async function readsByFollows(ctx: BenchContext, counts: number[]): Promise<FollowsRow[]> {
  const graph = new pg.Client({ connectionString: ctx.graphUrl });
  const postsDb = new pg.Client({ connectionString: ctx.postsUrl });
  await Promise.all([graph.connect(), postsDb.connect()]);
  try {
    const authors = (
      await postsDb.query<{ author_id: string }>(
        "SELECT author_id FROM posts GROUP BY author_id ORDER BY count(*) DESC, author_id LIMIT $1",
        [Math.max(...counts)],
      )
    ).rows.map((row) => row.author_id);
    const rows: FollowsRow[] = [];
    for (const n of counts.filter((count) => count <= authors.length)) {
      const reader = await newReaderFollowing(graph, authors.slice(0, n));
      const token = await login(ctx, reader);
      await fetch(`${ctx.mesh.gatewayUrl}/post/feed?limit=10`, { headers: { authorization: `Bearer ${token}` } }); // builds the timeline
      const push = await httpLoad({
        url: `${ctx.mesh.gatewayUrl}/post/feed?limit=10`,
        connections: 64,
        seconds: ctx.seconds,
        headers: { authorization: `Bearer ${token}` },
      });
      const rival = pullRival(ctx, reader);
      try {
        rows.push({ follows: n, push, pull: await callLoad(rival.query, 64, ctx.seconds) });
      } finally {
        await rival.close();
      }
    }
    return rows;
  } finally {
    await Promise.all([graph.end(), postsDb.end()]);
  }
}

/** A user (with the bench password, like every data-set user) who follows exactly these authors. */
async function newReaderFollowing(graph: pg.Client, authors: string[]): Promise<string> {
  const reader = randomUUID();
  await graph.query(
    `INSERT INTO users (id, first_name, second_name, password_hash, friend_count)
     SELECT $1, 'Reader', 'Bench', password_hash, $2 FROM users WHERE password_hash LIKE 'scrypt$%' LIMIT 1`,
    [reader, authors.length],
  );
  await graph.query("INSERT INTO friendships (user_id, friend_id) SELECT $1, unnest($2::uuid[])", [reader, authors]);
  return reader;
}

export interface LivePushes {
  sockets: number;
  pushes: number;
  expected: number;
  p50: number;
  p99: number;
  max: number;
  readLoad: LoadResult;
  /** Where a push's time goes: ms from the POST's start to each step, as p50 and p99 over the posts. */
  stages: Record<PushStage, { p50: number; p99: number }>;
}

/**
 * The steps of one post's push, as seen from outside: POST answered, posts.created on NATS (the
 * outbox relay published it), feed.live.<follower> on NATS (the feed delivered it), the socket's push.
 */
export type PushStage = "answered" | "event" | "published" | "pushed";
export const PUSH_STAGES: PushStage[] = ["answered", "event", "published", "pushed"];

/**
 * Post created -> WebSocket push: LIVE_FOLLOWERS followers keep /post/feed/posted open while their
 * author posts every LIVE_POST_INTERVAL_MS and the gateway serves the reader's feed at 16 connections.
 * A push's latency runs from just before POST /post/create to its arrival on a socket.
 */
export async function livePushLatency(ctx: BenchContext, loadReader: string): Promise<LivePushes> {
  const author = await registerAndLogin(ctx);
  const followers = await Promise.all(Array.from({ length: LIVE_FOLLOWERS }, () => registerAndLogin(ctx)));
  for (const follower of followers)
    await fetch(`${ctx.mesh.gatewayUrl}/friend/set/${author.id}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${follower.token}` },
    });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  // Each post's steps, timed at the first follower; the POST's answer is the last to name the post,
  // so steps seen before it are held by post id until then.
  const stepsAt = new Map<string, Partial<Record<PushStage, number>>>();
  const seeStep = (postId: string, stage: PushStage) => {
    const steps = stepsAt.get(postId) ?? {};
    steps[stage] ??= performance.now();
    stepsAt.set(postId, steps);
  };
  const nats = await watchPushSteps(ctx, followers[0]!.id, seeStep);
  const sockets = await Promise.all(
    followers.map(
      (follower) =>
        new Promise<WebSocket>((resolve, reject) => {
          const socket = new WebSocket(`${ctx.mesh.gatewayUrl.replace(/^http/, "ws")}/post/feed/posted`, {
            headers: { authorization: `Bearer ${follower.token}` },
          });
          socket.on("message", (data) => {
            const { postId } = JSON.parse((data as Buffer).toString("utf8")) as { postId: string };
            const sent = sentAt.get(postId);
            if (sent !== undefined) latencies.push(performance.now() - sent);
            if (follower === followers[0]) seeStep(postId, "pushed");
          });
          socket.once("open", () => resolve(socket));
          socket.once("error", reject);
        }),
    ),
  );
  try {
    const loadToken = await login(ctx, loadReader);
    const readLoad = httpLoad({
      url: `${ctx.mesh.gatewayUrl}/post/feed?limit=10`,
      connections: 16,
      seconds: ctx.seconds,
      headers: { authorization: `Bearer ${loadToken}` },
      offThread: true,
    });
    const deadline = performance.now() + ctx.seconds * 1000 - 500;
    let posts = 0;
    while (performance.now() < deadline) {
      const started = performance.now();
      const response = await fetch(`${ctx.mesh.gatewayUrl}/post/create`, {
        method: "POST",
        headers: { authorization: `Bearer ${author.token}`, "content-type": "application/json" },
        body: JSON.stringify({ text: `live ${posts}` }),
      });
      const postId = (await response.json()) as string;
      sentAt.set(postId, started);
      seeStep(postId, "answered");
      posts++;
      await new Promise((resolve) => setTimeout(resolve, LIVE_POST_INTERVAL_MS));
    }
    const load = await readLoad;
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the last pushes arrive
    return {
      sockets: sockets.length,
      pushes: latencies.length,
      expected: posts * sockets.length,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      max: Math.max(...latencies),
      readLoad: load,
      stages: stageTimes(sentAt, stepsAt),
    };
  } finally {
    for (const socket of sockets) socket.close();
    await nats.close();
  }
}

/** Plain NATS subscriptions (JetStream publishes are ordinary messages too) to a post's steps between its commit and the push. */
async function watchPushSteps(
  ctx: BenchContext,
  follower: string,
  seeStep: (postId: string, stage: PushStage) => void,
): Promise<NatsConnection> {
  const nats = await connect({ servers: ctx.natsUrl.split(",") });
  nats.subscribe(SUBJECTS.postCreated, { callback: (_error, message) => seeStep(events.PostCreated.decode(message.data).postId, "event") });
  nats.subscribe(liveFeedSubject(follower), {
    callback: (_error, message) => seeStep(message.json<{ postId: string }>().postId, "published"),
  });
  await nats.flush();
  return nats;
}

function stageTimes(
  starts: Map<string, number>,
  stepsAt: Map<string, Partial<Record<PushStage, number>>>,
): Record<PushStage, { p50: number; p99: number }> {
  const since = (stage: PushStage) =>
    [...starts].flatMap(([postId, started]) => {
      const at = stepsAt.get(postId)?.[stage];
      return at === undefined ? [] : [at - started];
    });
  return Object.fromEntries(
    PUSH_STAGES.map((stage) => [stage, { p50: percentile(since(stage), 0.5), p99: percentile(since(stage), 0.99) }]),
  ) as Record<PushStage, { p50: number; p99: number }>;
}

async function registerAndLogin(ctx: BenchContext): Promise<{ id: string; token: string }> {
  const response = await fetch(`${ctx.mesh.gatewayUrl}/user/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ first_name: "Live", second_name: "Bench", password: ctx.password }),
  });
  const { user_id: id } = (await response.json()) as { user_id: string };
  return { id, token: await login(ctx, id) };
}

export interface AuditSummary extends AuditReport {
  fansSampled: number;
  seconds: number;
}

/**
 * Speed never at the cost of truth: every cached timeline of the data set's users and of the users
 * the scenarios made, and AUDITED_FANS sampled celebrity fans, against the databases.
 */
export async function auditFeeds(ctx: BenchContext): Promise<AuditSummary> {
  const graph = new pg.Client({ connectionString: ctx.graphUrl });
  await graph.connect();
  const [others, fans] = await Promise.all([
    graph.query<{ id: string }>("SELECT id FROM users WHERE first_name <> 'Fan'"),
    graph.query<{ id: string }>("SELECT id FROM users WHERE first_name = 'Fan' ORDER BY random() LIMIT $1", [AUDITED_FANS]),
  ]);
  await graph.end();
  const audit = openFeedAudit(
    loadFeedConfig({
      REDIS_URL: ctx.redisUrl,
      ...(ctx.redisClusterNodes.length > 0 ? { REDIS_CLUSTER_NODES: ctx.redisClusterNodes.join(",") } : {}),
      SOCIAL_GRAPH_ADDR: ctx.mesh.addresses.socialGraph,
      POSTS_ADDR: ctx.mesh.addresses.posts,
      LOG_LEVEL: "silent",
    }),
  );
  const started = performance.now();
  try {
    const report = await audit.auditor.auditAll([...others.rows, ...fans.rows].map((row) => row.id));
    return { ...report, fansSampled: fans.rows.length, seconds: (performance.now() - started) / 1000 };
  } finally {
    await audit.close();
  }
}
