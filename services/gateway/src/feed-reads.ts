import type { feed } from "@fanfare/contracts";
import { CallBatcher, encodeLsns } from "@fanfare/runtime";
import { currentRequestContext } from "@fanfare/runtime/observability";
import { grpcStatusError, type PromiseClient } from "@fanfare/runtime/grpc";
import type { FeedPagesClient } from "./feed-wire.js";

/**
 * Pages per GetFeeds call. Under load one event-loop turn brings a few dozen reads at most; this
 * only bounds a burst (and stays under the feed's own limit of 256).
 */
const MAX_BATCH = 64;

/**
 * Feed reads to the feed service, batched: the reads that arrive in one event-loop turn leave as one
 * GetFeeds call, so gRPC framing, metadata, deadlines and the feed's scheduling are paid per batch
 * instead of per request (they were a fifth of both processes' CPU on the read path). Each page
 * carries its own request id and read-your-writes positions, and fails on its own, as with GetFeed.
 * A page comes back as the JSON text of its posts, ready to send (feed-wire.ts).
 */
export class FeedReads {
  private readonly batches: CallBatcher<feed.FeedPageRequest, Buffer>;

  constructor(feed: PromiseClient<FeedPagesClient>) {
    this.batches = new CallBatcher<feed.FeedPageRequest, Buffer>(
      async (pages) =>
        (await feed.getFeeds({ pages })).results.map((result) =>
          result.statusCode === 0 ? { value: result.json } : { error: grpcStatusError(result.statusCode, result.statusMessage) },
        ),
      "turn",
      MAX_BATCH,
    );
  }

  /** The page's posts: the bytes of a JSON array of the contract's Post. */
  read(request: feed.GetFeedRequest): Promise<Buffer> {
    const context = currentRequestContext();
    return this.batches.call({
      ...request,
      requestId: context?.requestId ?? "",
      minLsn: context?.minLsn ? encodeLsns(context.minLsn) : "",
    });
  }
}
