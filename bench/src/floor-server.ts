// The floor: a bare Node HTTP server that does the feed's Redis reads (a timeline page of ids, then
// the post bodies) with ioredis, and nothing else: no auth, no gRPC, no mesh. GET /feed?user=<id>
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Redis } from "ioredis";
import { posts } from "@fanfare/contracts";

const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { enableAutoPipelining: true });
const hex = (b: Buffer) => b.toString("hex").replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5");

const server = createServer((req, res) => void answer(req, res));

async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const user = new URL(req.url ?? "/", "http://floor").searchParams.get("user") ?? "";
  const ids = (await redis.zrevrangeBuffer(`tl:{${user}}`, 0, 9)).filter((m) => m.length === 16).map(hex);
  const bodies = ids.length ? await redis.mgetBuffer(...ids.map((id) => `post:{${id}}`)) : [];
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
