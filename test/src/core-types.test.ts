/**
 * The core compiles with no ambient types (src/tsconfig.json: `types: []`, web APIs only), so no
 * Node global (`process`, `Buffer`, `setImmediate`) can slip into it unnoticed.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ROOT } from "../runtimes/runtimes.ts";

const tsc = (...args: string[]): { status: number | null; output: string } => {
  const ran = spawnSync(join(ROOT, "node_modules", ".bin", "tsc"), args, { cwd: ROOT, encoding: "utf8" });
  return { status: ran.status, output: `${ran.stdout}${ran.stderr}` };
};

describe("the core's own tsconfig", () => {
  it("src/ compiles with types: [] (web APIs only)", () => {
    const ran = tsc("-p", "src/tsconfig.json");
    assert.equal(ran.status, 0, ran.output);
  });

  it("a Node global in the core would not compile under it", () => {
    const dir = mkdtempSync(join(tmpdir(), "tenure-core-types-"));
    try {
      writeFileSync(join(dir, "leak.ts"), "export const env: unknown = process.env;\nexport const bytes: unknown = Buffer.from('x');\n");
      const config = join(dir, "tsconfig.json");
      writeFileSync(config, JSON.stringify({ extends: join(ROOT, "src", "tsconfig.json"), compilerOptions: { rootDir: dir }, include: [join(dir, "leak.ts")] }));
      const ran = tsc("-p", config);
      assert.notEqual(ran.status, 0);
      assert.match(ran.output, /Cannot find name 'process'/);
      assert.match(ran.output, /Cannot find name 'Buffer'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
