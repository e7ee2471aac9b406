/**
 * Every payer store passes the same conformance suite (`STORE_CHECKS`):
 * the memory store, the file store, and the IndexedDB store (on
 * `fake-indexeddb` here; on the browser's own in the Chromium test). And a
 * malformed or foreign state file is refused with the field it names.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { IDBFactory } from "fake-indexeddb";
import { IndexedDbStore, MemoryStore, StorageUnavailable } from "../src/index.js";
import { FileStore } from "../src/node.js";
import { STORE_CHECKS, type StoreUnderTest } from "../src/testing.js";

const backends: Record<string, () => Promise<StoreUnderTest>> = {
  memory: async () => {
    const store = new MemoryStore();
    return { store, reopen: async () => store };
  },
  file: async () => {
    const path = join(mkdtempSync(join(tmpdir(), "micropay-store-")), "payer.json");
    return { store: new FileStore(path), reopen: async () => new FileStore(path) };
  },
  indexeddb: async () => {
    const factory = new IDBFactory();
    return { store: await IndexedDbStore.open("t", factory), reopen: () => IndexedDbStore.open("t", factory) };
  },
};

for (const [backend, make] of Object.entries(backends)) {
  for (const check of STORE_CHECKS) {
    test(`${backend} store: ${check.name}`, () => check.run(make));
  }
}

test("a malformed state file is refused, naming what is wrong", async () => {
  const dir = mkdtempSync(join(tmpdir(), "micropay-store-"));
  const cases: [string, RegExp][] = [
    ["not json", /cannot read the payer state .*payer\.json/],
    [JSON.stringify({ version: 9 }), /version 9: this sdk reads 1/],
    [JSON.stringify({ version: 1, channels: [{ channel: "x" }] }), /channels\[0\]\.escrow: missing/],
    [JSON.stringify({ version: 1, spent: [{ origin: "o", mint: "m", amount: "-1" }] }), /spent\[0\]\.amount: not a decimal amount/],
  ];
  for (const [text, error] of cases) {
    const path = join(dir, "payer.json");
    writeFileSync(path, text);
    await assert.rejects(new FileStore(path).load(), error);
    // and nothing is written over it
    await assert.rejects(new FileStore(path).write({}), error);
  }
});

test("a file store refuses a WebCrypto-only key rather than lose it", async () => {
  const path = join(mkdtempSync(join(tmpdir(), "micropay-store-")), "payer.json");
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"])) as CryptoKeyPair;
  const record = {
    channel: "11111111111111111111111111111112",
    escrow: "11111111111111111111111111111112",
    owner: "11111111111111111111111111111112",
    creator: "11111111111111111111111111111112",
    mint: "11111111111111111111111111111112",
    nonce: 1n,
    allocation: 1n,
    cumulative: 0n,
    key: { pair, address: "11111111111111111111111111111112" },
  } as never;
  await assert.rejects(new FileStore(path).write({ channels: [{ record, expected: null }] }), /WebCrypto key cannot be written/);
  assert.deepEqual(await new FileStore(path).load(), { channels: [], spent: [] });
});

test("no IndexedDB (private mode, a worker without it) is a clear error", async () => {
  await assert.rejects(IndexedDbStore.open("t", undefined as never), (e) => e instanceof StorageUnavailable && e.reason === "unavailable");
});
