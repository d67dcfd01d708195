import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { packUuids, unpackUuids, uuidFromBytes, uuidToBytes, writeUuidBytes } from "@fanfare/runtime";
import { packTimelineMembers, postIdOfMember, timelineMember } from "@fanfare/feed/data-access/post-ids.js";

/** The plain way, the reference the table-driven codec must agree with. */
const reference = (uuid: string) => Buffer.from(uuid.replace(/-/g, ""), "hex");
const inverted = (bytes: Buffer) => Buffer.from(bytes.map((byte) => ~byte & 0xff));

describe("UUIDs as raw bytes", () => {
  const ids = [
    ...Array.from({ length: 200 }, () => randomUUID()),
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
  ];

  it("packs and unpacks every id as its RFC 9562 bytes, in order", () => {
    for (const id of ids) expect(uuidToBytes(id).equals(reference(id)), id).to.equal(true);
    const packed = packUuids(ids);
    expect(packed.equals(Buffer.concat(ids.map(reference)))).to.equal(true);
    expect(unpackUuids(packed)).to.deep.equal(ids);
    expect(uuidFromBytes(packed, 16 * 7)).to.equal(ids[7]);
    expect(unpackUuids(packed.subarray(0, 17))).to.equal(undefined);
  });

  it("reads upper-case text and refuses what is not a UUID", () => {
    const id = ids[0]!;
    expect(uuidToBytes(id.toUpperCase()).equals(reference(id))).to.equal(true);
    for (const bad of ["", id.slice(1), `${id.slice(0, 35)}g`, `${id.slice(0, 35)}é`])
      expect(() => writeUuidBytes(bad, Buffer.alloc(16), 0), bad).to.throw(TypeError);
    expect(() => uuidFromBytes(Buffer.alloc(20), 8)).to.throw(RangeError);
  });

  it("timeline members are the ids' bytes inverted, and read back as the ids", () => {
    for (const id of ids.slice(0, 20)) {
      expect(timelineMember(id).equals(inverted(reference(id))), id).to.equal(true);
      expect(postIdOfMember(timelineMember(id))).to.equal(id);
    }
    expect(packTimelineMembers(ids).equals(Buffer.concat(ids.map((id) => inverted(reference(id)))))).to.equal(true);
  });
});
