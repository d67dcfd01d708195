import { expect } from "chai";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { feed, posts } from "@fanfare/contracts";
import { encodeFeedAnswer, encodeFeedsAnswer } from "@fanfare/feed/entry-points/feed-wire.js";
import { decodeFeedPagesJson } from "@fanfare/gateway/feed-wire.js";

const post = (n: number, text: string): posts.Post => ({
  id: `0190a1b2-c3d4-7e5f-8a6b-${n.toString(16).padStart(12, "0")}`,
  authorUserId: "0190a1b2-c3d4-7e5f-8a6b-ffffffffffff",
  text,
  createdAt: new Date(1_700_000_000_000 + n),
  updatedAt: new Date(1_700_000_000_500 + n),
});
const encoded = (p: posts.Post) => posts.Post.encode(p).finish();

describe("feed answers with spliced post bodies", () => {
  // A long text makes a body whose length prefix takes more than one byte.
  const [short, long, fromSource] = [post(1, "hi"), post(2, "x".repeat(300)), post(3, "read from the posts service")];

  it("GetFeed: cached bodies and decoded posts encode to the bytes the generated encoder writes", () => {
    const spliced = encodeFeedAnswer({ posts: [encoded(short), fromSource, encoded(long)] });
    const generated = feed.GetFeedResponse.encode({ posts: [short, fromSource, long] }).finish();
    expect(Buffer.compare(spliced, Buffer.from(generated))).to.equal(0);
    expect(feed.GetFeedResponse.decode(spliced).posts).to.deep.equal([short, fromSource, long]);
  });

  it("GetFeeds: every page, its status and message, as the generated client decodes them", () => {
    const answer = {
      results: [
        { posts: [encoded(long), fromSource], statusCode: 0, statusMessage: "" },
        { posts: [], statusCode: 3, statusMessage: "limit must be an integer from 1 to 5000" },
        { posts: [], statusCode: 0, statusMessage: "" },
        { posts: [encoded(short)], statusCode: 0, statusMessage: "" },
      ],
    };
    const decodedResults: feed.FeedPageResult[] = [
      { posts: [long, fromSource], statusCode: 0, statusMessage: "" },
      { posts: [], statusCode: 3, statusMessage: "limit must be an integer from 1 to 5000" },
      { posts: [], statusCode: 0, statusMessage: "" },
      { posts: [short], statusCode: 0, statusMessage: "" },
    ];
    const spliced = encodeFeedsAnswer(answer);
    expect(Buffer.compare(spliced, Buffer.from(feed.GetFeedsResponse.encode({ results: decodedResults }).finish()))).to.equal(0);
    expect(feed.GetFeedsResponse.decode(spliced).results).to.deep.equal(decodedResults);
  });
});

describe("the gateway's feed pages, spliced from the wire into JSON", () => {
  /** What the REST route sent before: the generated decoder's posts in the contract's shape, serialised. */
  const asBefore = (page: posts.Post[]) => JSON.stringify(page.map((p) => ({ id: p.id, text: p.text, author_user_id: p.authorUserId })));
  const pagesOf = (results: feed.FeedPageResult[]) => decodeFeedPagesJson(feed.GetFeedsResponse.encode({ results }).finish()).results;

  it("writes every post as JSON.stringify would, whatever its text holds", () => {
    const texts = [
      "hi",
      'a "quoted" word',
      "back\\slash",
      "line\nbreak\ttab\u0001",
      "Привет, мир",
      "emoji 🎉",
      "\u2028\u2029\u007f",
      "",
      "x".repeat(300),
    ];
    const page = texts.map((text, n) => post(n, text));
    const [result] = pagesOf([{ posts: page, statusCode: 0, statusMessage: "" }]);
    expect(result!.json.toString("utf8")).to.equal(asBefore(page));
    expect(JSON.parse(result!.json.toString("utf8"))).to.have.length(texts.length);
  });

  it("keeps each page's status and message, and answers an empty page with []", () => {
    const results = pagesOf([
      { posts: [post(1, "one")], statusCode: 0, statusMessage: "" },
      { posts: [], statusCode: 5, statusMessage: "user not found" },
      { posts: [], statusCode: 0, statusMessage: "" },
    ]);
    expect(results.map((r) => [r.json.toString("utf8"), r.statusCode, r.statusMessage])).to.deep.equal([
      [asBefore([post(1, "one")]), 0, ""],
      ["[]", 5, "user not found"],
      ["[]", 0, ""],
    ]);
  });

  it("skips fields it does not know, and decodes bytes that are not UTF-8 as the generated decoder does", () => {
    const writer = new BinaryWriter();
    writer.uint32((1 << 3) | 2).fork(); // results[0]
    writer.uint32((1 << 3) | 2).fork(); // posts[0]
    writer.uint32((9 << 3) | 0).uint32(42); // a field added to Post later
    writer.uint32((1 << 3) | 2).string("0190a1b2-c3d4-7e5f-8a6b-000000000001");
    writer.uint32((3 << 3) | 2).bytes(Uint8Array.from([0x66, 0xff, 0x67, 0xed, 0xa0, 0x80]));
    writer.uint32((2 << 3) | 2).string("0190a1b2-c3d4-7e5f-8a6b-ffffffffffff");
    writer.join().join();
    const bytes = writer.finish();
    const [result] = decodeFeedPagesJson(bytes).results;
    expect(result!.json.toString("utf8")).to.equal(asBefore(feed.GetFeedsResponse.decode(bytes).results[0]!.posts));
  });
});
