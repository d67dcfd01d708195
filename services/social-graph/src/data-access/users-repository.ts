import { v7 as uuidv7 } from "uuid";
import { type DatabaseRouter, idempotentTransaction, jsonResult } from "@fanfare/runtime/postgres";

export interface UserRow {
  id: string;
  first_name: string;
  second_name: string;
  birthdate: string | null;
  biography: string;
  city: string;
  follower_count: number;
  friend_count: number;
  celebrity: boolean;
  created_at: Date;
}

/** A validated profile with its password already hashed. */
export interface NewUserRow {
  firstName: string;
  secondName: string;
  birthdate: string | null;
  biography: string;
  city: string;
  passwordHash: string;
}

const USER_COLUMNS = "id, first_name, second_name, birthdate, biography, city, follower_count, friend_count, celebrity, created_at";

export class UsersRepository {
  constructor(private readonly db: DatabaseRouter) {}

  /** Once per idempotency key; the password stays out of the request fingerprint (a fast hash of it would leak it). */
  insert(user: NewUserRow): Promise<UserRow> {
    const { passwordHash, ...profile } = user;
    return idempotentTransaction(this.db, "users.register", profile, jsonResult<UserRow>(), async (client) => {
      const { rows } = await client.query<UserRow>(
        `INSERT INTO users (id, first_name, second_name, birthdate, biography, city, password_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${USER_COLUMNS}`,
        [uuidv7(), user.firstName, user.secondName, user.birthdate, user.biography, user.city, passwordHash],
      );
      return rows[0]!;
    });
  }

  async findById(id: string): Promise<UserRow | undefined> {
    const { rows } = await this.db.read<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id], { expectRows: 1 });
    return rows[0];
  }

  async findByIds(ids: string[]): Promise<UserRow[]> {
    const { rows } = await this.db.read<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = ANY($1::uuid[])`, [ids], {
      expectRows: ids.length,
    });
    return rows;
  }

  async celebrities(): Promise<string[]> {
    const { rows } = await this.db.read<{ id: string }>("SELECT id FROM users WHERE celebrity ORDER BY id", []);
    return rows.map((row) => row.id);
  }

  async passwordHash(id: string): Promise<string | undefined> {
    // A user who has just registered logs in at once: a miss on the replica is asked of the leader.
    const { rows } = await this.db.read<{ password_hash: string }>("SELECT password_hash FROM users WHERE id = $1", [id], {
      expectRows: 1,
    });
    return rows[0]?.password_hash;
  }

  /** Both patterns are LIKE patterns already escaped; the query walks users_name_prefix in order. */
  async searchByNamePrefixes(firstNamePattern: string, lastNamePattern: string, limit: number): Promise<UserRow[]> {
    const { rows } = await this.db.read<UserRow>(
      `SELECT ${USER_COLUMNS} FROM users
       WHERE lower(first_name) COLLATE "C" LIKE lower($1) AND lower(second_name) COLLATE "C" LIKE lower($2)
       ORDER BY lower(first_name) COLLATE "C", lower(second_name) COLLATE "C", id
       LIMIT $3`,
      [firstNamePattern, lastNamePattern, limit],
    );
    return rows;
  }
}
