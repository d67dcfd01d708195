export interface CelebrityRule {
  threshold: number;
  hysteresisPercent: number;
}

/**
 * Whether a user with `followers` followers is a celebrity: from the threshold up; a celebrity stays
 * one until the count falls below the threshold less the hysteresis.
 */
export function isCelebrity(wasCelebrity: boolean, followers: number, rule: CelebrityRule): boolean {
  if (followers >= rule.threshold) return true;
  const keepUntil = Math.ceil(rule.threshold * (1 - rule.hysteresisPercent / 100));
  return wasCelebrity && followers >= keepUntil;
}
