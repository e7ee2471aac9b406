/**
 * Node-only parts of the sdk (kept out of browser bundles): the payer's
 * state in a file.
 */
import { open, readFile, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { decodeState, encodeState } from "./codec.js";
import { applyWrite, type PayerState, type PayerStore, type Write } from "./store.js";

const locks = new Map<string, Promise<unknown>>();

/**
 * The payer's state in one JSON file (mode 0600: it holds session-key
 * seeds). Each write reads the file, applies the write under the store
 * rules, writes a temporary file, fsyncs it, renames it over the old one
 * and fsyncs the directory: all or nothing, durable when it resolves.
 * Writes from this process are serialized per path; one process per file.
 */
export class FileStore implements PayerStore {
  constructor(readonly path: string) {}

  async load(): Promise<PayerState> {
    try {
      return decodeState(await readFile(this.path, "utf8"));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return { channels: [], spent: [] };
      throw new Error(`cannot read the payer state ${this.path}: ${(e as Error).message}`, { cause: e });
    }
  }

  write(write: Write): Promise<void> {
    const run = (locks.get(this.path) ?? Promise.resolve()).then(() => this.writeNow(write));
    locks.set(this.path, run.catch(() => undefined));
    return run;
  }

  private async writeNow(write: Write): Promise<void> {
    const text = encodeState(applyWrite(await this.load(), write));
    const temp = `${this.path}.tmp`;
    const file = await open(temp, "w", 0o600);
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, this.path);
    const dir = await open(dirname(this.path), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
