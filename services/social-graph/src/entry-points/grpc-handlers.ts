import { socialgraph } from "@fanfare/contracts";
import { invalidArgument, requireText, requireUuid } from "@fanfare/runtime";
import { bindService, type ServiceBinding } from "@fanfare/runtime/grpc";
import type { UserRow } from "../data-access/users-repository.js";
import { BATCH_GET_MAX, type SocialGraph } from "../domain/social-graph.js";

/** An IPv6 address with a zone fits in 64; anything longer is not an address. Empty: unknown (an internal caller). */
const CLIENT_ADDRESS_RULE = { min: 0, max: 64 };

export function socialGraphBinding(graph: SocialGraph): ServiceBinding {
  return bindService(socialgraph.SocialGraphServiceService, {
    registerUser: async (request) => ({
      user: toProtoUser(
        await graph.register({
          firstName: request.firstName,
          secondName: request.secondName,
          birthdate: request.birthdate || null,
          biography: request.biography,
          city: request.city,
          password: request.password,
        }),
      ),
    }),
    getUser: async (request) => ({ user: toProtoUser(await graph.getUser(requireUuid(request.userId, "user_id"))) }),
    batchGetUsers: async (request) => {
      if (request.userIds.length > BATCH_GET_MAX) throw invalidArgument(`at most ${BATCH_GET_MAX} user_ids per call`);
      const ids = request.userIds.map((id) => requireUuid(id, "user_ids"));
      return { users: (await graph.getUsers(ids)).map(toProtoUser) };
    },
    searchUsers: async (request) => ({
      users: (await graph.search(request.firstNamePrefix, request.lastNamePrefix, request.limit)).map(toProtoUser),
    }),
    verifyPassword: async (request) => ({
      valid: await graph.checkPassword(
        requireUuid(request.userId, "user_id"),
        request.password,
        requireText(request.clientAddress, "client_address", CLIENT_ADDRESS_RULE),
      ),
    }),
    addFriend: async (request) => ({
      created: await graph.follow(requireUuid(request.userId, "user_id"), requireUuid(request.friendId, "friend_id")),
    }),
    removeFriend: async (request) => ({
      removed: await graph.unfollow(requireUuid(request.userId, "user_id"), requireUuid(request.friendId, "friend_id")),
    }),
    listFriends: async (request) => ({ friendIds: await graph.friendsOf(requireUuid(request.userId, "user_id")) }),
    listCelebrities: async () => ({ userIds: await graph.celebrities() }),
    listFollowers: async (request) => {
      const after = request.afterFollowerId ? requireUuid(request.afterFollowerId, "after_follower_id") : null;
      const page = await graph.followersPage(requireUuid(request.userId, "user_id"), after, request.pageSize);
      return { followerIds: page.ids, nextAfterFollowerId: page.next ?? "" };
    },
    listFollowerChunks: async (request) => {
      const after = request.afterFollowerId ? requireUuid(request.afterFollowerId, "after_follower_id") : null;
      return graph.followerChunks(requireUuid(request.userId, "user_id"), after, request.chunkSize, request.maxChunks);
    },
  });
}

function toProtoUser(row: UserRow): socialgraph.User {
  return {
    id: row.id,
    firstName: row.first_name,
    secondName: row.second_name,
    birthdate: row.birthdate ?? "",
    biography: row.biography,
    city: row.city,
    followerCount: row.follower_count,
    friendCount: row.friend_count,
    celebrity: row.celebrity,
    createdAt: row.created_at,
  };
}
