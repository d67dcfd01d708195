import { Redis } from "ioredis";
import { posts, socialgraph } from "@fanfare/contracts";
import { createGrpcClient } from "@fanfare/runtime/grpc";
import type { FeedConfig } from "./config.js";
import { TimelineStore } from "./data-access/timeline-store.js";
import { TimelineAuditor } from "./domain/timeline-audit.js";
import { SourceOfTruth } from "./outbound/source-of-truth.js";

export interface FeedAudit {
  auditor: TimelineAuditor;
  close(): Promise<void>;
}

/**
 * The truth audit outside a running feed (the audit-feeds tool, tests): the feed's Redis and the
 * owning services, as the feed's configuration names them. It only reads.
 */
export function openFeedAudit(config: FeedConfig): FeedAudit {
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
  const socialGraph = createGrpcClient(socialgraph.SocialGraphServiceClient, config.SOCIAL_GRAPH_ADDR);
  const postsClient = createGrpcClient(posts.PostsServiceClient, config.POSTS_ADDR);
  const store = new TimelineStore(redis, config.FEED_MAX_ITEMS, config.FEED_ACTIVE_DAYS * 24 * 3600);
  const auditor = new TimelineAuditor(store, new SourceOfTruth(socialGraph, postsClient), config.FEED_MAX_ITEMS);
  return {
    auditor,
    close: async () => {
      socialGraph.close();
      postsClient.close();
      await redis.quit();
    },
  };
}
