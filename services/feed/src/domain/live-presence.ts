import { invalidArgument } from "@fanfare/runtime";
import type { FeedCache } from "./ports.js";

/**
 * How long a MarkConnected mark lasts. Gateways renew every third of it, so one missed renewal
 * (a restart, a slow call) does not interrupt pushes, and a dead gateway's users stop being
 * pushed to within a minute.
 */
const CONNECTED_MARK_MS = 60_000;
/** Users per MarkConnected call: a gateway renews its users in batches of this size. */
const MARK_CONNECTED_MAX = 10_000;

/**
 * Who has a live-feed socket open on some gateway. Fan-out pushes to these users whether or not
 * their timeline is cached: a connection is activity.
 */
export class LivePresence {
  constructor(private readonly cache: FeedCache) {}

  /** Marks the users connected; returns how long the mark lasts, so the gateway knows when to renew. */
  async markConnected(userIds: string[]): Promise<number> {
    if (userIds.length > MARK_CONNECTED_MAX) throw invalidArgument(`at most ${MARK_CONNECTED_MAX} user_ids per call`);
    await this.cache.liveMarks.markConnected(userIds, CONNECTED_MARK_MS);
    return CONNECTED_MARK_MS;
  }
}
