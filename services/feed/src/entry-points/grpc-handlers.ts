import { feed } from "@fanfare/contracts";
import { bindService, requireUuid, type ServiceBinding } from "@fanfare/runtime";
import type { FeedReader } from "../domain/feed-reader.js";

export function feedBinding(reader: FeedReader): ServiceBinding {
  return bindService(feed.FeedServiceService, {
    getFeed: async (request) => ({ posts: await reader.read(requireUuid(request.userId, "user_id"), request.offset, request.limit) }),
  });
}
