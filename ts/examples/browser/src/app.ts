/**
 * The browser example: a Wallet Standard wallet funds and opens a channel
 * (asked once, with what it signs and why shown first), then each use of
 * the paid API is a voucher signed here with the channel's session key —
 * no prompt — counted against the budget the user set, kept in IndexedDB
 * before it leaves. A reload that lost the storage finds the channel again
 * from the chain. Settings come from the query: `rpc` (the cluster's
 * JSON-RPC URL), `api` (the paid endpoint, `/api/item` unless told),
 * `chain` (`solana:localnet` unless told).
 */
import { createSolanaRpc, type Address } from "@solana/kit";
import { getWallets } from "@wallet-standard/app";
import type { Wallet } from "@wallet-standard/base";
import { decodePaymentRequiredHeader } from "@x402/core/http";
import {
  channelsOnChain,
  createEscrow,
  escrowOf,
  fetchMaybeChannel,
  finalizeClose,
  fundAndOpen,
  IndexedDbStore,
  MICROPAY_PROGRAM_ADDRESS,
  networkOf,
  Payer,
  payingFetch,
  requestClose,
  transactionVersionFor,
  walletSigner,
  withdraw,
  type ChainContext,
  type ChannelRecord,
} from "@micropay/sdk";
import { explain } from "./explain.js";

const query = new URLSearchParams(location.search);
const RPC = query.get("rpc") ?? "http://127.0.0.1:8899";
const API = new URL(query.get("api") ?? "/api/item", location.href).href;
const CHAIN = (query.get("chain") ?? "solana:localnet") as `${string}:${string}`;

/** What the API sells, from its 402. */
interface Offer {
  creator: Address;
  mint: Address;
  price: bigint;
}

/** The page's state; `window.micropayPage` shows it to tests. */
const page = {
  ctx: undefined as ChainContext | undefined,
  offer: undefined as Offer | undefined,
  payer: undefined as Payer | undefined,
  /** The cluster's x402 network id: offers on another are not paid. */
  network: undefined as string | undefined,
  served: 0,
  lastStatus: 0,
  busy: false,
  errors: [] as string[],
  log: [] as string[],
};
Object.assign(window, { micropayPage: page });

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const value = (id: string) => BigInt($<HTMLInputElement>(id).value || "0");

function say(line: string) {
  page.log.push(line);
  $("log").prepend(Object.assign(document.createElement("div"), { textContent: line }));
}

function fail(e: unknown) {
  const text = explain(e);
  page.errors.push(text);
  $("error").textContent = text;
}

/** Runs `step` with the buttons off, showing its error if it fails. */
async function step(name: string, f: () => Promise<void>) {
  page.busy = true;
  $("error").textContent = "";
  refresh();
  try {
    await f();
  } catch (e) {
    say(`${name} failed`);
    fail(e);
  } finally {
    page.busy = false;
    await render();
  }
}

function channelOf(): ChannelRecord | undefined {
  const { payer, offer } = page;
  return payer?.channels().find((c) => !c.retired && c.creator === offer?.creator && c.mint === offer?.mint);
}

async function askOffer(): Promise<Offer> {
  const response = await fetch(API);
  const header = response.headers.get("PAYMENT-REQUIRED");
  if (response.status !== 402 || !header) throw new Error(`${API} answered ${response.status} without an offer`);
  const offer = decodePaymentRequiredHeader(header).accepts.find(
    (a) => a.scheme === "micropay" && a.network === page.network && (a.extra as { programId?: string } | undefined)?.programId === MICROPAY_PROGRAM_ADDRESS,
  );
  if (!offer) throw new Error(`${API} does not sell with micropay on this cluster (${page.network})`);
  return { creator: offer.payTo as Address, mint: offer.asset as Address, price: BigInt(offer.amount) };
}

