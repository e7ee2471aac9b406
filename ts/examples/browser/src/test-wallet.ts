/**
 * For tests only (never in the page's own bundle): registers a real Wallet
 * Standard wallet over a test key, as Phantom registers itself. The key's
 * seed comes from `window.__micropayTestWallet.seed` (hex); the wallet is
 * left at `window.__micropayWallet` so a test can make it refuse
 * (`refusing = true`) and count what it was asked. Built as a classic
 * script, so a test injects it before the page's own scripts run.
 */
import { registerWallet } from "@wallet-standard/wallet";
import { KeypairWallet } from "@micropay/sdk/testing";

const config = (window as unknown as { __micropayTestWallet?: { seed: string } }).__micropayTestWallet;
// not in the blank page a tab starts with (no WebCrypto there)
if (config && location.protocol.startsWith("http")) {
  const seed = Uint8Array.from(config.seed.match(/../g)!, (b) => parseInt(b, 16));
  void KeypairWallet.fromSeed(seed, "Test Wallet").then((wallet) => {
    Object.assign(window, { __micropayWallet: wallet });
    registerWallet(wallet);
  });
}
