import { expect } from "chai";
import { CallBatcher, type BatchOutcome } from "@fanfare/runtime";

/** A batcher doubling numbers, failing odd ones alone, that records the batches it was given. */
function doubling(window: "tick" | "turn", maxBatch?: number) {
  const batches: number[][] = [];
  const batcher = new CallBatcher<number, number>(
    async (requests) => {
      batches.push(requests);
      return requests.map((n): BatchOutcome<number> => (n % 2 === 1 ? { error: new Error(`odd ${n}`) } : { value: n * 2 }));
    },
    window,
    maxBatch,
  );
  return { batcher, batches };
}

describe("CallBatcher", () => {
  it("answers the calls of one tick with one batch, each with its own outcome", async () => {
    const { batcher, batches } = doubling("tick");
    const outcomes = await Promise.allSettled([2, 3, 4].map((n) => batcher.call(n)));
    expect(batches).to.deep.equal([[2, 3, 4]]);
    expect(outcomes.map((o) => (o.status === "fulfilled" ? o.value : (o.reason as Error).message))).to.deep.equal([4, "odd 3", 8]);
  });

  it("gathers calls made from microtasks of the same tick, and leaves later ticks to later batches", async () => {
    const { batcher, batches } = doubling("tick");
    const first = batcher.call(2);
    const chained = Promise.resolve().then(() => batcher.call(4));
    await Promise.all([first, chained]);
    await batcher.call(6);
    expect(batches).to.deep.equal([[2, 4], [6]]);
  });

  it("'turn' gathers calls across I/O callbacks of one event-loop turn; maxBatch splits a burst", async () => {
    const turn = doubling("turn");
    const calls = [turn.batcher.call(2)];
    await new Promise<void>((resolve) => process.nextTick(resolve));
    calls.push(turn.batcher.call(4));
    await Promise.all(calls);
    expect(turn.batches).to.deep.equal([[2, 4]]);

    const bounded = doubling("turn", 2);
    await Promise.all([2, 4, 6].map((n) => bounded.batcher.call(n)));
    expect(bounded.batches).to.deep.equal([[2, 4], [6]]);
  });

  it("fails every call of a batch whose batch call fails", async () => {
    const batcher = new CallBatcher<number, number>(() => Promise.reject(new Error("down")), "tick");
    const outcomes = await Promise.allSettled([1, 2].map((n) => batcher.call(n)));
    expect(outcomes.map((o) => o.status === "rejected" && (o.reason as Error).message)).to.deep.equal(["down", "down"]);
  });
});
