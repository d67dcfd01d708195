import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { resourceExhausted } from "@fanfare/runtime";

// scrypt parameters (OWASP's minimum for scrypt: N=2^17 would be stronger but costs 128 MiB and
// ~0.3 s per login on this hardware; N=2^15 with r=8 is 32 MiB and ~80 ms, a deliberate trade-off).
const COST = 2 ** 15;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** scrypt needs 128 * N * r bytes; allow it with headroom. */
const MAX_MEMORY = 64 * 1024 * 1024;

function derive(password: string, salt: Buffer, options: ScryptOptions, keyLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFC"), salt, keyLength, { ...options, maxmem: MAX_MEMORY }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/** Returns a self-describing hash `scrypt$N$r$p$salt$key`, so parameters can change without a migration. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, { N: COST, r: BLOCK_SIZE, p: PARALLELISM }, KEY_LENGTH);
  return ["scrypt", COST, BLOCK_SIZE, PARALLELISM, salt.toString("base64"), key.toString("base64")].join("$");
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !key) return false;
  const expected = Buffer.from(key, "base64");
  const actual = await derive(password, Buffer.from(salt, "base64"), { N: Number(n), r: Number(r), p: Number(p) }, expected.length);
  return timingSafeEqual(actual, expected);
}

/**
 * Hashing with bounded concurrency. Each scrypt run takes a core for ~80 ms and 32 MiB; unbounded,
 * 16 concurrent logins took both cores (p50 826 ms) and starved every other request. At most
 * `concurrency` run at once, at most `maxWaiting` wait, and beyond that callers are told to retry.
 */
export class PasswordHasher {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly maxWaiting: number,
  ) {}

  hash(password: string): Promise<string> {
    return this.limited(() => hashPassword(password));
  }

  verify(password: string, stored: string): Promise<boolean> {
    return this.limited(() => verifyPassword(password, stored));
  }

  private async limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.running < this.concurrency) this.running++;
    else if (this.waiting.length >= this.maxWaiting) throw resourceExhausted("too many password checks at once; retry in a moment", 1);
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter, or is given back.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
