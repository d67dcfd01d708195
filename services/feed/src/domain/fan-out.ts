import type { events, posts } from "@fanfare/contracts";
import type { TimelineStore } from "../data-access/timeline-store.js";
import { deliveryLatency, timelineWrites } from "./feed-metrics.js";
import type { SourceOfTruth } from "./source-of-truth.js";

/** Followers per page read from social-graph and written in one Redis pipeline. */
const FOLLOWER_PAGE = 1_000;

/** Tells connected clients that a post landed in their timeline (plain NATS, fire and forget). */
export interface LiveNotifier {
  postLanded(userId: string, post: posts.Post): void;
}

/**
 * Keeps cached timelines right as events arrive. Every handler is idempotent (timelines are sets,
 * caches are overwrites) and reads the current truth where order matters, so redelivered,
 * duplicated or reordered events leave the same state.
 */
export class FanOut {
  constructor(
    private readonly store: TimelineStore,
    private readonly source: SourceOfTruth,
    private readonly live: LiveNotifier,
    private readonly maxItems: number,
  ) {}

  /** Fan-out on write: the post id goes into every follower's cached timeline. */
  async postCreated(event: events.PostCreated): Promise<void> {
    const post = toPost(event);
    await this.store.cachePosts([post]);
    await this.forEachFollowerPage(event.authorUserId, async (followers) => {
      const added = await this.store.addToTimelines(followers, [post.id]);
      followers.forEach((follower, i) => {
        if (added[i]) this.live.postLanded(follower, post);
      });
      timelineWrites.inc(added.filter(Boolean).length);
    });
    if (event.createdAt) deliveryLatency.observe((Date.now() - event.createdAt.getTime()) / 1000);
  }

  /** Timelines hold ids only, so an edit is one cache write; readers see it on their next read. */
  async postUpdated(event: events.PostUpdated): Promise<void> {
    const [current] = await this.source.postsById([event.postId]);
    if (current) await this.store.cachePosts([current]);
  }

  /** A tombstone keeps the post from coming back through a late event; followers' timelines drop it. */
  async postDeleted(event: events.PostDeleted): Promise<void> {
    await this.store.markDeleted(event.postId);
    await this.forEachFollowerPage(event.authorUserId, (followers) => this.store.removeFromTimelines(followers, [event.postId]));
  }

  /** Follow or unfollow: brings the cached timeline in line with what social-graph says now. */
  async friendshipChanged(userId: string, friendId: string): Promise<void> {
    if (!(await this.store.timelineExists(userId))) return;
    const following = await this.source.follows(userId, friendId);
    if (!(await this.store.setFollowing(userId, friendId, following))) return;
    const friendPosts = await this.source.recentPosts([friendId], 0, this.maxItems);
    if (following) {
      await this.store.cachePosts(friendPosts);
      await this.store.addToTimelines([userId], friendPosts.map((post) => post.id));
      timelineWrites.inc(friendPosts.length);
    } else {
      await this.store.removeFromTimelines([userId], friendPosts.map((post) => post.id));
    }
  }

  private async forEachFollowerPage(authorId: string, write: (followers: string[]) => Promise<void>): Promise<void> {
    let after = "";
    do {
      const page = await this.source.followerPage(authorId, after, FOLLOWER_PAGE);
      await write(page.ids);
      after = page.next;
    } while (after !== "");
  }
}

function toPost(event: events.PostCreated): posts.Post {
  return { id: event.postId, authorUserId: event.authorUserId, text: event.text, createdAt: event.createdAt, updatedAt: event.createdAt };
}
