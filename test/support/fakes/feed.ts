// In-memory stand-ins for the feed's ports (domain/ports.ts), for the unit layer only: the product
// always runs on Redis, PostgreSQL and NATS. Each fake keeps the rules the domain relies on (sets,
// the window and its history marker, the rebuild lock with its dirty mark, tombstones) and none of
// the wire details; the integration suites check the real adapters against the same rules.
import { posts, type events } from "@fanfare/contracts";
import { uuidToBytes } from "@fanfare/runtime";
import type { CachedBody, CachedPost } from "@fanfare/feed/data-access/post-cache.js";
import type { ClaimMode, ClaimOutcome, CommitOutcome } from "@fanfare/feed/data-access/rebuild-locks.js";
import type { TimelineAdd, TimelinePage } from "@fanfare/feed/data-access/timeline-store.js";
import type { FanoutProgress } from "@fanfare/feed/data-access/fanout-progress.js";
import type { FanoutProgressLog, FanoutQueue, FeedCache, LiveNotifier, Truth } from "@fanfare/feed/domain/ports.js";

type Post = posts.Post;

const newestFirst = (a: string, b: string) => (a < b ? 1 : a > b ? -1 : 0);

/** Ids that sort by creation, like UUID v7: `fakeId(1) < fakeId(2)`. */
export function fakeId(n: number): string {
  return `00000000-0000-7000-8000-${n.toString(16).padStart(12, "0")}`;
}

interface Timeline {
  ids: Set<string>;
  /** The history marker: true = END (nothing older exists), false = CUT. */
  historyEnds: boolean;
}

/** Redis as the feed uses it: timelines of ids, friend sets, post bodies and tombstones, rebuild locks. */
export class FakeFeedCache implements FeedCache {
  readonly timelineState = new Map<string, Timeline>();
  readonly friends = new Map<string, Set<string>>();
  readonly bodies = new Map<string, Post | "deleted">();
  readonly celebrityLists = new Map<string, Set<string>>();
  readonly connected = new Set<string>();
  readonly pushed = new Map<string, Set<string>>();
  readonly locks = new Map<string, { token: string; dirty: boolean }>();

  constructor(private readonly maxItems: number) {}

  /** Newest first, like the timeline's ZRANGE. */
  sortedIds(userId: string): string[] {
    return [...(this.timelineState.get(userId)?.ids ?? [])].sort(newestFirst);
  }

  readonly timelines: FeedCache["timelines"] = {
    readPage: (userId: string, offset: number, limit: number, candidates: string[] = []): Promise<TimelinePage> => {
      const timeline = this.timelineState.get(userId);
      const all = this.sortedIds(userId);
      const friends = this.friends.get(userId) ?? new Set();
      return Promise.resolve({
        exists: timeline !== undefined,
        size: all.length,
        postIds: all.slice(offset, offset + limit),
        // The marker sorts last: a page shows it only when it reaches past the oldest post.
        historyEnds: (timeline?.historyEnds ?? false) && offset + limit > all.length,
        followed: candidates.filter((id) => friends.has(id)),
      });
    },
    exists: (userId: string) => Promise.resolve(this.timelineState.has(userId)),
    postIds: (userId: string) => Promise.resolve(this.sortedIds(userId).reverse()),
    friendIds: (userId: string) => Promise.resolve([...(this.friends.get(userId) ?? [])]),
    add: (userIds: string[], authorId: string, postIds: string[]) =>
      Promise.resolve(
        userIds.map((userId): TimelineAdd => {
          const push = this.recordPush(userId, postIds);
          const timeline = this.timelineState.get(userId);
          if (!timeline) return { outcome: "not-cached", push };
          if (!this.friends.get(userId)?.has(authorId)) return { outcome: "not-followed", push };
          const added = postIds.filter((id) => !timeline.ids.has(id));
          added.forEach((id) => timeline.ids.add(id));
          this.trim(userId, timeline);
          return { outcome: added.length > 0 ? "added" : "present", push };
        }),
      ),
    remove: (userIds: string[], postIds: string[]) => {
      const refill: string[] = [];
      for (const userId of userIds) {
        this.markDirty(userId);
        const timeline = this.timelineState.get(userId);
        if (!timeline) continue;
        const before = timeline.ids.size;
        postIds.forEach((id) => timeline.ids.delete(id));
        if (before >= this.maxItems && timeline.ids.size < this.maxItems) refill.push(userId);
      }
      return Promise.resolve(refill);
    },
    scan: () => Promise.resolve({ cursor: "0", userIds: [...this.timelineState.keys()] }),
  };

