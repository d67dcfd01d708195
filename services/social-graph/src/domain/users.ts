import { invalidArgument, requireText } from "@fanfare/runtime";

/** What a user may say about themselves, and how long it may be (characters). */
export const PROFILE_RULES = {
  firstName: { min: 1, max: 100 },
  secondName: { min: 1, max: 100 },
  biography: { min: 0, max: 2000 },
  city: { min: 0, max: 100 },
  password: { min: 1, max: 256 },
} as const;

/** Oldest birthdate accepted; anything before is a typo, not a person. */
const EARLIEST_BIRTHDATE = "1900-01-01";

export interface NewUser {
  firstName: string;
  secondName: string;
  birthdate: string | null;
  biography: string;
  city: string;
  password: string;
}

export function validateNewUser(input: NewUser, today = new Date()): NewUser {
  return {
    firstName: requireText(input.firstName, "first_name", PROFILE_RULES.firstName).trim(),
    secondName: requireText(input.secondName, "second_name", PROFILE_RULES.secondName).trim(),
    birthdate: input.birthdate ? validateBirthdate(input.birthdate, today) : null,
    biography: requireText(input.biography, "biography", PROFILE_RULES.biography),
    city: requireText(input.city, "city", PROFILE_RULES.city).trim(),
    password: requireText(input.password, "password", PROFILE_RULES.password),
  };
}

/** A real calendar day in YYYY-MM-DD, not in the future and not before 1900. */
export function validateBirthdate(value: string, today = new Date()): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const date = match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : undefined;
  if (!date || date.toISOString().slice(0, 10) !== value) throw invalidArgument("birthdate must be a date in YYYY-MM-DD format");
  if (value < EARLIEST_BIRTHDATE || date.getTime() > today.getTime()) {
    throw invalidArgument(`birthdate must be between ${EARLIEST_BIRTHDATE} and today`);
  }
  return value;
}

/** Search results per page: enough for a people picker, small enough to stay an index range scan. */
export const SEARCH_DEFAULT_LIMIT = 50;
export const SEARCH_MAX_LIMIT = 100;
/** A search term longer than any name is a mistake or an attack. */
const SEARCH_PREFIX_MAX = 100;

/** Turns a user's prefix into a LIKE pattern that matches it literally: `%`, `_` and `\` are escaped. */
export function prefixPattern(prefix: string, field: string): string {
  requireText(prefix, field, { min: 0, max: SEARCH_PREFIX_MAX });
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function requireDifferentUsers(userId: string, friendId: string): void {
  if (userId === friendId) throw invalidArgument("a user cannot befriend themselves");
}
