import type { NatsConnection } from "nats";
import type { posts } from "@fanfare/contracts";
import { liveFeedSubject } from "@fanfare/runtime/events";

/** Publishes the AsyncAPI `post` message on feed.live.<user>; gateways forward it to that user's sockets. */
export function natsLiveNotifier(nats: NatsConnection): { postLanded(userIds: string[], post: posts.Post): void } {
  const encoder = new TextEncoder();
  return {
    postLanded: (userIds: string[], post: posts.Post) => {
      // The message is the same for every follower: encoded once per post, not once per follower.
      const message = encoder.encode(JSON.stringify({ postId: post.id, postText: post.text, author_user_id: post.authorUserId }));
      for (const userId of userIds) nats.publish(liveFeedSubject(userId), message);
    },
  };
}
