/**
 * The payer's chain steps on a real cluster (`MICROPAY_RPC_URL`: the Rust
 * test `typescript_packages` starts `micropay node`), signed by a Wallet
 * Standard wallet: create the escrow, fund it with wrapped SOL and open a
 * channel in one approval, find the channel again from the wallet alone
 * (storage lost), top it up, ask to close it; a program refusal comes back
 * as its typed error code, and a wallet that refuses sends nothing.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createSolanaRpc, getBase58Encoder, getBase64Decoder, lamports, type Address } from "@solana/kit";
import {
  channelsOnChain,
  createEscrow,
  associatedTokenAddress,
  escrowOf,
  eventsOf,
  fetchMaybeChannel,
  finalizeClose,
  fetchChannel,
  findChannelPda,
  fundAndOpen,
  getChannelEncoder,
  MemoryStore,
  MICROPAY_ERROR__INSUFFICIENT_BALANCE,
  MICROPAY_PROGRAM_ADDRESS,
  NATIVE_MINT,
  Payer,
  programErrorOf,
  requestClose,
  TOKEN_PROGRAM,
  topUp,
  withdraw,
  transactionVersionFor,
  walletSigner,
  WalletError,
  type ChainContext,
} from "../src/index.js";
import { KeypairWallet, travelTo } from "../src/testing.js";

const url = process.env.MICROPAY_RPC_URL;
const CREATOR = "CktRuQ2mttgRGkXJtyksdKHjUdc2C4TgDzyB98oEzy8" as Address;

async function funded(version: 0 | "legacy") {
  const rpc = createSolanaRpc(url!);
  const wallet = await KeypairWallet.fromSeed(crypto.getRandomValues(new Uint8Array(32)));
  const signature = await rpc.requestAirdrop(wallet.address, lamports(5_000_000_000n)).send();
  for (let i = 0; i < 100; i++) {
    const { value } = await rpc.getSignatureStatuses([signature]).send();
    if (value[0]?.confirmationStatus === "confirmed" || value[0]?.confirmationStatus === "finalized") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const ctx: ChainContext = { rpc, wallet: walletSigner(wallet, wallet.accounts[0]!, "solana:localnet"), version };
  return { wallet, ctx };
}

for (const version of [0, "legacy"] as const) {
  test(`a wallet funds, opens, recovers, tops up and closes (${version} transactions)`, { skip: !url && "set MICROPAY_RPC_URL", timeout: 120_000 }, async () => {
    const { wallet, ctx } = await funded(version);
    assert.equal(transactionVersionFor(wallet), 0);
    await createEscrow(ctx, NATIVE_MINT);
    const payer = await Payer.open(new MemoryStore(), { total: { [NATIVE_MINT]: 1_000_000n } });
    const asked = { ...wallet.asked };
    const { record, signature } = await fundAndOpen(ctx, { mint: NATIVE_MINT, creator: CREATOR, deposit: 2_000_000n, allocation: 1_500_000n }, payer);
    // one message (the session key) and one transaction (fund + open)
    assert.deepEqual(wallet.asked, { transactions: asked.transactions + 1, messages: asked.messages + 1 });
    const onChain = await fetchChannel(ctx.rpc, record.channel);
    assert.equal(onChain.data.allocation, 1_500_000n);
    assert.equal(onChain.data.creator, CREATOR);
    assert.equal((await escrowOf(ctx, NATIVE_MINT)).state?.balance, 500_000n);
    assert.equal(payer.channels()[0]!.channel, record.channel, "registered before it was sent");

    // the events, from the transaction's inner instructions
    const tx = await ctx.rpc.getTransaction(signature, { commitment: "confirmed", encoding: "json", maxSupportedTransactionVersion: 0 }).send();
    const keys = [...tx!.transaction.message.accountKeys, ...(tx!.meta?.loadedAddresses?.writable ?? []), ...(tx!.meta?.loadedAddresses?.readonly ?? [])];
    const inner = (tx!.meta?.innerInstructions ?? []).flatMap((i) => i.instructions).map((ix) => ({ programIdIndex: ix.programIdIndex, data: getBase58Encoder().encode(ix.data) }));
    const events = eventsOf(keys, inner);
    assert.deepEqual(events.map((e) => e.name), ["deposited", "channelOpened"]);
    const opened = events[1]!;
    assert.ok(opened.name === "channelOpened" && opened.data.channel === record.channel && opened.data.allocation === 1_500_000n);

    // storage lost: the wallet alone finds the channel and its key
    const found = await channelsOnChain(ctx, NATIVE_MINT);
    assert.deepEqual(found.map((c) => c.channel), [record.channel]);
    const again = await Payer.open(new MemoryStore(), { total: { [NATIVE_MINT]: 1_000_000n } });
    await again.adopt(found[0]!);
    assert.equal((await again.key(found[0]!)).address, onChain.data.signer);

    await topUp(ctx, record, 0n, 400_000n, payer);
    assert.equal((await fetchChannel(ctx.rpc, record.channel)).data.allocation, 1_900_000n);
    assert.equal(payer.channels()[0]!.allocation, 1_900_000n, "the payer knows the new allocation");
    await requestClose(ctx, record);
    assert.notEqual((await fetchChannel(ctx.rpc, record.channel)).data.closeRequestedAt, 0n);
    assert.deepEqual(await channelsOnChain(ctx, NATIVE_MINT), [], "a closing channel is not paid from");
  });
}

test("close and refund: after the dispute window the unpaid allocation returns to the escrow, then to the wallet", { skip: !url && "set MICROPAY_RPC_URL", timeout: 120_000 }, async () => {
  const { ctx } = await funded(0);
  await createEscrow(ctx, NATIVE_MINT);
  const payer = await Payer.open(new MemoryStore(), { total: {} });
  const { record } = await fundAndOpen(ctx, { mint: NATIVE_MINT, creator: CREATOR, deposit: 1_000_000n, allocation: 600_000n, disputeWindowSecs: 60 }, payer);
  await requestClose(ctx, record);
  const closing = await fetchChannel(ctx.rpc, record.channel);
  await assert.rejects(finalizeClose(ctx, record), (e) => programErrorOf(e) !== undefined, "not before the window ends");
  await travelTo(url!, closing.data.closeRequestedAt + 61n);
  await finalizeClose(ctx, record);
  assert.equal((await fetchMaybeChannel(ctx.rpc, record.channel)).exists, false);
  assert.equal((await escrowOf(ctx, NATIVE_MINT)).state?.balance, 1_000_000n, "the unpaid 600,000 came back");
  await withdraw(ctx, NATIVE_MINT, 1_000_000n);
  assert.equal((await escrowOf(ctx, NATIVE_MINT)).state?.balance, 0n);
  const ata = await associatedTokenAddress(ctx.wallet.address, NATIVE_MINT, TOKEN_PROGRAM);
  assert.equal((await ctx.rpc.getTokenAccountBalance(ata).send()).value.amount, "1000000");
});

test("a program refusal is its typed error; a refusing wallet sends nothing", { skip: !url && "set MICROPAY_RPC_URL", timeout: 120_000 }, async () => {
  const { wallet, ctx } = await funded(0);
  await createEscrow(ctx, NATIVE_MINT);
  const payer = await Payer.open(new MemoryStore(), { total: {} });
  await assert.rejects(
    fundAndOpen(ctx, { mint: NATIVE_MINT, creator: CREATOR, deposit: 0n, allocation: 1n }, payer),
    (e) => programErrorOf(e)?.code === MICROPAY_ERROR__INSUFFICIENT_BALANCE,
  );
  assert.deepEqual(payer.channels(), [], "a channel that never existed is not kept");
  wallet.refusing = true;
  const before = await ctx.rpc.getBalance(wallet.address).send();
  await assert.rejects(createEscrow(ctx, CREATOR), (e) => e instanceof WalletError && e.reason === "refused");
  assert.equal((await ctx.rpc.getBalance(wallet.address).send()).value, before.value);
});

/**
 * A node that adds accounts of its own to `getProgramAccounts`: channels
 * at addresses their seeds do not give, with ids the escrow never handed
 * out, owned by another program, malformed, or paying past their
 * allocation. None costs the wallet a message; the real channel is found.
 */
