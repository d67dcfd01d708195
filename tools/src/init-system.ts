// init-system: fills a running Fanfare with generated people through its REST API, as the original
// system's initialize_system.py did. People (Russian locale) register, log in and look at their feed;
// then, interleaved and concurrently, each follows 0..N random others and writes 0..M posts; then one
// user's feed is read back (offset=0, limit=2).
//
//   npm run init-system -- --users 40 [--max-friends 20] [--max-posts 10] [--seed 1] [--url http://localhost:8083]
import { parseArgs } from "node:util";
import { fakerRU as faker } from "@faker-js/faker";
import cliProgress from "cli-progress";

/** Requests in flight at once: enough to be quick, few enough not to drown a laptop's mesh. */
const CONCURRENCY = 16;
/** A post is 1..1000 characters; faker paragraphs are cut to fit. */
const POST_MAX_CHARS = 1000;

interface Options {
  users: number;
  maxFriends: number;
  maxPosts: number;
  seed: number | undefined;
  url: string;
}

interface Person {
  id: string;
  token: string;
  password: string;
  name: string;
}

class Stats {
  readonly counts = { users: 0, friendships: 0, posts: 0 };
  readonly errors: string[] = [];
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      users: { type: "string", default: "40" },
      "max-friends": { type: "string", default: "20" },
      "max-posts": { type: "string", default: "10" },
      seed: { type: "string" },
      url: { type: "string", default: process.env.FANFARE_URL ?? "http://localhost:8083" },
    },
  });
  const whole = (name: string, value: string | undefined, min: number) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number >= ${min}`);
    return n;
  };
  return {
    users: whole("users", values.users, 1),
    maxFriends: whole("max-friends", values["max-friends"], 0),
    maxPosts: whole("max-posts", values["max-posts"], 0),
    seed: values.seed === undefined ? undefined : whole("seed", values.seed, 0),
    url: values.url.replace(/\/$/, ""),
  };
}

async function call(options: Options, path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<unknown> {
  const response = await fetch(`${options.url}${path}`, {
    method: init.method ?? "GET",
    headers: { "content-type": "application/json", ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${response.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Runs `work` over `items`, at most CONCURRENCY at a time, ticking the bar; failures are counted, not thrown. */
async function forEachBounded<T>(items: T[], bar: cliProgress.SingleBar, stats: Stats, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item).catch((error: unknown) => stats.errors.push((error as Error).message));
      bar.increment();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** Everything random is drawn here, up front, so a seed gives the same data set whatever the timing. */
function plan(options: Options) {
  if (options.seed !== undefined) faker.seed(options.seed);
  const people = Array.from({ length: options.users }, () => {
    const sex = faker.person.sexType();
    return {
      first_name: faker.person.firstName(sex),
      second_name: faker.person.lastName(sex),
      birthdate: faker.date.birthdate({ min: 16, max: 80, mode: "age" }).toISOString().slice(0, 10),
      biography: faker.person.bio(),
      city: faker.location.city(),
      password: faker.internet.password({ length: 12 }),
    };
  });
  // Rule: each user follows 0..max-friends others, chosen uniformly at random without repeats.
  const follows = people.map((_, i) => {
    const count = faker.number.int({ min: 0, max: Math.min(options.maxFriends, options.users - 1) });
    const others = people.map((__, j) => j).filter((j) => j !== i);
    return faker.helpers.arrayElements(others, count);
  });
  const posts = people.map(() =>
    Array.from({ length: faker.number.int({ min: 0, max: options.maxPosts }) }, () =>
      faker.lorem.paragraph({ min: 1, max: 4 }).slice(0, POST_MAX_CHARS),
    ),
  );
  return { people, follows, posts };
}

async function main(): Promise<void> {
  const options = readOptions();
  const started = Date.now();
  const stats = new Stats();
  const { people, follows, posts } = plan(options);
  const bars = new cliProgress.MultiBar(
    { format: "{phase} [{bar}] {value}/{total}", hideCursor: true, noTTYOutput: !process.stdout.isTTY, notTTYSchedule: 2000 },
    cliProgress.Presets.shades_classic,
  );

  const registered = new Array<Person | undefined>(people.length);
  const register = bars.create(people.length, 0, { phase: "register + login" });
  await forEachBounded([...people.keys()], register, stats, async (i) => {
    const profile = people[i]!;
    const { user_id } = (await call(options, "/user/register", { method: "POST", body: profile })) as { user_id: string };
    const { token } = (await call(options, "/login", { method: "POST", body: { id: user_id, password: profile.password } })) as {
      token: string;
    };
    registered[i] = { id: user_id, token, password: profile.password, name: `${profile.first_name} ${profile.second_name}` };
    // A person who logs in looks at the feed: that makes the timeline cached, so what follows fans out into it.
    await call(options, "/post/feed?offset=0&limit=10", { token });
    stats.counts.users++;
  });

  // Follows and posts interleaved, as people act at once: the concurrent burst the feed must keep right.
  const follow = follows.flatMap((targets, i) => targets.map((j) => ({ kind: "follow" as const, i, j })));
  const write = posts.flatMap((texts, i) => texts.map((text) => ({ kind: "post" as const, i, text })));
  const actions = faker.helpers
    .shuffle([...follow, ...write])
    .filter((action) => registered[action.i] && (action.kind === "post" || registered[action.j]));
  const activity = bars.create(actions.length, 0, { phase: "follows + posts " });
  await forEachBounded(actions, activity, stats, async (action) => {
    if (action.kind === "follow") {
      await call(options, `/friend/set/${registered[action.j]!.id}`, { method: "PUT", token: registered[action.i]!.token });
      stats.counts.friendships++;
    } else {
      await call(options, "/post/create", { method: "POST", token: registered[action.i]!.token, body: { text: action.text } });
      stats.counts.posts++;
    }
  });
  bars.stop();

  await showOneFeed(options, registered, follows, posts);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `\nsummary: ${stats.counts.users} users, ${stats.counts.friendships} friendships, ${stats.counts.posts} posts, ${stats.errors.length} errors, ${seconds}s`,
  );
  const sample = registered.find(Boolean);
  if (sample) console.log(`log in as: {"id": "${sample.id}", "password": "${sample.password}"}  (${sample.name})`);
  for (const error of stats.errors.slice(0, 10)) console.error(`error: ${error}`);
  if (stats.errors.length > 0) process.exitCode = 1;
}

/** Reads the feed of the first user who follows someone with posts, newest two, as the original did. */
async function showOneFeed(options: Options, registered: (Person | undefined)[], follows: number[][], posts: string[][]): Promise<void> {
  const reader = registered.findIndex((person, i) => person && follows[i]!.some((j) => posts[j]!.length > 0 && registered[j]));
  if (reader < 0) {
    console.log("\nno user follows anyone who posted; no feed to show");
    return;
  }
  // The feed fills through events; give the fan-out a moment before concluding it is empty.
  let feed: { id: string; text: string; author_user_id: string }[] = [];
  for (let attempt = 0; attempt < 50 && feed.length < 2; attempt++) {
    feed = (await call(options, "/post/feed?offset=0&limit=2", { token: registered[reader]!.token })) as typeof feed;
    if (feed.length < 2) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  console.log(`\nfeed of ${registered[reader]!.name} (${registered[reader]!.id}), offset=0 limit=2:`);
  console.log(JSON.stringify(feed, null, 2));
}

main().catch((error: unknown) => {
  console.error(`init-system: ${(error as Error).message}`);
  process.exit(1);
});
