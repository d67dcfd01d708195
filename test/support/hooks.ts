import { stopSharedMesh } from "./mesh.js";

/** Mocha root hooks (loaded with --require): stop the shared mesh once every file has run. */
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(30_000);
    await stopSharedMesh();
  },
};
