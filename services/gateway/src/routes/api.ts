import type { ServerResponse } from "node:http";
import { Router, type Response } from "express";
import { z } from "zod";
import { feed, type posts, type socialgraph } from "@fanfare/contracts";
import type { PromiseClient } from "@fanfare/runtime/grpc";
import type { Tokens } from "../auth.js";
import type { FeedReads } from "../feed-reads.js";
import { authenticate, currentUserId, identifyIfPossible } from "../http/authenticate.js";
import { idempotencyKey } from "../http/idempotency.js";
import type { RecentWrites } from "../http/recent-writes.js";
import { badRequest, sendProblem } from "../http/problems.js";
import { sendJson, sendSerialisedJson } from "../http/respond.js";
import { jsonObject, parse, queryInteger, uuid } from "../http/validation.js";

export interface Downstreams {
  socialGraph: PromiseClient<socialgraph.SocialGraphServiceClient>;
  posts: PromiseClient<posts.PostsServiceClient>;
  feed: PromiseClient<feed.FeedServiceClient>;
}

/** The original system's clients call the same API under these prefixes too. */
export const API_PREFIXES = ["/", "/api/v1", "/api/v2"];

/** Feed paging bounds: feed.proto's, published in /openapi.json. */
export const FEED_PAGING = {
  defaultLimit: feed.FeedPaging.FEED_PAGING_DEFAULT_LIMIT as number,
  maxLimit: feed.FeedPaging.FEED_PAGING_MAX_LIMIT as number,
  maxOffset: feed.FeedPaging.FEED_PAGING_MAX_OFFSET as number,
};

/** Text fields are checked for length and content by the services; here only their type. */
const text = () => z.string({ error: "must be a string" });
/** Optional text: absent or null reads as "". */
const optionalText = () =>
  text()
    .nullish()
    .transform((value) => value ?? "");

const schemas = {
  login: jsonObject({ id: uuid(), password: text() }),
  register: jsonObject({
    first_name: text(),
    second_name: text(),
    birthdate: z.iso.date({ error: "must be a date in YYYY-MM-DD format" }).nullish(),
    biography: optionalText(),
    city: optionalText(),
    password: text(),
  }),
  idParam: z.object({ id: uuid() }),
  userIdParam: z.object({ user_id: uuid() }),
  search: z.object({ first_name: text(), last_name: text() }),
  createPost: jsonObject({ text: text() }),
  updatePost: jsonObject({ id: uuid(), text: text() }),
  feedPage: z.object({
    offset: queryInteger(0, 0, FEED_PAGING.maxOffset),
    limit: queryInteger(FEED_PAGING.defaultLimit, 1, FEED_PAGING.maxLimit),
  }),
};

/** The public REST API (the course's OpenAPI contract plus the original system's route forms). */
export function apiRouter(downstreams: Downstreams, feedReads: FeedReads, tokens: Tokens, recentWrites: RecentWrites): Router {
  const { socialGraph, posts } = downstreams;
  const router = Router();
  const authed = authenticate(tokens, recentWrites);
  const identified = identifyIfPossible(tokens, recentWrites);

  router.post("/login", async (req, res) => {
    const body = parse(schemas.login, req.body, "body");
    // req.ip: the socket's peer unless Express's "trust proxy" is configured (see README, login throttling).
    const { valid } = await socialGraph.verifyPassword({ userId: body.id, password: body.password, clientAddress: req.ip ?? "" });
    if (!valid) throw badRequest("invalid user id or password");
    sendJson(res, { token: await tokens.issue(body.id) });
  });

  router.post("/user/register", idempotencyKey, async (req, res) => {
    const body = parse(schemas.register, req.body, "body");
    const { user } = await socialGraph.registerUser({
      firstName: body.first_name,
      secondName: body.second_name,
      birthdate: body.birthdate ?? "",
      biography: body.biography,
      city: body.city,
      password: body.password,
    });
    sendJson(res, { user_id: user!.id });
  });

  router.get("/user/get/:id", identified, async (req, res) => {
    const { id } = parse(schemas.idParam, req.params, "path");
    const { user } = await socialGraph.getUser({ userId: id });
    sendJson(res, toUserJson(user!));
  });

  router.get("/user/search", identified, async (req, res) => {
    const query = parse(schemas.search, req.query, "query");
    const { users } = await socialGraph.searchUsers({ firstNamePrefix: query.first_name, lastNamePrefix: query.last_name, limit: 0 });
    sendJson(res, users.map(toUserJson));
  });

  const follow = async (req: { params: unknown }, res: Response) => {
    const { user_id } = parse(schemas.userIdParam, req.params, "path");
    await socialGraph.addFriend({ userId: currentUserId(res), friendId: user_id });
    res.status(200).end();
  };
  router.put("/friend/set/:user_id", authed, idempotencyKey, follow);
  router.put("/friend/add/:user_id", authed, idempotencyKey, follow);

  router.put("/friend/delete/:user_id", authed, idempotencyKey, async (req, res) => {
    const { user_id } = parse(schemas.userIdParam, req.params, "path");
    await socialGraph.removeFriend({ userId: currentUserId(res), friendId: user_id });
    res.status(200).end();
  });

  router.post("/post/create", authed, idempotencyKey, async (req, res) => {
    const body = parse(schemas.createPost, req.body, "body");
    const { post } = await posts.createPost({ authorUserId: currentUserId(res), text: body.text });
    sendJson(res, post!.id);
  });

  router.put("/post/update", authed, idempotencyKey, async (req, res) => {
    const body = parse(schemas.updatePost, req.body, "body");
    await posts.updatePost({ actorUserId: currentUserId(res), postId: body.id, text: body.text });
    res.status(200).end();
  });

  router.put("/post/delete/:id", authed, idempotencyKey, async (req, res) => {
    const { id } = parse(schemas.idParam, req.params, "path");
    await posts.deletePost({ actorUserId: currentUserId(res), postId: id });
    res.status(200).end();
  });

  router.get("/post/get/:id", identified, async (req, res) => {
    const { id } = parse(schemas.idParam, req.params, "path");
    const { post } = await posts.getPost({ postId: id });
    sendJson(res, toPostJson(post!));
  });

  // The usual spellings are answered before Express (routes/feed-route.ts); this serves the rest.
  router.get("/post/feed", authed, (req, res) => sendFeedPage(res, feedReads, currentUserId(res), req.query));

  // The WebSocket channel; a plain GET (no Upgrade header) is told how to use it.
  router.get("/post/feed/posted", authed, (_req, res) => {
    sendProblem(res, 426, "this channel is a WebSocket: connect with Upgrade: websocket", { upgrade: "websocket" });
  });

  return router;
}

/** One page of the user's feed, `query` holding offset and limit as the contract spells them. */
export async function sendFeedPage(res: ServerResponse, feedReads: FeedReads, userId: string, query: unknown): Promise<void> {
  const page = parse(schemas.feedPage, query, "query");
  sendSerialisedJson(res, await feedReads.read({ userId, offset: page.offset, limit: page.limit }));
}

function toUserJson(user: socialgraph.User) {
  return {
    id: user.id,
    first_name: user.firstName,
    second_name: user.secondName,
    ...(user.birthdate ? { birthdate: user.birthdate } : {}),
    biography: user.biography,
    city: user.city,
    celebrity: user.celebrity,
  };
}

/** The contract's Post. Feed pages are written in this shape straight off the wire (feed-wire.ts; the unit suite ties the two). */
function toPostJson(post: posts.Post) {
  return { id: post.id, text: post.text, author_user_id: post.authorUserId };
}
