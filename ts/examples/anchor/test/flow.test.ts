/**
 * The example against a running `micropay node` (or any cluster with
 * micropay): `MICROPAY_RPC_URL=http://127.0.0.1:8899 npm test` (and
 * `MICROPAY_WS_URL` when the WebSocket is not on the next port). The Rust test
 * `typescript_packages` starts a node and runs this.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import anchor from "@anchor-lang/core";
import { Connection, Keypair } from "@solana/web3.js";
import { actor, runFlow, type MintKind } from "../src/example.js";
import { claimArgs, eventsOf, micropayProgram, signVoucher } from "../src/micropay.js";

const url = process.env.MICROPAY_RPC_URL;
if (!url) throw new Error("set MICROPAY_RPC_URL to a node with micropay (e.g. `micropay node`)");
// web3.js guesses the WebSocket at the RPC port + 1 unless told
const wsEndpoint = process.env.MICROPAY_WS_URL;
const connection = new Connection(url, { commitment: "confirmed", wsEndpoint });
const reader = micropayProgram(new anchor.AnchorProvider(connection, new anchor.Wallet(Keypair.generate())));

test("the committed TypeScript type is the IDL as Program sees it", () => {
  const text = readFileSync(new URL("../../../idl/micropay.ts", `file://${process.cwd()}/`), "utf8");
  const start = text.indexOf("export type Micropay = ");
  const body = text.slice(start + "export type Micropay = ".length).trim().replace(/;$/, "");
  assert.deepEqual(JSON.parse(body), reader.idl);
});

for (const kind of ["wrapped-sol", "spl", "token-2022"] as MintKind[]) {
  test(`the flow settles to the unit with ${kind}`, async () => {
    const paid = new anchor.BN(1_234);
    const flow = await runFlow(connection, kind, paid);
    assert.equal(flow.earned.toString(), paid.toString());

    // the Claimed event, decoded from the claim's inner instructions
    const tx = await connection.getTransaction(flow.claimSignature, {
      commitment: "confirmed",
      maxSupportedTransactionVersion: 0,
    });
    assert.ok(tx, "the claim is on chain");
    const claimed = eventsOf(reader, tx).find((e) => e.name === "claimed");
    assert.ok(claimed, `a Claimed event: ${JSON.stringify(eventsOf(reader, tx))}`);
    const settled = claimed.data.settled as { channel: { toBase58(): string }; delta: anchor.BN }[];
    assert.equal(settled.length, 1);
    assert.equal(settled[0].channel.toBase58(), flow.channel.toBase58());
    assert.equal(settled[0].delta.toString(), paid.toString());
  });
}

test("a forged voucher fails with a typed AnchorError; a good one simulates", async () => {
  const flow = await runFlow(connection, "spl", new anchor.BN(10));
  const relayer = await actor(connection, 1);
  const claim = (signature: number[], amount: anchor.BN) => {
    const { args, remainingAccounts } = claimArgs([
      { channel: flow.channel, creatorEarnings: flow.creatorEarnings, amount, signature },
    ]);
    return relayer.program.methods.claim(args).remainingAccounts(remainingAccounts);
  };

  const forger = Keypair.generate();
  const forged = signVoucher(forger.secretKey, flow.channel, new anchor.BN(500));
  await assert.rejects(claim(forged, new anchor.BN(500)).rpc(), (e: unknown) => {
    assert.ok(e instanceof anchor.AnchorError, `an AnchorError, got ${String(e)}`);
    assert.equal(e.error.errorCode.code, "InvalidVoucherSignature");
    const expected = reader.idl.errors.find((x) => x.name === "invalidVoucherSignature");
    assert.equal(e.error.errorCode.number, expected?.code);
    return true;
  });

  // a real next voucher: `.simulate()` parses the logs and succeeds
  const good = signVoucher(flow.session.secretKey, flow.channel, new anchor.BN(20));
  const simulated = await claim(good, new anchor.BN(20)).simulate();
  assert.ok(simulated.raw.some((l) => l === "Program log: Instruction: Claim"), simulated.raw.join("\n"));
  // nothing moved: still the first voucher's 10
  const earnings = await reader.account.earnings.fetch(flow.creatorEarnings);
  assert.equal(earnings.balance.toString(), "10");
});
