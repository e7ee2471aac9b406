/**
 * For tests, in Node and in a browser: a real Wallet Standard wallet backed
 * by a key (what a test page registers instead of Phantom), and the
 * conformance suite every `PayerStore` backend passes.
 */
import { createSolanaRpc, getAddressEncoder, getTransactionDecoder, getTransactionEncoder, type Address } from "@solana/kit";
import {
  SolanaSignMessage,
  SolanaSignTransaction,
  type SolanaSignMessageFeature,
  type SolanaSignMessageInput,
  type SolanaSignTransactionFeature,
  type SolanaSignTransactionInput,
} from "@solana/wallet-standard-features";
import type { IdentifierString, Wallet, WalletAccount, WalletIcon } from "@wallet-standard/base";
import { keyFromSeed, type Ed25519Key } from "./ed25519.js";
import { StoreConflict, TOTAL, type ChannelRecord, type PayerStore } from "./store.js";

const ICON: WalletIcon = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAxIDEiLz4=";

/** A user rejected a wallet request (the error real wallets throw, code 4001). */
export class UserRejected extends Error {
  readonly code = 4001;
  constructor() {
    super("User rejected the request.");
    this.name = "UserRejected";
  }
}

/**
 * A Wallet Standard wallet holding one key: `solana:signTransaction` (legacy
 * and v0), `solana:signMessage`, `standard:connect`, `standard:events`. It
 * counts what it was asked (`asked`), and refuses everything while
 * `refusing` is set, as a user clicking "Reject".
 */
export class KeypairWallet implements Wallet {
  readonly version = "1.0.0" as const;
  readonly name: string;
  readonly icon = ICON;
  readonly chains: IdentifierString[];
  readonly accounts: WalletAccount[];
  readonly asked = { transactions: 0, messages: 0 };
  refusing = false;
  readonly features: Wallet["features"];

  private constructor(
    private readonly key: Ed25519Key,
    publicKey: Uint8Array,
    name: string,
    chains: IdentifierString[],
  ) {
    this.name = name;
    this.chains = chains;
    const features = [SolanaSignTransaction, SolanaSignMessage] as IdentifierString[];
    this.accounts = [{ address: key.address, publicKey, chains, features }];
    const signTransaction: SolanaSignTransactionFeature = {
      [SolanaSignTransaction]: { version: "1.0.0", supportedTransactionVersions: ["legacy", 0], signTransaction: (...i) => this.signTransactions(i) },
    };
    const signMessage: SolanaSignMessageFeature = {
      [SolanaSignMessage]: { version: "1.1.0", signMessage: (...i) => this.signMessages(i) },
    };
    this.features = {
      "standard:connect": { version: "1.0.0", connect: async () => ({ accounts: this.accounts }) },
      "standard:events": { version: "1.0.0", on: () => () => {} },
      ...signTransaction,
      ...signMessage,
    };
  }

  /** The wallet of the Ed25519 key with `seed`. */
  static async fromSeed(seed: Uint8Array, name = "micropay test wallet", chains: IdentifierString[] = ["solana:localnet"]) {
    const key = await keyFromSeed(seed);
    return new KeypairWallet(key, new Uint8Array(getAddressEncoder().encode(key.address)), name, chains);
  }

  get address(): Address {
    return this.key.address;
  }

  private async signTransactions(inputs: readonly SolanaSignTransactionInput[]) {
    this.asked.transactions++;
    if (this.refusing) throw new UserRejected();
    return Promise.all(
      inputs.map(async ({ transaction }) => {
        const tx = getTransactionDecoder().decode(transaction);
        const signature = await this.key.sign(new Uint8Array(tx.messageBytes));
        const signed = { ...tx, signatures: { ...tx.signatures, [this.key.address]: signature } };
        return { signedTransaction: new Uint8Array(getTransactionEncoder().encode(signed as never)) };
      }),
    );
  }

  private async signMessages(inputs: readonly SolanaSignMessageInput[]) {
    this.asked.messages++;
    if (this.refusing) throw new UserRejected();
    return Promise.all(
      inputs.map(async ({ message }) => ({ signedMessage: message, signature: await this.key.sign(message) })),
    );
  }
}

/**
 * Moves the clock of the local node at `rpcUrl` (`micropay node`:
 * surfpool's `surfnet_timeTravel` cheat code) to `unix` seconds, and waits
 * until its blocks carry it.
 */
