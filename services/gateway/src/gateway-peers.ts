import { randomUUID } from "node:crypto";
import type { NatsConnection, Subscription } from "nats";
import type { Logger, LsnByDatabase } from "@fanfare/runtime/observability";

/** Plain NATS subjects the gateways of one deployment talk on. */
const WRITES_SUBJECT = "gateway.writes";
const HELLO_SUBJECT = "gateway.hello";
/** Each gateway says it is there this often; a peer silent for PEER_GONE_MS is taken for gone. */
const HELLO_INTERVAL_MS = 5_000;
const PEER_GONE_MS = 3 * HELLO_INTERVAL_MS;

const text = new TextDecoder();
const bytes = new TextEncoder();

/** A write position one gateway shares with the others. */
interface WriteMessage {
  from: string;
  userId: string;
  lsns: LsnByDatabase;
}

/**
 * The other gateways of the deployment, over NATS, so that read-your-writes holds behind any
 * round-robin: a user who writes through one gateway and reads through another still reads their
 * write. A gateway that answers a write first publishes the write's positions and waits until the
 * NATS server has them (flush); a gateway about to read for a user first makes a round trip to the
 * same server (flush), which returns only after the server has delivered it everything published
 * before, so the positions are in its map. Both steps are skipped while no other gateway has said
 * hello: one gateway pays nothing.
 */
export class GatewayPeers {
  private readonly id = randomUUID();
  private readonly peers = new Map<string, number>();
  private readonly subscriptions: Subscription[] = [];
  private readonly hello: NodeJS.Timeout;
  /** The flush that the callers of this event-loop turn share; it is sent after they all asked. */
  private queued: Promise<void> | undefined;

  constructor(
    private readonly nats: NatsConnection,
    onPeerWrite: (userId: string, lsns: LsnByDatabase) => void,
    private readonly logger: Logger,
  ) {
    this.subscriptions.push(
      nats.subscribe(WRITES_SUBJECT, {
        callback: (error, message) => {
          if (error) return;
          const write = JSON.parse(text.decode(message.data)) as WriteMessage;
          if (write.from === this.id) return;
          this.peers.set(write.from, Date.now());
          onPeerWrite(write.userId, write.lsns);
        },
      }),
      nats.subscribe(HELLO_SUBJECT, {
        callback: (error, message) => {
          const from = error ? undefined : text.decode(message.data);
          if (from && from !== this.id) this.peers.set(from, Date.now());
        },
      }),
    );
    const sayHello = () => this.publish(HELLO_SUBJECT, this.id);
    sayHello();
    this.hello = setInterval(sayHello, HELLO_INTERVAL_MS);
    this.hello.unref();
  }

  /** Tells the other gateways where a user's writes reached; resolves once the NATS server has it. */
  async shareWrite(userId: string, lsns: LsnByDatabase): Promise<void> {
    if (!this.hasPeers()) return;
    if (this.publish(WRITES_SUBJECT, JSON.stringify({ from: this.id, userId, lsns } satisfies WriteMessage))) await this.flushed();
  }

  /** Resolves once every write position published before this call has been received here. */
  async caughtUp(): Promise<void> {
    if (!this.hasPeers()) return;
    await this.flushed();
  }

  stop(): void {
    clearInterval(this.hello);
    for (const subscription of this.subscriptions) subscription.unsubscribe();
  }

  /** False when NATS refused it (closed while shutting down): the write is then known to this gateway only. */
  private publish(subject: string, text: string): boolean {
    try {
      this.nats.publish(subject, bytes.encode(text));
      return true;
    } catch (error) {
      this.logger.warn({ err: error, subject }, "could not tell the other gateways");
      return false;
    }
  }

  private hasPeers(): boolean {
    const now = Date.now();
    for (const [peer, seen] of this.peers) if (now - seen > PEER_GONE_MS) this.peers.delete(peer);
    return this.peers.size > 0;
  }

  /**
   * A flush (PING/PONG) sent after this call: callers of one event-loop turn share it, and it leaves
   * at the end of the turn, after all of them asked; a later caller queues the next one.
   */
  private flushed(): Promise<void> {
    this.queued ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        this.queued = undefined;
        void this.flushOnce().then(resolve);
      }),
    );
    return this.queued;
  }

  private async flushOnce(): Promise<void> {
    try {
      await this.nats.flush();
    } catch (error) {
      // NATS unreachable: reads go on with what this gateway knows (as a single gateway would).
      this.logger.warn({ err: error }, "could not sync write positions with other gateways");
    }
  }
}
