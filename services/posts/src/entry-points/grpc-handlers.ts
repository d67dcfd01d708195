import { posts } from "@fanfare/contracts";
import { invalidArgument, requireUuid } from "@fanfare/runtime";
import { bindService, type ServiceBinding } from "@fanfare/runtime/grpc";
import type { PostRow, RecentPage } from "../data-access/posts-repository.js";
import { AUTHORS_MAX, BATCH_GET_MAX, RECENT_MAX_LIMIT, type Posts } from "../domain/posts.js";

export function postsBinding(service: Posts): ServiceBinding {
  return bindService(posts.PostsServiceService, {
    createPost: async (request) => ({
      post: toProtoPost(await service.create(requireUuid(request.authorUserId, "author_user_id"), request.text)),
    }),
    updatePost: async (request) => ({
      post: toProtoPost(
        await service.update(requireUuid(request.actorUserId, "actor_user_id"), requireUuid(request.postId, "post_id"), request.text),
      ),
    }),
    deletePost: async (request) => {
      await service.delete(requireUuid(request.actorUserId, "actor_user_id"), requireUuid(request.postId, "post_id"));
      return {};
    },
    getPost: async (request) => ({ post: toProtoPost(await service.get(requireUuid(request.postId, "post_id"))) }),
    batchGetPosts: async (request) => {
      if (request.postIds.length > BATCH_GET_MAX) throw invalidArgument(`at most ${BATCH_GET_MAX} post_ids per call`);
      return { posts: (await service.getMany(request.postIds.map((id) => requireUuid(id, "post_ids")))).map(toProtoPost) };
    },
    listRecentPostsByAuthors: async (request) => {
      return { posts: (await service.recentByAuthors(recentPage(request))).map(toProtoPost) };
    },
    listRecentPostIdsByAuthors: async (request) => {
      const page = recentPage(request);
      if (request.packed) return { postIds: [], packedPostIds: await service.recentIdsByAuthorsPacked(page) };
      return { postIds: await service.recentIdsByAuthors(page), packedPostIds: Buffer.alloc(0) };
    },
  });
}

/** The page both recent-posts calls take, checked the same way. */
function recentPage(request: posts.ListRecentPostsByAuthorsRequest): RecentPage {
  if (request.authorUserIds.length > AUTHORS_MAX) throw invalidArgument(`at most ${AUTHORS_MAX} author_user_ids per call`);
  if (request.offset < 0) throw invalidArgument("offset must not be negative");
  if (request.limit < 0 || request.limit > RECENT_MAX_LIMIT) throw invalidArgument(`limit must be 0 to ${RECENT_MAX_LIMIT}`);
  return {
    authorIds: request.authorUserIds.map((id) => requireUuid(id, "author_user_ids")),
    offset: request.offset,
    limit: request.limit,
    before: request.beforePostId === "" ? undefined : requireUuid(request.beforePostId, "before_post_id"),
  };
}

function toProtoPost(row: PostRow): posts.Post {
  return { id: row.id, authorUserId: row.author_id, text: row.text, createdAt: row.created_at, updatedAt: row.updated_at };
}
