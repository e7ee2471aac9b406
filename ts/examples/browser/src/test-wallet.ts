/**
 * For tests only (never in the page's own bundle): registers a real Wallet
 * Standard wallet over a test key, as Phantom registers itself. The key's
 * seed comes from `window.__micropayTestWallet.seed` (hex); the wallet is
 * left at `window.__micropayWallet` so a test can make it refuse
 * (`refusing = true`) and count what it was asked. Built as a classic
 * script, so a test injects it before the page's own scripts run.
 *
 * `window.__micropayStoreChecks()` runs the store conformance suite on
 * this browser's own IndexedDB.
 */
import { registerWallet } from "@wallet-standard/wallet";
import { IndexedDbStore } from "@micropay/sdk";
import { KeypairWallet, STORE_CHECKS } from "@micropay/sdk/testing";

async function storeChecks() {
  const results = [];
  for (const [i, check] of STORE_CHECKS.entries()) {
    const name = `conformance-${Date.now()}-${i}`;
    const make = async () => ({ store: await IndexedDbStore.open(name), reopen: () => IndexedDbStore.open(name) });
    try {
      await check.run(make);
      results.push({ name: check.name, ok: true });
    } catch (e) {
      results.push({ name: check.name, ok: false, error: String(e) });
    }
  }
  return results;
}
Object.assign(window, { __micropayStoreChecks: storeChecks });

const config = (window as unknown as { __micropayTestWallet?: { seed: string } }).__micropayTestWallet;
// not in the blank page a tab starts with (no WebCrypto there)
if (config && location.protocol.startsWith("http")) {
  const seed = Uint8Array.from(config.seed.match(/../g)!, (b) => parseInt(b, 16));
  void KeypairWallet.fromSeed(seed, "Test Wallet").then((wallet) => {
    Object.assign(window, { __micropayWallet: wallet });
    registerWallet(wallet);
  });
}