  readonly posts: FeedCache["posts"] = {
    get: (postIds: string[]): Promise<CachedPost[]> => Promise.resolve(postIds.map((id) => this.bodies.get(id))),
    bodies: (postIds: string[]): Promise<CachedBody[]> =>
      Promise.resolve(
        postIds.map((id) => {
          const body = this.bodies.get(id);
          return body === undefined || body === "deleted" ? body : posts.Post.encode(body).finish();
        }),
      ),
    put: (bodies: Post[]) =>
      Promise.resolve(
        bodies.map((post) => {
          if (this.bodies.get(post.id) === "deleted") return false;
          this.bodies.set(post.id, post);
          return true;
        }),
      ),
    tombstone: (postId: string) => {
      this.bodies.set(postId, "deleted");
      return Promise.resolve();
    },
  };

  readonly celebrityPosts: FeedCache["celebrityPosts"] = {
    add: (celebrityId: string, postId: string) => {
      this.celebrityLists.set(celebrityId, (this.celebrityLists.get(celebrityId) ?? new Set()).add(postId));
      return Promise.resolve();
    },
    remove: (celebrityId: string, postId: string) => {
      this.celebrityLists.get(celebrityId)?.delete(postId);
      return Promise.resolve();
    },
    recent: (celebrityIds: string[], count: number) =>
      Promise.resolve(celebrityIds.map((id) => [...(this.celebrityLists.get(id) ?? [])].sort(newestFirst).slice(0, count))),
  };

  readonly rebuilds: FeedCache["rebuilds"] = {
    claim: (userId: string, token: string, _ttlMs: number, mode: ClaimMode): Promise<ClaimOutcome> => {
      const lock = this.locks.get(userId);
      if (lock) {
        if (mode === "missing") return Promise.resolve("busy");
        lock.dirty = true;
        return Promise.resolve("marked");
      }
      const cached = this.timelineState.has(userId);
      if (mode === "missing" && cached) return Promise.resolve("present");
      if (mode === "cached" && !cached) return Promise.resolve("absent");
      this.locks.set(userId, { token, dirty: false });
      return Promise.resolve("claimed");
    },
    restart: (userId: string, token: string) => {
      const lock = this.locks.get(userId);
      if (lock?.token !== token) return Promise.resolve(false);
      lock.dirty = false;
      return Promise.resolve(true);
    },
    commit: (userId: string, token: string, postIds: string[], friendIds: string[]): Promise<CommitOutcome> => {
      const lock = this.locks.get(userId);
      if (lock?.token !== token) return Promise.resolve("lost");
      if (lock.dirty) return Promise.resolve("dirty");
      this.timelineState.set(userId, { ids: new Set(postIds.slice(0, this.maxItems)), historyEnds: postIds.length < this.maxItems });
      this.friends.set(userId, new Set(friendIds));
      this.locks.delete(userId);
      return Promise.resolve("ok");
    },
    drop: (userId: string, token: string) => {
      this.timelineState.delete(userId);
      this.friends.delete(userId);
      if (this.locks.get(userId)?.token === token) this.locks.delete(userId);
      return Promise.resolve();
    },
    inProgress: (userId: string) => Promise.resolve(this.locks.has(userId)),
  };

  readonly liveMarks: FeedCache["liveMarks"] = {
    markConnected: (userIds: string[]) => {
      userIds.forEach((id) => this.connected.add(id));
      return Promise.resolve();
    },
  };

  private markDirty(userId: string): void {
    const lock = this.locks.get(userId);
    if (lock) lock.dirty = true;
  }

  /** Keeps the newest maxItems; dropping posts turns END into CUT. */
  private trim(userId: string, timeline: Timeline): void {
    const sorted = this.sortedIds(userId);
    if (sorted.length <= this.maxItems) return;
    sorted.slice(this.maxItems).forEach((id) => timeline.ids.delete(id));
    timeline.historyEnds = false;
  }

  private recordPush(userId: string, postIds: string[]): boolean {
    if (!this.connected.has(userId)) return false;
    const pushed = this.pushed.get(userId) ?? new Set();
    this.pushed.set(userId, pushed);
    const fresh = postIds.filter((id) => !pushed.has(id));
    fresh.forEach((id) => pushed.add(id));
    return fresh.length > 0;
  }
}

/** The databases behind social-graph and posts: follows, posts, celebrity flags; counts every call. */
export class FakeTruth implements Truth {
  readonly follows = new Map<string, Set<string>>();
  readonly posts = new Map<string, Post>();
  readonly celebrityIds = new Set<string>();
  readonly calls: string[] = [];

  follow(userId: string, friendId: string): void {
    this.follows.set(userId, (this.follows.get(userId) ?? new Set()).add(friendId));
  }

