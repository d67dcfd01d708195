import { feed } from "@fanfare/contracts";
import { bindService, invalidArgument, requireUuid, type ServiceBinding } from "@fanfare/runtime";
import type { FanoutProgressStore } from "../data-access/fanout-progress.js";
import type { TimelineStore } from "../data-access/timeline-store.js";
import type { FeedReader } from "../domain/feed-reader.js";

/**
 * How long a MarkConnected mark lasts. Gateways renew every third of it, so one missed renewal
 * (a restart, a slow call) does not interrupt pushes, and a dead gateway's users stop being
 * pushed to within a minute.
 */
const CONNECTED_MARK_MS = 60_000;
/** Users per MarkConnected call: a gateway renews its users in batches of this size. */
const MARK_CONNECTED_MAX = 10_000;

export function feedBinding(reader: FeedReader, progress: FanoutProgressStore, store: TimelineStore): ServiceBinding {
  return bindService(feed.FeedServiceService, {
    getFeed: async (request) => ({ posts: await reader.read(requireUuid(request.userId, "user_id"), request.offset, request.limit) }),
    getFanoutProgress: async (request) => progress.progress(requireUuid(request.postId, "post_id")),
    markConnected: async (request) => {
      if (request.userIds.length > MARK_CONNECTED_MAX) throw invalidArgument(`at most ${MARK_CONNECTED_MAX} user_ids per call`);
      await store.markConnected(request.userIds.map((id) => requireUuid(id, "user_ids")), CONNECTED_MARK_MS);
      return { validForMs: CONNECTED_MARK_MS };
    },
  });
}
