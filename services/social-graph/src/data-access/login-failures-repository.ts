import type { DatabaseRouter } from "@fanfare/runtime/postgres";

export interface FailureKeys {
  account: string;
  address: string;
}

/** Login attempts per account and per address that did not succeed, counted in fixed windows of `windowSeconds`. */
export class LoginFailuresRepository {
  constructor(
    private readonly db: DatabaseRouter,
    private readonly windowSeconds: number,
  ) {}

  /**
   * Counts an attempt for each key before its password is checked, in one statement, so concurrent
   * attempts cannot all pass a limit check first: returns each key's count in its window (including
   * this one) and the seconds until that window ends. A success gives the attempt back (forgive).
   */
  async reserve(keys: Partial<FailureKeys>): Promise<{ scope: keyof FailureKeys; failures: number; secondsLeft: number }[]> {
    const entries = Object.entries(keys).filter(([, key]) => key);
    if (entries.length === 0) return [];
    const { rows } = await this.db.write<{ scope: keyof FailureKeys; failures: number; seconds_left: number }>(
      `INSERT INTO login_failures (scope, key, failures)
       SELECT scope, key, 1 FROM unnest($1::text[], $2::text[]) AS k(scope, key)
       ON CONFLICT (scope, key) DO UPDATE SET
         failures = CASE WHEN login_failures.window_started > now() - make_interval(secs => $3) THEN login_failures.failures + 1 ELSE 1 END,
         window_started = CASE WHEN login_failures.window_started > now() - make_interval(secs => $3) THEN login_failures.window_started ELSE now() END
       RETURNING scope, failures, extract(epoch FROM window_started + make_interval(secs => $3) - now())::float8 AS seconds_left`,
      [entries.map(([scope]) => scope), entries.map(([, key]) => key), this.windowSeconds],
    );
    return rows.map((row) => ({ scope: row.scope, failures: row.failures, secondsLeft: row.seconds_left }));
  }

  /** A successful login: the account's count starts over, and the address gets its reserved attempt back. */
  async forgive(keys: FailureKeys): Promise<void> {
    await this.db.write(
      `WITH account AS (DELETE FROM login_failures WHERE scope = 'account' AND key = $1)
       UPDATE login_failures SET failures = greatest(failures - 1, 0) WHERE scope = 'address' AND key = $2`,
      [keys.account, keys.address],
    );
  }
}
