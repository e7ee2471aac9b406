/**
 * The payer's state in the browser's IndexedDB: channels (with their
 * session keys as WebCrypto key pairs whose private half cannot be read
 * back, or seeds where the platform lacks WebCrypto Ed25519) and spending.
 * A write is one `readwrite` transaction with `durability: "strict"` over
 * both object stores, checking the store rules inside it: all or nothing,
 * on disk when it resolves, and tabs sharing the database see each other's
 * reservations.
 */
import type { Address } from "@solana/kit";
import { checkChannel, spentAfter, spentKey, StoreConflict, type ChannelRecord, type PayerState, type PayerStore, type SpentRecord, type Write } from "./store.js";

const CHANNELS = "channels";
const SPENT = "spent";

/** The browser refused to store (its quota for this site is used up, or storage is off). */
export class StorageUnavailable extends Error {
  constructor(
    readonly reason: "quota" | "unavailable",
    options?: { cause?: unknown },
  ) {
    super(
      reason === "quota"
        ? "the browser's storage for this site is full: free some (or allow more) before paying"
        : "the browser's storage is not available here (private mode or blocked): micropay cannot keep its vouchers",
      options,
    );
    this.name = "StorageUnavailable";
  }
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function unavailable(e: unknown): unknown {
  if (e instanceof StoreConflict || e instanceof StorageUnavailable) return e;
  const name = (e as DOMException | undefined)?.name;
  if (name === "QuotaExceededError") return new StorageUnavailable("quota", { cause: e });
  if (name === "InvalidStateError" || name === "SecurityError" || name === "UnknownError") return new StorageUnavailable("unavailable", { cause: e });
  return e;
}

/** The payer's IndexedDB store. */
export class IndexedDbStore implements PayerStore {
  private constructor(private readonly db: IDBDatabase) {}

  /** Opens (or creates) the database `name` of `factory` (the page's `indexedDB` unless told). */
  static async open(name = "micropay-payer", factory: IDBFactory = globalThis.indexedDB): Promise<IndexedDbStore> {
    if (!factory) throw new StorageUnavailable("unavailable");
    const req = factory.open(name, 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore(CHANNELS, { keyPath: "channel" });
      req.result.createObjectStore(SPENT);
    };
    try {
      return new IndexedDbStore(await request(req));
    } catch (e) {
      throw unavailable(e);
    }
  }

  /** Closes the database (a page going away; tests reopening it). */
  close(): void {
    this.db.close();
  }

  async load(): Promise<PayerState> {
    const tx = this.db.transaction([CHANNELS, SPENT], "readonly");
    const [channels, spent] = await Promise.all([
      request(tx.objectStore(CHANNELS).getAll() as IDBRequest<ChannelRecord[]>),
      request(tx.objectStore(SPENT).getAll() as IDBRequest<SpentRecord[]>),
    ]);
    return { channels, spent };
  }

  async write(write: Write): Promise<void> {
    let tx: IDBTransaction;
    try {
      tx = this.db.transaction([CHANNELS, SPENT], "readwrite", { durability: "strict" });
    } catch (e) {
      throw unavailable(e);
    }
    const done = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx.error);
      tx.onerror = () => reject(tx.error);
    });
    done.catch(() => undefined);
    try {
      await this.apply(tx, write);
    } catch (e) {
      tx.abort();
      throw unavailable(e);
    }
    try {
      await done;
    } catch (e) {
      throw unavailable(e);
    }
  }

  /** The checks and puts of `write`, inside `tx` (a refusal throws; the caller aborts). */
  private async apply(tx: IDBTransaction, write: Write): Promise<void> {
    const channels = tx.objectStore(CHANNELS);
    for (const w of write.channels ?? []) {
      checkChannel(await request(channels.get(w.record.channel) as IDBRequest<ChannelRecord | undefined>), w);
      await request(channels.put(w.record));
    }
    for (const gone of write.removed ?? []) await request(channels.delete(gone as Address));
    const spent = tx.objectStore(SPENT);
    for (const s of write.spend ?? []) {
      const key = spentKey(s.origin, s.mint);
      const now = await request(spent.get(key) as IDBRequest<SpentRecord | undefined>);
      await request(spent.put(spentAfter(now, s), key));
    }
  }
}
