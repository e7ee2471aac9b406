/**
 * Writes `src/generated/` — the program client — from `idl/micropay.json`
 * with Codama (`@codama/nodes-from-anchor` + `@codama/renderers-js`).
 * `npm run generate` after the IDL changes; `test/generated.test.ts` fails
 * while the committed code is not what this writes.
 *
 * Codama's renderer writes account, instruction, type, PDA and error code
 * but not events: each event's data is added as a defined type first, so
 * its codec is generated too (`src/events.ts` reads the discriminators).
 *
 * Its relative imports name no file (`"../pdas"`); Node's ESM loader and
 * TypeScript's `nodenext` need one (`"../pdas/index.js"`), so they are
 * rewritten after rendering.
 *
 * The IDL's constants (seeds, limits, the voucher domain) are not rendered
 * by Codama: `src/generated/constants.ts` is written here.
 *
 * `node scripts/generate.mjs [OUT_DIR]` writes into another package folder
 * (the test compares that with the committed one).
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createFromRoot, definedTypeNode, resolveNestedTypeNode } from "codama";
import { rootNodeFromAnchor } from "@codama/nodes-from-anchor";
import { renderVisitor } from "@codama/renderers-js";

const here = fileURLToPath(new URL("..", import.meta.url));
const idl = JSON.parse(readFileSync(new URL("../../../../idl/micropay.json", import.meta.url), "utf8"));

const root = rootNodeFromAnchor(idl);
const eventTypes = root.program.events.map((event) =>
  definedTypeNode({ name: event.name, docs: event.docs, type: resolveNestedTypeNode(event.data) }),
);
const withEvents = {
  ...root,
  program: { ...root.program, definedTypes: [...root.program.definedTypes, ...eventTypes] },
};

const out = process.argv[2] ?? here;
await createFromRoot(withEvents).accept(renderVisitor(out, { syncPackageJson: false }));
namedImports(join(out, "src/generated"));
constants(join(out, "src/generated"));
events(join(out, "src/generated"));

/** `events.ts`: each event's discriminator and decoder, and the union of decoded events. */
function events(dir) {
  const names = idl.events.map((e) => ({ pascal: e.name, camel: e.name[0].toLowerCase() + e.name.slice(1), disc: e.discriminator }));
  const header = readFileSync(join(dir, "index.ts"), "utf8").split("*/")[0] + "*/\n\n";
  const imports = names.flatMap((n) => [`get${n.pascal}Decoder`, `type ${n.pascal}`]).join(",\n  ");
  const table = names
    .map((n) => `  ${n.camel}: { discriminator: new Uint8Array([${n.disc.join(", ")}]), decoder: get${n.pascal}Decoder() },`)
    .join("\n");
  const union = names.map((n) => `  | { name: "${n.camel}"; data: ${n.pascal} }`).join("\n");
  writeFileSync(
    join(dir, "events.ts"),
    `${header}import {\n  ${imports},\n} from "./types/index.js";\n\n` +
      `/** Each event's 8-byte discriminator (Anchor's) and its data's decoder. */\n` +
      `export const MICROPAY_EVENTS = {\n${table}\n} as const;\n\n` +
      `/** A decoded micropay event. */\nexport type MicropayEvent =\n${union};\n`,
  );
  const index = readFileSync(join(dir, "index.ts"), "utf8");
  writeFileSync(join(dir, "index.ts"), index.replace('export * from "./errors/index.js";', 'export * from "./errors/index.js";\nexport * from "./events.js";'));
}

/** `constants.ts`: each IDL constant, bytes as `Uint8Array`, numbers as `bigint` or `number`. */
function constants(dir) {
  const lines = idl.constants.map((c) => {
    const name = c.name;
    const docs = c.docs ? `/** ${c.docs.join(" ")} */\n` : "";
    return docs + constant(c, name);
  });
  function constant(c, name) {
    if (c.type === "bytes" || c.type?.array?.[0] === "u8") return `export const ${name}: ReadonlyUint8Array = new Uint8Array(${c.value});`;
    const wide = c.type === "u64" || c.type === "i64";
    return `export const ${name} = ${c.value}${wide ? "n" : ""};`;
  }
  const header = readFileSync(join(dir, "index.ts"), "utf8").split("*/")[0] + "*/\n\n";
  writeFileSync(
    join(dir, "constants.ts"),
    `${header}import type { ReadonlyUint8Array } from "@solana/kit";\n\n${lines.join("\n")}\n`,
  );
  const index = readFileSync(join(dir, "index.ts"), "utf8");
  writeFileSync(join(dir, "index.ts"), index.replace('export * from "./accounts/index.js";', 'export * from "./accounts/index.js";\nexport * from "./constants.js";'));
}

/** Rewrites every relative import under `dir` to name its `.js` file. */
function namedImports(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      namedImports(path);
      continue;
    }
    const text = readFileSync(path, "utf8").replace(/from "(\.{1,2}(?:\/[^"]*)?)"/g, (_, spec) => {
      const target = join(dirname(path), spec);
      const file = existsSync(`${target}.ts`) ? `${spec}.js` : `${spec}/index.js`;
      return `from "${file.replace("./.js", "./index.js")}"`;
    });
    writeFileSync(path, text);
  }
}
