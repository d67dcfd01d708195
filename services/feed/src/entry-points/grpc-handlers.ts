import type { feed } from "@fanfare/contracts";
import { decodeLsns, invalidArgument, requireUuid } from "@fanfare/runtime";
import { runWithRequestContext, sanitizeRequestId, newRequestId, type Logger } from "@fanfare/runtime/observability";
import { bindService, statusOf, type ServiceBinding } from "@fanfare/runtime/grpc";
import type { FeedReader } from "../domain/feed-reader.js";
import type { LivePresence } from "../domain/live-presence.js";
import type { FanoutProgressLog } from "../domain/ports.js";
import { FeedServiceWire, type FeedPageAnswer } from "./feed-wire.js";

/** Pages per GetFeeds call: a gateway flushes its batch at this size; more is refused. */
const GET_FEEDS_MAX = 256;

export function feedBinding(reader: FeedReader, progress: FanoutProgressLog, presence: LivePresence, logger: Logger): ServiceBinding {
  return bindService(FeedServiceWire, {
    getFeed: async (request) => ({ posts: await reader.read(requireUuid(request.userId, "user_id"), request.offset, request.limit) }),
    getFeeds: async (request) => {
      if (request.pages.length > GET_FEEDS_MAX) throw invalidArgument(`at most ${GET_FEEDS_MAX} pages per call`);
      return { results: await Promise.all(request.pages.map((page) => readPage(reader, page, logger))) };
    },
    getFanoutProgress: async (request) => progress.progress(requireUuid(request.postId, "post_id")),
    markConnected: async (request) => ({
      validForMs: await presence.markConnected(request.userIds.map((id) => requireUuid(id, "user_ids"))),
    }),
  });
}

/** One page of a batch, as GetFeed would read it (in its caller's request context), with its own status. */
function readPage(reader: FeedReader, page: feed.FeedPageRequest, logger: Logger): Promise<FeedPageAnswer> {
  const context = { requestId: sanitizeRequestId(page.requestId) ?? newRequestId(), minLsn: decodeLsns(page.minLsn) };
  return runWithRequestContext(context, async () => {
    try {
      return { posts: await reader.read(requireUuid(page.userId, "user_id"), page.offset, page.limit), statusCode: 0, statusMessage: "" };
    } catch (error) {
      const { code, details } = statusOf(error, "/fanfare.feed.v1.FeedService/GetFeeds", logger);
      return { posts: [], statusCode: code, statusMessage: details };
    }
  });
}
