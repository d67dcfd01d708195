import { startFeed, loadFeedConfig, type RunningFeed } from "@fanfare/feed";
import { startGateway, loadGatewayConfig, type RunningGateway } from "@fanfare/gateway";
import { startPosts, loadPostsConfig } from "@fanfare/posts";
import { startSocialGraph, loadSocialGraphConfig } from "@fanfare/social-graph";
import { connect } from "nats";
import type { RunningPgService } from "@fanfare/runtime/postgres";
import { forgetFeedConsumers } from "@fanfare/runtime/testing";
import { databaseEnv, testEnv } from "./env.js";

export interface Mesh {
  socialGraph: RunningPgService;
  posts: RunningPgService;
  feed: RunningFeed;
  gateway: RunningGateway;
  addresses: { socialGraph: string; posts: string; feed: string };
  baseUrl: string;
  stop(): Promise<void>;
}

let shared: Promise<Mesh> | undefined;

/**
 * The system the end-to-end tests talk to: the in-process mesh, or, when FANFARE_URL is set, a
 * system already running at that URL (the Compose stand). `mesh` is there only in process: tests
 * that look inside (Redis, databases, stopping services) skip themselves without it.
 */
export interface Target {
  baseUrl: string;
  mesh?: Mesh;
}

export async function target(): Promise<Target> {
  const url = process.env.FANFARE_URL;
  if (url) return { baseUrl: url.replace(/\/+$/, "") };
  const m = await mesh();
  return { baseUrl: m.baseUrl, mesh: m };
}

/** For a test that looks inside the system: its in-process mesh, or the test is skipped against a remote one. */
export function inProcess(context: Mocha.Context, t: Target): Mesh {
  if (!t.mesh) context.skip();
  return t.mesh;
}

/** The whole mesh, in this process, on free ports; started once and shared by every test file. */
export function mesh(): Promise<Mesh> {
  shared ??= startMesh();
  return shared;
}

export async function stopSharedMesh(): Promise<void> {
  if (!shared) return;
  await (await shared.catch(() => undefined))?.stop();
  shared = undefined;
  await removeTestConsumers();
}

export interface MeshOverrides {
  feed?: Record<string, string>;
  socialGraph?: Record<string, string>;
}

/** A mesh of its own (for tests that stop parts of it); its feed shares the tests' Redis and consumers. */
export async function startMesh(overrides: MeshOverrides = {}): Promise<Mesh> {
  const socialGraph = await startSocialGraph(
    loadSocialGraphConfig({ ...testEnv, ...databaseEnv("fanfare_test_social_graph"), ...overrides.socialGraph }),
  );
  const posts = await startPosts(loadPostsConfig({ ...testEnv, ...databaseEnv("fanfare_test_posts") }));
  const addresses = {
    socialGraph: `127.0.0.1:${socialGraph.port}`,
    posts: `127.0.0.1:${posts.port}`,
    feed: "",
  };
  const feed = await startFeed(
    loadFeedConfig({ ...testEnv, SOCIAL_GRAPH_ADDR: addresses.socialGraph, POSTS_ADDR: addresses.posts, ...overrides.feed }),
  );
  addresses.feed = `127.0.0.1:${feed.port}`;
  const gateway = await startGatewayFor(addresses);
  return {
    socialGraph,
    posts,
    feed,
    gateway,
    addresses,
    baseUrl: `http://127.0.0.1:${gateway.port}`,
    stop: async () => {
      await gateway.stop();
      await feed.stop();
      await Promise.all([posts.stop(), socialGraph.stop()]);
    },
  };
}

/** Durable consumers outlive their process; the tests' own are removed so a reused machine stays clean. */
export async function removeTestConsumers(): Promise<void> {
  const nats = await connect({ servers: testEnv.NATS_URL });
  try {
    await forgetFeedConsumers(nats, testEnv.FEED_CONSUMER_PREFIX);
  } finally {
    await nats.close();
  }
}

export function startGatewayFor(addresses: { socialGraph: string; posts: string; feed: string }, extraEnv: Record<string, string> = {}) {
  return startGateway(
    loadGatewayConfig({
      ...testEnv,
      SOCIAL_GRAPH_ADDR: addresses.socialGraph,
      POSTS_ADDR: addresses.posts,
      FEED_ADDR: addresses.feed,
      ...extraEnv,
    }),
  );
}
