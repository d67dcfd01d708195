import { posts, socialgraph } from "@fanfare/contracts";
import { createGrpcClient } from "@fanfare/runtime/grpc";
import type { FeedConfig } from "./config.js";
import { openFeedCache } from "./data-access/feed-cache.js";
import { closeRedis, createRedis } from "./data-access/redis-client.js";
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
  const redis = createRedis({ url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES, keyPrefix: config.REDIS_KEY_PREFIX });
  const socialGraph = createGrpcClient(socialgraph.SocialGraphServiceClient, config.SOCIAL_GRAPH_ADDR);
  const postsClient = createGrpcClient(posts.PostsServiceClient, config.POSTS_ADDR);
  const cache = openFeedCache({ reads: redis, fanOut: redis }, config.FEED_MAX_ITEMS, config.FEED_ACTIVE_DAYS * 24 * 3600);
  const auditor = new TimelineAuditor(cache, new SourceOfTruth(socialGraph, postsClient), config.FEED_MAX_ITEMS);
  return {
    auditor,
    close: async () => {
      socialGraph.close();
      postsClient.close();
      await closeRedis(redis);
    },
  };
}
