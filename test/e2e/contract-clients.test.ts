import { expect } from "chai";
import { WebSocket } from "ws";
import { runBounded, workloadClients, type WorkloadClients } from "../support/workload.js";
import { api, eventually, expectProblem, newUser, type TestUser } from "../support/http.js";
import { target, type Target } from "../support/mesh.js";

type PostBody = { id: string; text: string; author_user_id: string };
/** The AsyncAPI `post` message. */
type LivePost = { postId: string; postText: string; author_user_id: string };

/**
 * Fanfare as a client generated from the course's contract sees it: number-typed parameters in
 * float spellings, page sizes the spec leaves open, exact pages across the cached window, and live
 * pushes for every connected user. (Every answer is also checked against /openapi.json by api().)
 */
describe("clients the contract admits", function () {
  this.timeout(60_000);
  let system: Target;
  let url: string;
  /** In process, bulk posts go straight to the posts service (fast); against a remote system, through the API. */
  let grpc: WorkloadClients | undefined;

  before(async () => {
    system = await target();
    url = system.baseUrl;
    grpc = system.mesh && workloadClients(system.mesh.addresses);
  });
  after(() => grpc?.close());

  const feedIds = async (reader: TestUser, query: string): Promise<string[]> => {
    const page = await api(url, `/post/feed?${query}`, { token: reader.token });
    expect(page.status, `${query}: ${JSON.stringify(page.body).slice(0, 200)}`).to.equal(200);
    return (page.body as PostBody[]).map((post) => post.id);
  };
  const post = async (author: TestUser, text: string): Promise<string> =>
    (await api(url, "/post/create", { method: "POST", token: author.token, body: { text } })).body as string;
  const bulkPost = async (author: TestUser, text: string): Promise<string> =>
    grpc ? (await grpc.posts.createPost({ authorUserId: author.id, text })).post!.id : post(author, text);

  describe("number-typed query parameters", () => {
    it("accepts every integral spelling a generated client sends (10, 10.0, 1e1) through the main flows", async () => {
      const [reader, author] = await Promise.all([newUser(url), newUser(url)]);
      expect(await feedIds(reader, "offset=0.0&limit=100.0")).to.deep.equal([]);
      await api(url, `/friend/set/${author.id}`, { method: "PUT", token: reader.token });
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push(await post(author, `пост ${i}`));
      const newestFirst = ids.reverse();
      await eventually(async () => expect(await feedIds(reader, "offset=0.0&limit=1e2")).to.deep.equal(newestFirst));
      for (const [query, from, to] of [
        ["offset=1.0&limit=2.0", 1, 3],
        ["offset=1e0&limit=2E0", 1, 3],
        ["offset=0&limit=1e1", 0, 10],
        ["offset=10.00&limit=1.0e1", 10, 20],
        ["offset=2e%2B0&limit=3", 2, 5],
      ] as const) {
        expect(await feedIds(reader, query), query).to.deep.equal(newestFirst.slice(from, to));
      }
      for (const prefix of ["/api/v1", "/api/v2"]) {
        const page = await api(url, `${prefix}/post/feed?offset=0.0&limit=5.0`, { token: reader.token });
        expect((page.body as PostBody[]).map((p) => p.id)).to.deep.equal(newestFirst.slice(0, 5));
      }
    });

    it("refuses fractional, negative, non-numeric, empty and out-of-range values with a 400 naming the rule", async () => {
      const reader = await newUser(url);
      for (const [query, words] of [
        ["limit=1.5", "whole number"],
        ["limit=1e-1", "whole number"],
        ["offset=0.5", "whole number"],
        ["limit=-1", "at least 1"],
        ["offset=-1.0", "at least 0"],
        ["limit=abc", "number"],
        ["limit=", "number"],
        ["limit=0x10", "number"],
        ["limit=10.", "number"],
        ["limit=Infinity", "number"],
        ["limit=0", "at least 1"],
        ["limit=5001", "at most 5000"],
        ["limit=5.001e3", "at most 5000"],
        ["offset=100001", "at most 100000"],
        ["limit=1e400", "whole number"],
        ["limit=1&limit=2", "once"],
      ] as const) {
        const answer = await api(url, `/post/feed?${query}`, { token: reader.token });
        expectProblem(answer, 400);
        expect(answer.body.message, query).to.include(words);
      }
    });

    it("publishes the paging bounds: number-typed, whole, limit up to 5000", async () => {
      const spec = (await api(url, "/openapi.json")).body;
      const parameters = Object.fromEntries(
        (spec.paths["/post/feed"].get.parameters as { name: string; schema: Record<string, unknown> }[]).map((p) => [p.name, p.schema]),
      );
      expect(parameters.limit).to.include({ type: "number", minimum: 1, maximum: 5000, multipleOf: 1 });
      expect(parameters.offset).to.include({ type: "number", minimum: 0, maximum: 100000, multipleOf: 1 });
    });
  });

  describe("exact pages across the cached window", () => {
    /** 12 authors with 170 posts each (2040): twice the 1000 the cache keeps. */
    const AUTHORS = 12;
    const POSTS_EACH = 170;
    const PAGES: [offset: number, limit: number][] = [
      [0, 10],
      [0, 1000],
      [995, 10],
      [990, 20],
      [1000, 10],
      [500, 1000],
      [900, 1500],
      [1990, 100],
      [2035, 10],
      [0, 5000],
      [3000, 10],
    ];

    it("serves every page exactly: across the seam, after an unfollow, a re-follow, deletions and new posts", async () => {
      const reader = await newUser(url);
      const authors = await Promise.all(Array.from({ length: AUTHORS }, () => newUser(url)));
      const byAuthor = new Map<string, string[]>(authors.map((author) => [author.id, []]));
      await runBounded(AUTHORS * POSTS_EACH, 32, async (i) => {
        const author = authors[i % AUTHORS]!;
        byAuthor.get(author.id)!.push(await bulkPost(author, `история ${i}`));
      });
      for (const author of authors) await api(url, `/friend/set/${author.id}`, { method: "PUT", token: reader.token });

      const expected = (followed: TestUser[]) => followed.flatMap((author) => byAuthor.get(author.id)!).sort((a, b) => (a < b ? 1 : -1));
      const expectPages = async (followed: TestUser[], what: string) => {
        const all = expected(followed);
        await eventually(
          async () => expect(await feedIds(reader, "offset=0&limit=5000"), `${what}: the whole feed`).to.deep.equal(all),
          15_000,
          200,
        );
        for (const [offset, limit] of PAGES)
          expect(await feedIds(reader, `offset=${offset}&limit=${limit}`), `${what}: page (${offset}, ${limit})`).to.deep.equal(
            all.slice(offset, offset + limit),
          );
      };

      await expectPages(authors, "following all");
      const [gone, ...rest] = authors;
      await api(url, `/friend/delete/${gone!.id}`, { method: "PUT", token: reader.token });
      await expectPages(rest, "after an unfollow");
      await api(url, `/friend/set/${gone!.id}`, { method: "PUT", token: reader.token });
      await expectPages(authors, "after following again");

      // Deletions in the cached window and past it; then new posts on top.
      const doomed = byAuthor.get(authors[1]!.id)!.splice(0, 40);
      await runBounded(
        doomed.length,
        8,
        async (i) => void (await api(url, `/post/delete/${doomed[i]}`, { method: "PUT", token: authors[1]!.token })),
      );
      await expectPages(authors, "after deletions");
      for (let i = 0; i < 5; i++) byAuthor.get(authors[i]!.id)!.push(await post(authors[i]!, `новое ${i}`));
      await expectPages(authors, "after new posts");
    });
  });

  it("keeps the whole history reachable after an unfollow shrinks a full timeline (2 authors x 600 posts)", async () => {
    const [reader, kept, dropped] = await Promise.all([newUser(url), newUser(url), newUser(url)]);
    const keptPosts: string[] = [];
    await runBounded(1200, 32, async (i) => {
      const author = i % 2 === 0 ? kept : dropped;
      const id = await bulkPost(author, `пост ${i}`);
      if (author === kept) keptPosts.push(id);
    });
    keptPosts.sort((a, b) => (a < b ? 1 : -1));
    for (const author of [kept, dropped]) await api(url, `/friend/set/${author.id}`, { method: "PUT", token: reader.token });
    await eventually(async () => expect(await feedIds(reader, "offset=0&limit=5000")).to.have.length(1200), 15_000, 200);
    await api(url, `/friend/delete/${dropped.id}`, { method: "PUT", token: reader.token });
    await eventually(async () => expect(await feedIds(reader, "offset=0&limit=5000")).to.deep.equal(keptPosts), 15_000, 200);
    expect(await feedIds(reader, "offset=497&limit=100")).to.deep.equal(keptPosts.slice(497, 597));
  });

  describe("live pushes for everyone connected", () => {
    const wsUrl = (path: string) => url.replace(/^http/, "ws") + path;

    /** A WebSocket on /post/feed/posted, collecting what it receives. */
    async function connect(user: TestUser) {
      const socket = new WebSocket(wsUrl("/post/feed/posted"), { headers: { authorization: `Bearer ${user.token}` } });
      const received: LivePost[] = [];
      const waiting: (() => void)[] = [];
      socket.on("message", (data) => {
        received.push(JSON.parse((data as Buffer).toString("utf8")) as LivePost);
        waiting.splice(0).forEach((wake) => wake());
      });
      await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
      return {
        received,
        /** Waits until a push of this post arrives (at most `ms`); false if none did. */
        async waitFor(postId: string, ms = 5_000): Promise<boolean> {
          const deadline = Date.now() + ms;
          while (!received.some((message) => message.postId === postId)) {
            const left = deadline - Date.now();
            if (left <= 0) return false;
            await new Promise<void>((resolve) => {
              waiting.push(resolve);
              setTimeout(resolve, left);
            });
          }
          return true;
        },
        close: () => socket.close(),
      };
    }

    it("pushes to a connected user who never read the feed (no cached timeline), within a second", async () => {
      const [reader, author] = await Promise.all([newUser(url), newUser(url)]);
      await api(url, `/friend/set/${author.id}`, { method: "PUT", token: reader.token });
      const live = await connect(reader);
      try {
        if (system.mesh)
          expect(await system.mesh.feed.cache.timelines.exists(reader.id), "the reader has no cached timeline").to.equal(false);
        const started = Date.now();
        const postId = await post(author, "без чтения ленты");
        expect(await live.waitFor(postId), "push received").to.equal(true);
        console.log(`      push to an uncached reader after ${Date.now() - started} ms`);
        expect(live.received).to.deep.equal([{ postId, postText: "без чтения ленты", author_user_id: author.id }]);
      } finally {
        live.close();
      }
    });

    it("follows and unfollows take effect on an open connection; own, strangers' and backfilled posts are not pushed", async () => {
      const [reader, friend, later, stranger] = await Promise.all([newUser(url), newUser(url), newUser(url), newUser(url)]);
      const backfilled = await post(later, "старый пост");
      await api(url, `/friend/set/${friend.id}`, { method: "PUT", token: reader.token });
      const live = await connect(reader);
      try {
        await post(stranger, "чужой");
        await post(reader, "свой");
        await api(url, `/friend/set/${later.id}`, { method: "PUT", token: reader.token });
        const fromLater = await post(later, "после подписки");
        expect(await live.waitFor(fromLater), "a new friend's post").to.equal(true);

        await api(url, `/friend/delete/${later.id}`, { method: "PUT", token: reader.token });
        const afterUnfollow = await post(later, "после отписки");
        const sentinel = await post(friend, "маркер");
        expect(await live.waitFor(sentinel), "the remaining friend's post").to.equal(true);
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(live.received.map((message) => message.postId)).to.deep.equal([fromLater, sentinel]);
        expect(live.received.map((message) => message.postId)).to.not.include.members([backfilled, afterUnfollow]);
      } finally {
        live.close();
      }
    });

    it("pushes each post once to each of a user's two connections, and to a cached timeline's owner too", async () => {
      const [reader, author] = await Promise.all([newUser(url), newUser(url)]);
      await api(url, `/friend/set/${author.id}`, { method: "PUT", token: reader.token });
      await api(url, "/post/feed", { token: reader.token }); // now cached
      const [first, second] = [await connect(reader), await connect(reader)];
      try {
        const ids = [await post(author, "раз"), await post(author, "два")];
        for (const live of [first, second]) {
          for (const id of ids) expect(await live.waitFor(id)).to.equal(true);
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
        // Each once; posts.created events are handled concurrently, so pushes of close posts may cross.
        for (const live of [first, second])
          expect(live.received.map((message) => message.postId))
            .to.have.members(ids)
            .and.have.length(ids.length);
        // One connection closed, the other keeps receiving.
        first.close();
        const third = await post(author, "три");
        expect(await second.waitFor(third)).to.equal(true);
      } finally {
        first.close();
        second.close();
      }
    });
  });
});
