import { randomUUID } from "node:crypto";
import { posts, socialgraph } from "@fanfare/contracts";
import { createGrpcClient, type PromiseClient } from "@fanfare/runtime/grpc";

/** Committed changes by kind: each is exactly one event the outbox must publish. */
export interface Committed {
  postCreated: number;
  postUpdated: number;
  postDeleted: number;
  friendAdded: number;
  friendRemoved: number;
}

export interface WorkloadClients {
  graph: PromiseClient<socialgraph.SocialGraphServiceClient>;
  posts: PromiseClient<posts.PostsServiceClient>;
  close(): void;
}

export function workloadClients(addresses: { socialGraph: string; posts: string }): WorkloadClients {
  const graph = createGrpcClient(socialgraph.SocialGraphServiceClient, addresses.socialGraph);
  const postsClient = createGrpcClient(posts.PostsServiceClient, addresses.posts);
  return { graph, posts: postsClient, close: () => [graph, postsClient].forEach((client) => client.close()) };
}

/**
 * Registrations in flight. social-graph hashes one password at a time (PASSWORD_HASH_CONCURRENCY 1),
 * so more in flight only queue: 32 of them waited past the 5 s deadline on a slow machine, while
 * the total time is the same either way.
 */
const REGISTRATIONS_IN_FLIGHT = 4;

/** Registers `count` fresh users, `inFlight` at a time; returns their ids. */
export async function registerUsers(clients: WorkloadClients, count: number, inFlight = REGISTRATIONS_IN_FLIGHT): Promise<string[]> {
  const ids: string[] = [];
  await runBounded(count, inFlight, async () => {
    const tag = randomUUID().slice(0, 8);
    const { user } = await clients.graph.registerUser({
      firstName: "Нагрузка",
      secondName: tag,
      birthdate: "",
      biography: "",
      city: "",
      password: `pw-${tag}`,
    });
    ids.push(user!.id);
  });
  return ids;
}

type OpKind = "follow" | "unfollow" | "post" | "edit" | "delete";
/** The mix of a social network's writes; follows and posts dominate, as they do in the original's load. */
const MIX: [OpKind, number][] = [
  ["follow", 35],
  ["post", 35],
  ["unfollow", 10],
  ["edit", 10],
  ["delete", 10],
];

/**
 * Concurrent writers over a fixed set of users: follows, unfollows, posts, edits and deletions, many
 * in flight. It only issues changes that must commit (no repeated follow, no edit of a deleted post,
 * never two changes of one pair or post at once), so every answered call is exactly one event.
 */
export class Workload {
  readonly committed: Committed = { postCreated: 0, postUpdated: 0, postDeleted: 0, friendAdded: 0, friendRemoved: 0 };
  readonly failures: string[] = [];
  private readonly follows = new Set<string>();
  private readonly livePosts = new Map<string, string>();
  private readonly busy = new Set<string>();

  constructor(
    private readonly clients: WorkloadClients,
    readonly users: string[],
  ) {}

  /** Runs `ops` changes, `inFlight` at a time; `between` runs after each (chaos hooks). */
  async run(ops: number, inFlight: number, between?: (done: number) => Promise<void>): Promise<void> {
    let done = 0;
    await runBounded(ops, inFlight, async () => {
      await this.oneChange().catch((error: unknown) => void this.failures.push(String(error)));
      done++;
      if (between) await between(done);
    });
  }

  private async oneChange(): Promise<void> {
    switch (pickWeighted(MIX)) {
      case "follow":
        return this.follow();
      case "unfollow":
        return this.unfollow();
      case "post":
        return this.post();
      case "edit":
        return this.edit();
      case "delete":
        return this.remove();
    }
  }

  private async follow(): Promise<void> {
    const userId = pick(this.users);
    const friendId = pick(this.users);
    const pair = `${userId}>${friendId}`;
    if (userId === friendId || this.follows.has(pair) || this.busy.has(pair)) return this.post();
    await this.exclusively(pair, async () => {
      await this.clients.graph.addFriend({ userId, friendId });
      this.follows.add(pair);
      this.committed.friendAdded++;
    });
  }

  private async unfollow(): Promise<void> {
    const pair = pickFree([...this.follows], this.busy);
    if (!pair) return this.follow();
    const [userId, friendId] = pair.split(">") as [string, string];
    await this.exclusively(pair, async () => {
      await this.clients.graph.removeFriend({ userId, friendId });
      this.follows.delete(pair);
      this.committed.friendRemoved++;
    });
  }

  private async post(): Promise<void> {
    const author = pick(this.users);
    const { post } = await this.clients.posts.createPost({ authorUserId: author, text: `нагрузка ${randomUUID().slice(0, 8)}` });
    this.livePosts.set(post!.id, author);
    this.committed.postCreated++;
  }

  private async edit(): Promise<void> {
    const postId = pickFree([...this.livePosts.keys()], this.busy);
    if (!postId) return this.post();
    await this.exclusively(postId, async () => {
      await this.clients.posts.updatePost({ actorUserId: this.livePosts.get(postId)!, postId, text: `правка ${randomUUID().slice(0, 8)}` });
      this.committed.postUpdated++;
    });
  }

  private async remove(): Promise<void> {
    const postId = pickFree([...this.livePosts.keys()], this.busy);
    if (!postId) return this.post();
    await this.exclusively(postId, async () => {
      await this.clients.posts.deletePost({ actorUserId: this.livePosts.get(postId)!, postId });
      this.livePosts.delete(postId);
      this.committed.postDeleted++;
    });
  }

  private async exclusively(key: string, work: () => Promise<void>): Promise<void> {
    this.busy.add(key);
    try {
      await work();
    } finally {
      this.busy.delete(key);
    }
  }
}

/** Runs `count` tasks with at most `inFlight` at once. */
export async function runBounded(count: number, inFlight: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
}

function pick<T>(items: T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

function pickFree(items: string[], busy: Set<string>): string | undefined {
  const free = items.filter((item) => !busy.has(item));
  return free.length > 0 ? pick(free) : undefined;
}

function pickWeighted<T>(weights: [T, number][]): T {
  let roll = Math.random() * weights.reduce((sum, [, weight]) => sum + weight, 0);
  for (const [item, weight] of weights) if ((roll -= weight) < 0) return item;
  return weights[0]![0];
}
