/**
 * The browser flow in headless Chromium (Debian's `chromium`, driven by
 * `playwright-core`), run by the Rust test `a_browser_wallet_pays_per_use`
 * against `micropay node` + `micropay serve` + an upstream serving the page
 * and the paid API: connect the test Wallet Standard wallet, create the
 * escrow, a refused approval (nothing opened), fund and open, `USES` paid
 * uses without a prompt, one more past the budget, a reload that wiped the
 * page's storage and finds the channel again from the chain, more uses,
 * close; a screenshot of the page after the last use.
 *
 * Environment: `PAGE_URL`, `WALLET_SEED` (hex), `USES`, `PRICE`,
 * `SCREENSHOT` (a PNG path), `CHROMIUM` (the browser). Prints one JSON line.
 */
import { execFileSync } from "node:child_process";
import { chromium, type Page } from "playwright-core";
import { createSolanaRpc, type Address } from "@solana/kit";
import { fetchChannel } from "@micropay/sdk";
import { travelTo } from "@micropay/sdk/testing";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
}

const USES = Number(env("USES"));
const PRICE = BigInt(env("PRICE"));
const AFTER_RELOAD = 10;

execFileSync(process.execPath, ["build.mjs"], { stdio: "inherit" });
const browser = await chromium.launch({
  executablePath: env("CHROMIUM"),
  headless: true,
  // as the machine's probe: no sandbox as root, no background connections the closed network refuses
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 900, height: 1100 } });
await context.addInitScript(`window.__micropayTestWallet = { seed: ${JSON.stringify(env("WALLET_SEED"))} };`);
await context.addInitScript({ path: "dist/test-wallet.js" });
const consoleErrors: string[] = [];
async function newPage() {
  const p = await context.newPage();
  // each paid use starts with a 402, which Chromium logs as a failed load
  p.on("console", (m) => m.type() === "error" && !m.text().includes("status of 402") && consoleErrors.push(m.text()));
  p.on("pageerror", (e) => consoleErrors.push(e.message));
  return p;
}
let page = await newPage();

type PageState = { served: number; errors: string[]; busy: boolean };
const state = () => page.evaluate(() => (window as unknown as { micropayPage: PageState }).micropayPage).then((s) => ({ served: s.served, errors: [...s.errors], busy: s.busy }));
const idle = () => page.waitForFunction(() => document.body.dataset.busy === "false" && !(window as unknown as { micropayPage: PageState }).micropayPage.busy, null, { timeout: 120_000 });
const text = (id: string) => page.locator(`#${id}`).innerText();
const asked = () => page.evaluate(() => ({ ...(window as unknown as { __micropayWallet: { asked: object } }).__micropayWallet.asked }));
const refusing = (on: boolean) => page.evaluate((v) => void ((window as unknown as { __micropayWallet: { refusing: boolean } }).__micropayWallet.refusing = v), on);

async function click(id: string) {
  await page.locator(`#${id}`).click();
  await idle();
}

async function connect(p: Page) {
  await p.locator("#connect").click({ timeout: 30_000 });
  await idle();
}

async function pay(uses: number, budget: bigint) {
  await page.fill("#budget", budget.toString());
  await page.fill("#uses", String(uses));
  await click("pay");
}

const steps: Record<string, unknown> = {};
await page.goto(env("PAGE_URL"));
// the store rules, on this browser's own IndexedDB
const storeChecks = await page.evaluate(() => (window as unknown as { __micropayStoreChecks: () => Promise<unknown[]> }).__micropayStoreChecks());
await connect(page);
steps.offer = await text("offer");
await click("create-escrow");
steps.asksBeforeOpen = await text("asks");

// the user declines: nothing opened, a clear message
await refusing(true);
await click("open");
steps.refused = (await state()).errors.at(-1);
steps.channelAfterRefusal = await text("channel");
await refusing(false);

const allocation = PRICE * BigInt(USES + AFTER_RELOAD) * 2n;
await page.fill("#allocation", allocation.toString());
await page.fill("#deposit", allocation.toString());
await click("open");
steps.channel = await text("channel");
const askedAfterOpen = await asked();

await pay(USES, PRICE * BigInt(USES));
const afterUses = await state();
const askedAfterUses = await asked();
await pay(1, PRICE * BigInt(USES));
steps.overBudget = (await state()).errors.at(-1);
steps.spentShown = await text("spent");

// the tab is closed while a paid use is in flight (its voucher sent, the
// answer never read); a new tab on the same storage sends that voucher
// again rather than sign a new one
await page.fill("#budget", (PRICE * BigInt(USES + 2)).toString());
await page.fill("#uses", "1");
const sent = page.waitForRequest((r) => r.url().includes("/api/") && r.headers()["payment-signature"] !== undefined);
await page.locator("#pay").click();
await sent;
await page.close({ runBeforeUnload: false });
page = await newPage();
await page.goto(env("PAGE_URL"));
await connect(page);
await pay(1, PRICE * BigInt(USES + 2));
steps.spentAfterClosedTab = await text("spent");
steps.servedAfterClosedTab = (await state()).served;

// the page's storage is wiped; a reload finds the channel on chain
await page.evaluate(async () => {
  for (const db of await indexedDB.databases()) if (db.name) indexedDB.deleteDatabase(db.name);
});
await page.reload();
await connect(page);
steps.recovered = await text("channel");
// room for one price more: see spentAfterReload in cli/tests/browser.rs
await pay(AFTER_RELOAD, PRICE * BigInt(AFTER_RELOAD + 1));
const afterReload = await state();
steps.spentAfterReload = await text("spent");
await page.screenshot({ path: env("SCREENSHOT"), fullPage: true });

await click("close");
steps.closing = await text("closing");

// the creator's claim lands within the window; after it, the refund
const last = await page.evaluate(() => (window as unknown as { micropayPage: { payer: { channels(): { cumulative: bigint }[] } } }).micropayPage.payer.channels()[0]!.cumulative.toString());
const rpcUrl = new URL(env("PAGE_URL")).searchParams.get("rpc")!;
const rpc = createSolanaRpc(rpcUrl);
const channelAddress = String(steps.channel).split(" ")[0] as Address;
for (let i = 0; (await fetchChannel(rpc, channelAddress)).data.claimed.toString() !== last; i++) {
  if (i > 240) throw new Error(`the creator did not claim ${last}`);
  await new Promise((r) => setTimeout(r, 250));
}
steps.claimedBeforeRefund = last;
const onChain = (await fetchChannel(rpc, channelAddress)).data;
await travelTo(rpcUrl, onChain.closeRequestedAt + BigInt(onChain.disputeWindowSecs) + 1n);
await page.reload();
await connect(page);
await click("refund");
steps.refund = (await page.evaluate(() => (window as unknown as { micropayPage: { log: string[] } }).micropayPage.log.at(-1)));
const final = await state();
await browser.close();

console.log(
  JSON.stringify({
    steps,
    servedBeforeReload: afterUses.served,
    servedAfterReload: afterReload.served,
    errors: final.errors,
    asked: { afterOpen: askedAfterOpen, afterUses: askedAfterUses },
    consoleErrors,
    storeChecks,
  }),
);
