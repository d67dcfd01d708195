// The floor: a bare Node HTTP server that does the feed's Redis reads (a timeline page of ids, then
// the post bodies) with ioredis, and nothing else: no auth, no gRPC, no mesh. GET /feed?user=<id>
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Redis } from "ioredis";
import { posts } from "@fanfare/contracts";
import { isPostMember, postIdOfMember } from "@fanfare/feed/data-access/post-ids.js";
import { redisKeys } from "@fanfare/feed/data-access/redis-keys.js";

const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { enableAutoPipelining: true });

const server = createServer((req, res) => void answer(req, res));

async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const user = new URL(req.url ?? "/", "http://floor").searchParams.get("user") ?? "";
  const ids = (await redis.zrangeBuffer(redisKeys.timeline(user), "0", "9")).filter(isPostMember).map(postIdOfMember);
  const bodies = ids.length ? await redis.mgetBuffer(...ids.map(redisKeys.post)) : [];
  const page = bodies.flatMap((body) => {
    if (!body || body.length === 1) return [];
    const post = posts.Post.decode(body);
    return [{ id: post.id, text: post.text, author_user_id: post.authorUserId }];
  });
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(page));
}
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`${typeof address === "object" && address ? address.port : 0}\n`);
});
