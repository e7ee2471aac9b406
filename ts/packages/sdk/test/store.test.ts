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
import { IDBFactory, IDBObjectStore } from "fake-indexeddb";
import type { Address } from "@solana/kit";
import { IndexedDbStore, keyFromSeed, MemoryStore, Payer, StorageUnavailable } from "../src/index.js";
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

test("a full IndexedDB quota: a clear error, nothing signed, nothing counted", async () => {
  const factory = new IDBFactory();
  const store = await IndexedDbStore.open("q", factory);
  const mint = "So11111111111111111111111111111111111111112" as Address;
  const channel = "8qbHbw2BbbTHBW1sbeqakYXVKRQM8Ne7pLK7m6CVfeR" as Address;
  const key = await keyFromSeed(new Uint8Array(32).fill(1));
  const payer = await Payer.open(store, { total: { [mint]: 100n } });
  await payer.adopt({ channel, escrow: channel, owner: channel, creator: channel, mint, nonce: 1n, allocation: 100n, cumulative: 0n, key: key.stored });
  const proto = IDBObjectStore.prototype;
  const put = proto.put;
  proto.put = function () {
    throw new DOMException("quota", "QuotaExceededError");
  };
  try {
    await assert.rejects(payer.pay({ origin: "https://a.example", creator: channel, mint, price: 10n }), (e) => e instanceof StorageUnavailable && e.reason === "quota" && /full/.test(e.message));
  } finally {
    proto.put = put;
  }
  assert.equal(payer.spent(mint), 0n);
  assert.equal(payer.channels()[0]!.cumulative, 0n);
  const stored = await store.load();
  assert.equal(stored.channels[0]!.cumulative, 0n);
  assert.deepEqual(stored.spent, []);
  assert.equal((await payer.pay({ origin: "https://a.example", creator: channel, mint, price: 10n })).voucher.amount, 10n);
});