async function connect(wallet: Wallet) {
  await step("connecting", async () => {
    const connect = (wallet.features as Record<string, { connect?: () => Promise<{ accounts: Wallet["accounts"] }> }>)["standard:connect"];
    const { accounts } = (await connect?.connect?.()) ?? { accounts: wallet.accounts };
    const account = accounts[0];
    if (!account) throw new Error(`${wallet.name} shared no account`);
    page.ctx = { rpc: createSolanaRpc(RPC), wallet: walletSigner(wallet, account, CHAIN), version: transactionVersionFor(wallet), keepSeed: false };
    $("account").textContent = `${account.address} (${wallet.name})`;
    page.network = await networkOf(page.ctx.rpc);
    page.offer = await askOffer();
    page.payer = await Payer.open(await IndexedDbStore.open(`micropay-${account.address}`), { total: {} });
    page.ctx.tokenProgram = await tokenProgramOf(page.offer.mint);
    say(`connected ${wallet.name}`);
    if (!channelOf()) await recover();
  });
}

async function tokenProgramOf(mint: Address): Promise<Address> {
  const { value: account } = await page.ctx!.rpc.getAccountInfo(mint, { encoding: "base64" }).send();
  if (!account) throw new Error(`the mint ${mint} does not exist on this cluster`);
  return account.owner;
}

/** No channel in this browser's storage: look for the wallet's channels on chain. */
async function recover() {
  const found = (await channelsOnChain(page.ctx!, page.offer!.mint)).filter((c) => c.creator === page.offer!.creator);
  for (const channel of found) await page.payer!.adopt(channel);
  if (found.length > 0) say(`recovered ${found.length} channel(s) from the chain`);
}

async function open() {
  await step("opening", async () => {
    const { ctx, offer, payer } = page;
    const { record } = await fundAndOpen(ctx!, { mint: offer!.mint, creator: offer!.creator, deposit: value("deposit"), allocation: value("allocation") }, payer!);
    say(`opened channel ${record.channel}`);
  });
}

async function pay() {
  await step("paying", async () => {
    const { payer, offer } = page;
    const budget = value("budget");
    payer!.budgets = { total: { [offer!.mint]: budget }, perOrigin: { [new URL(API).origin]: { [offer!.mint]: budget } } };
    const paying = payingFetch(payer!, { network: page.network });
    const uses = Number(value("uses"));
    for (let i = 0; i < uses; i++) {
      const response = await paying(API);
      page.lastStatus = response.status;
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`the API answered ${response.status}`);
      page.served++;
      if (i % 10 === 9 || i === uses - 1) refresh();
    }
    say(`paid ${uses} use(s)`);
  });
}

async function close() {
  await step("closing", async () => {
    const channel = channelOf()!;
    await requestClose(page.ctx!, channel);
    await page.payer!.retire(channel.channel, "closing");
    say(`asked to close ${channel.channel}: what it did not pay returns to the escrow after its dispute window`);
  });
}

/** The channel asked to close, and when its refund can be taken (unix seconds), if it is still open on chain. */
async function closing(): Promise<{ channel: ChannelRecord; refundAt: bigint; now: bigint } | undefined> {
  const { ctx, payer, offer } = page;
  const channel = payer?.channels().find((c) => c.retired === "closing" && c.mint === offer?.mint);
  if (!ctx || !channel) return undefined;
  const account = await fetchMaybeChannel(ctx.rpc, channel.channel);
  if (!account.exists) return undefined;
  const slot = await ctx.rpc.getSlot({ commitment: "confirmed" }).send();
  const now = BigInt((await ctx.rpc.getBlockTime(slot).send()) ?? 0);
  return { channel, refundAt: account.data.closeRequestedAt + BigInt(account.data.disputeWindowSecs), now };
}

