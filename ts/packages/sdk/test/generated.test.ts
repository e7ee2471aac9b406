/**
 * The committed program client (`src/generated/`) is what Codama makes of
 * `idl/micropay.json` today: `scripts/generate.mjs` writes a fresh copy
 * into a temporary folder and every file must be the same.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const pkg = fileURLToPath(new URL("../..", import.meta.url));

function files(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((e) => {
    const path = join(dir, e);
    return statSync(path).isDirectory() ? files(path, root) : [relative(root, path)];
  });
}

test("src/generated is what Codama makes of the IDL", { timeout: 120_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), "micropay-codama-"));
  try {
    execFileSync(process.execPath, [join(pkg, "scripts/generate.mjs"), out], { stdio: "pipe" });
    const [fresh, committed] = [join(out, "src/generated"), join(pkg, "src/generated")];
    assert.deepEqual(files(committed).sort(), files(fresh).sort(), "the generated files differ: run `npm run generate` and commit");
    for (const f of files(fresh)) {
      assert.equal(readFileSync(join(committed, f), "utf8"), readFileSync(join(fresh, f), "utf8"), `src/generated/${f} is stale: run \`npm run generate\` and commit`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
