import { expect } from "chai";
import { feed, posts } from "@fanfare/contracts";
import { encodeFeedAnswer, encodeFeedsAnswer } from "@fanfare/feed/entry-points/feed-wire.js";

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