export async function travelTo(rpcUrl: string, unix: bigint): Promise<void> {
  const body = { jsonrpc: "2.0", id: 1, method: "surfnet_timeTravel", params: [{ absoluteTimestamp: Number(unix) * 1000 }] };
  const response = await fetch(rpcUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`the node refused to move its clock (${response.status})`);
  const rpc = createSolanaRpc(rpcUrl);
  for (let i = 0; i < 200; i++) {
    const time = await rpc.getBlockTime(await rpc.getSlot().send()).send().catch(() => null);
    if (time !== null && BigInt(time) >= unix) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("the clock did not move");
}

/** A store under test, and the same backing opened again (as after a reload). */
export interface StoreUnderTest {
  store: PayerStore;
  reopen(): Promise<PayerStore>;
}

const A = "11111111111111111111111111111112" as Address;
const MINT = "So11111111111111111111111111111111111111112" as Address;

function record(channel: Address, cumulative: bigint): ChannelRecord {
  return {
    channel,
    escrow: A,
    owner: A,
    creator: A,
    mint: MINT,
    nonce: 0xffff_ffff_ffff_ffffn,
    allocation: 1_000n,
    cumulative,
    pending: { amount: cumulative, signature: new Uint8Array(64).fill(7) },
    key: { seed: new Uint8Array(32).fill(9) },
  };
}

async function conflict(write: Promise<void>, kind: StoreConflict["kind"]): Promise<void> {
  try {
    await write;
  } catch (e) {
    if (e instanceof StoreConflict && e.kind === kind) return;
    throw new Error(`expected StoreConflict ${kind}, got ${String(e)}`);
  }
  throw new Error(`expected StoreConflict ${kind}, the write went through`);
}

function same(a: unknown, b: unknown, what: string): void {
  const text = (v: unknown) => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? `${x}n` : x instanceof Uint8Array ? [...x] : x));
  if (text(a) !== text(b)) throw new Error(`${what}: ${text(a)} != ${text(b)}`);
}

/** The rules every store keeps (see `store.ts`), each a named check. */
export const STORE_CHECKS: { name: string; run: (make: () => Promise<StoreUnderTest>) => Promise<void> }[] = [
  {
    name: "a new store is empty",
    run: async (make) => same(await (await make()).store.load(), { channels: [], spent: [] }, "state"),
  },
  {
    name: "what is written reads back the same, after reopening too",
    run: async (make) => {
      const { store, reopen } = await make();
      await store.write({ channels: [{ record: record(A, 5n), expected: null }], spend: [{ origin: TOTAL, mint: MINT, delta: 5n, limit: 10n }] });
      const want = { channels: [record(A, 5n)], spent: [{ origin: TOTAL, mint: MINT, amount: 5n }] };
      same(await store.load(), want, "load");
      same(await (await reopen()).load(), want, "reopened");
    },
  },
  {
    name: "a channel that moved refuses the whole write",
    run: async (make) => {
      const { store } = await make();
      await store.write({ channels: [{ record: record(A, 5n), expected: null }] });
      const before = await store.load();
      await conflict(store.write({ channels: [{ record: record(A, 9n), expected: 4n }], spend: [{ origin: TOTAL, mint: MINT, delta: 4n }] }), "channel_moved");
      await conflict(store.write({ channels: [{ record: record(A, 9n), expected: null }] }), "channel_moved");
      same(await store.load(), before, "unchanged");
    },
  },
  {
    name: "a spend past its limit refuses the whole write; giving back never goes below zero",
    run: async (make) => {
      const { store } = await make();
      await store.write({ spend: [{ origin: "https://a.example", mint: MINT, delta: 8n, limit: 10n }] });
      await conflict(
        store.write({ channels: [{ record: record(A, 3n), expected: null }], spend: [{ origin: "https://a.example", mint: MINT, delta: 3n, limit: 10n }] }),
        "over_limit",
      );
      same((await store.load()).channels, [], "no channel written");
      await store.write({ spend: [{ origin: "https://a.example", mint: MINT, delta: 2n, limit: 10n }] });
      await store.write({ spend: [{ origin: "https://a.example", mint: MINT, delta: -20n }] });
      same((await store.load()).spent, [{ origin: "https://a.example", mint: MINT, amount: 0n }], "spent");
    },
  },
  {
    name: "of two writers expecting the same reservation, one wins",
    run: async (make) => {
      const { store, reopen } = await make();
      await store.write({ channels: [{ record: record(A, 1n), expected: null }] });
      const other = await reopen();
      const results = await Promise.allSettled([
        store.write({ channels: [{ record: record(A, 2n), expected: 1n }] }),
        other.write({ channels: [{ record: record(A, 3n), expected: 1n }] }),
      ]);
      const won = results.filter((r) => r.status === "fulfilled").length;
      if (won !== 1) throw new Error(`${won} writers won`);
      const cumulative = (await store.load()).channels[0]!.cumulative;
      if (cumulative !== 2n && cumulative !== 3n) throw new Error(`cumulative ${cumulative}`);
    },
  },
  {
    name: "a removed channel is gone",
    run: async (make) => {
      const { store } = await make();
      await store.write({ channels: [{ record: record(A, 1n), expected: null }] });
      await store.write({ removed: [A] });
      same((await store.load()).channels, [], "channels");
    },
  },
];
