import { feed } from "@fanfare/contracts";
import { requireUuid } from "@fanfare/runtime";
import { bindService, type ServiceBinding } from "@fanfare/runtime/grpc";
import type { FeedReader } from "../domain/feed-reader.js";
import type { LivePresence } from "../domain/live-presence.js";
import type { FanoutProgressLog } from "../domain/ports.js";

export function feedBinding(reader: FeedReader, progress: FanoutProgressLog, presence: LivePresence): ServiceBinding {
  return bindService(feed.FeedServiceService, {
    getFeed: async (request) => ({ posts: await reader.read(requireUuid(request.userId, "user_id"), request.offset, request.limit) }),
    getFanoutProgress: async (request) => progress.progress(requireUuid(request.postId, "post_id")),
    markConnected: async (request) => ({
      validForMs: await presence.markConnected(request.userIds.map((id) => requireUuid(id, "user_ids"))),
    }),
  });
}
