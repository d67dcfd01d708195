import { feed } from "@fanfare/contracts";
import { bindService, requireUuid, type ServiceBinding } from "@fanfare/runtime";
import type { FanoutProgressStore } from "../data-access/fanout-progress.js";
import type { FeedReader } from "../domain/feed-reader.js";

export function feedBinding(reader: FeedReader, progress: FanoutProgressStore): ServiceBinding {
  return bindService(feed.FeedServiceService, {
    getFeed: async (request) => ({ posts: await reader.read(requireUuid(request.userId, "user_id"), request.offset, request.limit) }),
    getFanoutProgress: async (request) => progress.progress(requireUuid(request.postId, "post_id")),
  });
}