  unfollow(userId: string, friendId: string): void {
    this.follows.get(userId)?.delete(friendId);
  }

  addPost(post: Post): Post {
    this.posts.set(post.id, post);
    return post;
  }

  friendsOf(userId: string): Promise<string[]> {
    this.calls.push("friendsOf");
    return Promise.resolve([...(this.follows.get(userId) ?? [])].sort());
  }

  recentPosts(authorIds: string[], offset: number, limit: number, before = ""): Promise<Post[]> {
    this.calls.push("recentPosts");
    const authors = new Set(authorIds);
    const page = [...this.posts.values()]
      .filter((post) => authors.has(post.authorUserId) && (before === "" || post.id < before))
      .sort((a, b) => newestFirst(a.id, b.id));
    return Promise.resolve(page.slice(offset, offset + limit));
  }

  async recentPostIds(authorIds: string[], offset: number, limit: number): Promise<string[]> {
    const page = await this.recentPosts(authorIds, offset, limit);
    this.calls.pop();
    this.calls.push("recentPostIds");
    return page.map((post) => post.id);
  }

  postsById(postIds: string[]): Promise<Post[]> {
    this.calls.push("postsById");
    return Promise.resolve(postIds.flatMap((id) => this.posts.get(id) ?? []));
  }

  celebrities(): Promise<string[]> {
    this.calls.push("celebrities");
    return Promise.resolve([...this.celebrityIds]);
  }

  followerChunks(userId: string, after: string, chunkSize: number): Promise<{ chunks: Buffer[]; done: boolean }> {
    this.calls.push("followerChunks");
    const rest = this.followersOf(userId).filter((id) => id > after);
    const chunks: Buffer[] = [];
    for (let i = 0; i < rest.length; i += chunkSize) chunks.push(Buffer.concat(rest.slice(i, i + chunkSize).map(uuidToBytes)));
    return Promise.resolve({ chunks, done: true });
  }

  followerPage(userId: string, after: string, pageSize: number): Promise<{ ids: string[]; next: string }> {
    this.calls.push("followerPage");
    const ids = this.followersOf(userId)
      .filter((id) => id > after)
      .slice(0, pageSize);
    return Promise.resolve({ ids, next: ids.length === pageSize ? ids.at(-1)! : "" });
  }

  private followersOf(userId: string): string[] {
    return [...this.follows].flatMap(([follower, friends]) => (friends.has(userId) ? [follower] : [])).sort();
  }
}

/** Fan-out progress, kept per post. */
export class FakeProgressLog implements FanoutProgressLog {
  readonly posts = new Map<string, { planned: number; done: Set<number>; written: number }>();

  started(postId: string): Promise<void> {
    if (!this.posts.has(postId)) this.posts.set(postId, { planned: 0, done: new Set(), written: 0 });
    return Promise.resolve();
  }

  planned(postId: string, chunks: number): Promise<void> {
    this.posts.get(postId)!.planned = chunks;
    return Promise.resolve();
  }

  chunkDone(postId: string, index: number, written: number): Promise<{ firstTime: boolean; finished: boolean }> {
    const entry = this.posts.get(postId)!;
    const firstTime = !entry.done.has(index);
    entry.done.add(index);
    if (firstTime) entry.written += written;
    return Promise.resolve({ firstTime, finished: firstTime && entry.done.size >= entry.planned });
  }

  progress(postId: string): Promise<FanoutProgress> {
    const entry = this.posts.get(postId);
    const done = entry ? entry.done.size : 0;
    const total = entry?.planned ?? 0;
    return Promise.resolve({
      chunked: entry !== undefined,
      chunksTotal: total,
      chunksDone: done,
      timelinesWritten: entry?.written ?? 0,
      done: total > 0 && done >= total,
      durationMs: 0,
    });
  }
}

/** The work queue: plans and chunks queued, in order, for the test to hand to workers. */
export class FakeFanoutQueue implements FanoutQueue {
  readonly plans: events.FanoutPlan[] = [];
  readonly jobs: events.FanoutChunk[] = [];
  plan(job: events.FanoutPlan): Promise<void> {
    this.plans.push(job);
    return Promise.resolve();
  }
  chunk(job: events.FanoutChunk): Promise<void> {
    this.jobs.push(job);
    return Promise.resolve();
  }
}

/** Live pushes, recorded. */
export class FakeLiveNotifier implements LiveNotifier {
  readonly pushes: { userId: string; postId: string }[] = [];
  postLanded(userIds: string[], post: Post): void {
    for (const userId of userIds) this.pushes.push({ userId, postId: post.id });
  }
}
