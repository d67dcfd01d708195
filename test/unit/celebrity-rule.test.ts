import { expect } from "chai";
import { isCelebrity } from "@fanfare/social-graph/domain/celebrity.js";

describe("social-graph: the celebrity rule", () => {
  const rule = { threshold: 100, hysteresisPercent: 10 };

  it("makes a user a celebrity from the threshold up, and never below it", () => {
    expect(isCelebrity(false, 99, rule)).to.equal(false);
    expect(isCelebrity(false, 100, rule)).to.equal(true);
    expect(isCelebrity(false, 5_000_000, rule)).to.equal(true);
    expect(isCelebrity(false, 95, rule), "the hysteresis band does not promote").to.equal(false);
  });

  it("keeps a celebrity one down to the threshold less the hysteresis, then clears the flag", () => {
    expect(isCelebrity(true, 99, rule)).to.equal(true);
    expect(isCelebrity(true, 90, rule)).to.equal(true);
    expect(isCelebrity(true, 89, rule)).to.equal(false);
    expect(isCelebrity(true, 0, rule)).to.equal(false);
  });

  it("without hysteresis flips at the threshold both ways", () => {
    const strict = { threshold: 100, hysteresisPercent: 0 };
    expect(isCelebrity(true, 99, strict)).to.equal(false);
    expect(isCelebrity(true, 100, strict)).to.equal(true);
  });

  it("rounds the lower bound up, so a fraction of a follower never keeps the flag", () => {
    const odd = { threshold: 15, hysteresisPercent: 10 }; // 13.5 -> 14
    expect(isCelebrity(true, 14, odd)).to.equal(true);
    expect(isCelebrity(true, 13, odd)).to.equal(false);
  });
});
