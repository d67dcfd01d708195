/** One call's answer in a batch: its value, or the error that call alone fails with. */
export type BatchOutcome<A> = { value: A } | { error: unknown };

/**
 * When a batch leaves: "tick" gathers the calls made until the current callback and the promise
 * continuations queued meanwhile have run (the parts of one piece of work: the pages of one GetFeeds
 * call, started together, and a step later their body reads, made as each page's script answer is
 * resolved from one Redis reply); "turn" gathers the calls of a whole event-loop turn (requests
 * arriving over many I/O callbacks).
 */
export type BatchWindow = "tick" | "turn";

/**
 * Calls that arrive together answered by one batch call: a per-call cost (an RPC's framing, a
 * Redis command's client and server work) is then paid per batch. Each call keeps its own outcome;
 * a failure of the batch call fails all of its calls.
 */
export class CallBatcher<Q, A> {
  private pending: { request: Q; resolve: (answer: A) => void; reject: (error: unknown) => void }[] = [];

  constructor(
    private readonly answerAll: (requests: Q[]) => Promise<BatchOutcome<A>[]>,
    private readonly window: BatchWindow,
    /** A batch leaves at once when it reaches this size. */
    private readonly maxBatch = Number.POSITIVE_INFINITY,
  ) {}

  call(request: Q): Promise<A> {
    return new Promise((resolve, reject) => {
      const size = this.pending.push({ request, resolve, reject });
      if (size >= this.maxBatch) this.flush();
      else if (size === 1) this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    // A microtask, then a next-tick callback: whether the first call came from a callback or a
    // continuation, the flush waits for every continuation already queued (and those they queue).
    if (this.window === "tick") queueMicrotask(() => process.nextTick(() => this.flush()));
    else setImmediate(() => this.flush());
  }

  private flush(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.answerAll(batch.map((item) => item.request)).then(
      (outcomes) =>
        batch.forEach((item, i) => {
          const outcome = outcomes[i];
          if (!outcome) item.reject(new Error("a batch call answered fewer calls than it was asked"));
          else if ("error" in outcome) item.reject(outcome.error);
          else item.resolve(outcome.value);
        }),
      (error: unknown) => batch.forEach((item) => item.reject(error)),
    );
  }
}
