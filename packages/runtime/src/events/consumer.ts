import {
  AckPolicy,
  DeliverPolicy,
  headers as natsHeaders,
  nanos,
  type ConsumerConfig,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
} from "nats";
import { runWithRequestContext, type Logger } from "../observability/logger.js";
import { decodeLsns, EVENT_LSN_HEADER } from "../core/lsn.js";
import { counter, gauge, histogram, LATENCY_BUCKETS } from "../observability/metrics.js";
import { duringElections, ensureStream } from "./nats.js";
import { DEAD_LETTER_STREAM, type StreamSpec } from "./streams.js";

/** A message that can never be handled (undecodable, invalid): terminated and dead-lettered, not retried. */
export class PoisonMessage extends Error {
  override readonly name = "PoisonMessage";
}

export interface DurableConsumerOptions {
  nats: NatsConnection;
  stream: StreamSpec;
  durable: string;
  filterSubject: string;
  /** Messages handled at once by this process. */
  concurrency: number;
  /** Messages delivered but not yet acknowledged, across all replicas: bounds work in flight. */
  maxAckPending: number;
  /** How long a silent handler may take before its message goes to another worker; handlers in progress extend it. */
  ackWaitMs: number;
  /** Deliveries before a message goes to the dead-letter stream. */
  maxDeliver: number;
  /**
   * Pull a message only when a worker is free (work queues with long handlers and a short ack_wait).
   * Prefetched messages wait in the client's buffer without heartbeats, so with a short ack_wait
   * they would be redelivered while still waiting; pulled one by one, every message held is worked on.
   */
  pullWhenFree?: boolean;
  logger: Logger;
  handle: (message: JsMsg) => Promise<void>;
}

const handled = counter("jetstream_messages_total", "JetStream messages handled, by consumer and outcome", ["consumer", "outcome"]);
const handleDuration = histogram("jetstream_handle_seconds", "Time to handle one JetStream message", ["consumer"], LATENCY_BUCKETS);
const pending = gauge("jetstream_consumer_pending", "Messages not yet delivered to the consumer (consumer lag)", ["consumer"]);

/** Redelivery back-off: 0.5 s, 1 s, 2 s ... capped, so a downstream outage is not hammered. */
const NAK_BASE_DELAY_MS = 500;
const NAK_MAX_DELAY_MS = 30_000;
/** How often the consumer lag gauge is refreshed. */
const LAG_POLL_MS = 5_000;
/** A free worker's pull request lasts this long before it asks again (also the longest a stop waits for it). */
const PULL_EXPIRES_MS = 1_000;
/**
 * How long a batch pull of the event consumers stays open. A pull held by a server that dies is only
 * noticed when it expires (the client misses its heartbeats), so this bounds how long events stall
 * after a JetStream node is lost: 38 s with the client's default of 30 s in the cluster fault test.
 */
const CONSUME_EXPIRES_MS = 5_000;

export interface RunningConsumer {
  stop(): Promise<void>;
}

/**
 * A durable pull consumer with explicit acks: handled messages are acked, failures nak'd with a
 * growing delay, poison messages and those past max_deliver terminated and copied to DEADLETTER.
 * Handlers must be idempotent: any message may arrive more than once.
 */