async function refund() {
  await step("taking the refund", async () => {
    const closed = await closing();
    if (!closed) throw new Error("no channel is waiting for its refund");
    await finalizeClose(page.ctx!, closed.channel);
    const free = (await escrowOf(page.ctx!, closed.channel.mint)).state?.balance ?? 0n;
    if (free > 0n) await withdraw(page.ctx!, closed.channel.mint, free);
    await page.payer!.forget(closed.channel.channel);
    say(`refunded ${free} base units to your wallet`);
  });
}

/** What the wallet will be asked, and why. */
function asks(channel: ChannelRecord | undefined, hasEscrow: boolean): string {
  if (!page.ctx) return "Connect a wallet to see what it will be asked to sign.";
  if (channel) return "Nothing: each use is paid by a voucher this page signs with the channel's session key.";
  if (!hasEscrow) return "One transaction creating your escrow for this token (it holds what you deposit; you can withdraw what is not spent).";
  return `Two things, once: (1) a message "micropay session key v1" naming your escrow — no funds move; its signature derives this channel's spending key, so the channel can be found again from your wallet alone; (2) one transaction that deposits ${value("deposit")} and lets the channel pay the creator at most ${value("allocation")} base units.`;
}

async function render() {
  const { ctx, offer, payer } = page;
  if (offer) $("offer").textContent = `Each use costs ${offer.price} base units of ${offer.mint}, paid to ${offer.creator}.`;
  let hasEscrow = false;
  if (ctx && offer) {
    const escrow = await escrowOf(ctx, offer.mint);
    hasEscrow = escrow.state !== null;
    $("escrow").textContent = escrow.state ? `${escrow.state.balance} base units free` : "none yet";
  }
  const channel = channelOf();
  $("channel").textContent = channel ? `${channel.channel} · paid ${channel.cumulative} of ${channel.allocation}` : "none";
  $("asks").textContent = asks(channel, hasEscrow);
  $<HTMLButtonElement>("create-escrow").disabled = page.busy || !ctx || hasEscrow;
  $<HTMLButtonElement>("open").disabled = page.busy || !ctx || !hasEscrow || channel !== undefined;
  $<HTMLButtonElement>("close").disabled = page.busy || !channel;
  const closed = await closing();
  $("closing").textContent = closed
    ? `Closing: the creator can still claim until ${new Date(Number(closed.refundAt) * 1000).toISOString()}; then the rest is yours (two transactions: end the channel, withdraw).`
    : "";
  $<HTMLButtonElement>("refund").disabled = page.busy || !closed || closed.now < closed.refundAt;
  $<HTMLButtonElement>("pay").disabled = page.busy || !channel;
  refresh(payer);
}

/** The meter: spent against the budget. */
function refresh(payer = page.payer) {
  const spent = payer && page.offer ? payer.spent(page.offer.mint) : 0n;
  const budget = value("budget");
  $("spent").textContent = spent.toString();
  $("budget-shown").textContent = budget.toString();
  $("served").textContent = page.served.toString();
  $("last").textContent = page.lastStatus ? String(page.lastStatus) : "—";
  $("meter-bar").style.width = `${budget > 0n ? Number((spent * 100n) / budget) : 0}%`;
  document.body.dataset.busy = String(page.busy);
}

function listWallets() {
  const { get, on } = getWallets();
  const show = () => {
    const wallets = get().filter((w) => "solana:signTransaction" in w.features);
    const list = $("wallets");
    list.replaceChildren(...wallets.map((w) => Object.assign(document.createElement("button"), { textContent: `Connect ${w.name}`, id: "connect", onclick: () => connect(w) })));
    if (wallets.length === 0) list.textContent = "No Wallet Standard wallet found: install Phantom, Solflare or Backpack.";
  };
  on("register", show);
  show();
}

$("create-escrow").onclick = () => step("creating the escrow", async () => void (await createEscrow(page.ctx!, page.offer!.mint)));
$("open").onclick = open;
$("pay").onclick = pay;
$("close").onclick = close;
$("refund").onclick = refund;
$("budget").oninput = () => refresh();
listWallets();
void render();