test("a lying node's made-up channels cost the wallet nothing", { skip: !url && "set MICROPAY_RPC_URL", timeout: 120_000 }, async () => {
  const { wallet, ctx } = await funded(0);
  await createEscrow(ctx, NATIVE_MINT);
  const payer = await Payer.open(new MemoryStore(), { total: {} });
  const { record } = await fundAndOpen(ctx, { mint: NATIVE_MINT, creator: CREATOR, deposit: 1_000_000n, allocation: 600_000n }, payer);
  const real = (await fetchChannel(ctx.rpc, record.channel)).data;
  const { state } = await escrowOf(ctx, NATIVE_MINT);
  const randomAddress = async () => (await KeypairWallet.fromSeed(crypto.getRandomValues(new Uint8Array(32)))).address;
  const account = (data: Uint8Array, owner: Address = MICROPAY_PROGRAM_ADDRESS) => ({
    data: [getBase64Decoder().decode(data), "base64"] as const,
    executable: false,
    lamports: lamports(1_000_000n),
    owner,
    rentEpoch: 0n,
    space: BigInt(data.length),
  });
  const encode = (changes: Partial<typeof real>) => new Uint8Array(getChannelEncoder().encode({ ...real, ...changes }));
  const fresh = { nonce: 7n, signer: await randomAddress() };
  const unissued = { ...fresh, id: state!.nextChannelId };
  const fakes = [
    { pubkey: await randomAddress(), account: account(encode(fresh)) },
    { pubkey: await findChannelPda(record.escrow, { generation: state!.generation, id: unissued.id }, 7n), account: account(encode(unissued)) },
    { pubkey: await findChannelPda(record.escrow, { generation: state!.generation, id: real.id }, 7n), account: account(encode(fresh), CREATOR) },
    { pubkey: await randomAddress(), account: account(encode(fresh).slice(0, 20)) },
    { pubkey: record.channel, account: account(encode({ claimed: real.allocation + 1n })) },
  ];
  const lying = new Proxy(ctx.rpc, {
    get(target, name, receiver) {
      if (name !== "getProgramAccounts") return Reflect.get(target, name, receiver);
      return (...args: Parameters<typeof target.getProgramAccounts>) => ({
        send: async () => [...fakes, ...(await target.getProgramAccounts(...args).send())],
      });
    },
  });
  const asked = wallet.asked.messages;
  const found = await channelsOnChain({ ...ctx, rpc: lying }, NATIVE_MINT);
  assert.deepEqual(found.map((c) => c.channel), [record.channel]);
  assert.equal(found[0]!.allocation, 600_000n);
  assert.equal(found[0]!.cumulative, 0n, "the real account, not the one paying past its allocation");
  assert.equal(wallet.asked.messages, asked + 1, "one message: the real channel's");
});