export async function startDurableConsumer(options: DurableConsumerOptions): Promise<RunningConsumer> {
  const { nats, logger } = options;
  await ensureStream(nats, options.stream);
  await ensureStream(nats, DEAD_LETTER_STREAM);
  const jsm = await duringElections(() => nats.jetstreamManager());
  const config: Partial<ConsumerConfig> & { durable_name: string } = {
    durable_name: options.durable,
    ack_policy: AckPolicy.Explicit,
    // A new event consumer starts with what is published from now on (what came before is covered by
    // rebuilds); a work queue hands out everything it holds, as JetStream requires.
    deliver_policy: options.stream.workQueue ? DeliverPolicy.All : DeliverPolicy.New,
    filter_subject: options.filterSubject,
    max_ack_pending: options.maxAckPending,
    ack_wait: nanos(options.ackWaitMs),
    max_deliver: options.maxDeliver + 1,
  };
  await duringElections(() => ensureConsumer(jsm, options.stream.name, config));
  const consumer = await duringElections(() => nats.jetstream().consumers.get(options.stream.name, options.durable));
  const inFlight = new Set<Promise<void>>();
  let stopping = false;

  const process = async (message: JsMsg) => {
    const stopTimer = handleDuration.startTimer({ consumer: options.durable });
    // A long handler tells JetStream it is still working, so ack_wait can stay short and a dead
    // worker's message is handed on quickly.
    const heartbeat = setInterval(() => message.working(), Math.max(options.ackWaitMs / 3, 100));
    // Reads made while handling must see the change the event describes (replica read-your-writes).
    const context = { requestId: `${options.durable}:${message.seq}`, minLsn: decodeLsns(message.headers?.get(EVENT_LSN_HEADER)) };
    try {
      await runWithRequestContext(context, () => options.handle(message));
      message.ack();
      handled.inc({ consumer: options.durable, outcome: "ack" });
    } catch (error) {
      await settleFailure(message, error, options);
    } finally {
      clearInterval(heartbeat);
      stopTimer();
    }
  };

  let closeMessages = async () => {};
  let loop: Promise<unknown>;
  if (options.pullWhenFree) {
    const worker = async () => {
      while (!stopping) {
        const message = await consumer.next({ expires: PULL_EXPIRES_MS }).catch(async (error: unknown) => {
          logger.warn({ err: error, consumer: options.durable }, "pull failed; trying again");
          await new Promise((resolve) => setTimeout(resolve, PULL_EXPIRES_MS));
          return null;
        });
        if (!message) continue;
        // Stopping: hand it straight to another replica rather than start it now.
        if (stopping) message.nak();
        else await process(message);
      }
    };
    loop = Promise.all(Array.from({ length: options.concurrency }, worker));
  } else {
    const messages = await consumer.consume({ max_messages: options.concurrency, expires: CONSUME_EXPIRES_MS });
    closeMessages = async () => void (await messages.close().catch(() => undefined));
    loop = (async () => {
      for await (const message of messages) {
        const task = process(message).finally(() => inFlight.delete(task));
        inFlight.add(task);
        if (inFlight.size >= options.concurrency) await Promise.race(inFlight);
      }
    })();
  }

  const lagTimer = setInterval(() => {
    consumer.info(true).then(
      (info) => pending.set({ consumer: options.durable }, info.num_pending),
      () => undefined,
    );
  }, LAG_POLL_MS);

  return {
    stop: async () => {
      clearInterval(lagTimer);
      stopping = true;
      await closeMessages();
      await loop.catch(() => undefined);
      await Promise.allSettled(inFlight);
    },
  };
}

async function settleFailure(message: JsMsg, error: unknown, options: DurableConsumerOptions): Promise<void> {
  const deliveries = message.info.redeliveryCount;
  const poison = error instanceof PoisonMessage;
  if (poison || deliveries >= options.maxDeliver) {
    options.logger.error(
      { err: error, subject: message.subject, seq: message.seq, deliveries },
      poison ? "poison message terminated" : "message dead-lettered after max deliveries",
    );
    await deadLetter(message, options, error).catch((dlqError: unknown) =>
      options.logger.error({ err: dlqError }, "dead-letter publish failed"),
    );
    message.term();
    handled.inc({ consumer: options.durable, outcome: "term" });
    return;
  }
  options.logger.warn({ err: error, subject: message.subject, seq: message.seq, deliveries }, "message failed; will be redelivered");
  message.nak(Math.min(NAK_BASE_DELAY_MS * 2 ** (deliveries - 1), NAK_MAX_DELAY_MS));
  handled.inc({ consumer: options.durable, outcome: "nak" });
}

async function deadLetter(message: JsMsg, options: DurableConsumerOptions, error: unknown): Promise<void> {
  const hdrs = natsHeaders();
  hdrs.set("Fanfare-Original-Subject", message.subject);
  hdrs.set("Fanfare-Original-Seq", String(message.seq));
  hdrs.set("Fanfare-Error", String(error instanceof Error ? error.message : error).slice(0, 200));
  await options.nats.jetstream().publish(`deadletter.${options.stream.name}.${options.durable}`, message.data, { headers: hdrs });
}

/** Adds the durable consumer, or brings an existing one's limits up to date keeping its position. */
async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
): Promise<void> {
  const durable = config.durable_name;
  const exists = await jsm.consumers.info(stream, durable).then(
    () => true,
    (error: unknown) => {
      if (error instanceof Error && /consumer not found/i.test(error.message)) return false;
      throw error; // an election, not an answer: the caller retries
    },
  );
  if (exists) {
    const { durable_name: _, deliver_policy: __, filter_subject: ___, ...updatable } = config;
    await jsm.consumers.update(stream, durable, updatable);
    return;
  }
  await jsm.consumers.add(stream, config).catch(async (error: unknown) => {
    // Another replica added it first.
    const added = await jsm.consumers.info(stream, durable).then(
      () => true,
      () => false,
    );
    if (!added) throw error;
  });
}
