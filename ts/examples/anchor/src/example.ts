/**
 * The micropay flow from TypeScript, from the IDL alone: a payer funds an
 * escrow and opens a channel to a creator with a session key; the session
 * key signs a cumulative voucher off chain (tweetnacl); anyone claims it;
 * the creator's earnings hold it to the unit. Run against `micropay node`
 * (or any cluster with micropay): `npm run example -- http://127.0.0.1:8899`.
 */
import anchor from "@anchor-lang/core";
import type { Program } from "@anchor-lang/core";
import {
  createAssociatedTokenAccount,
  createMint,
  createWrappedNativeAccount,
  mintTo,
  NATIVE_MINT,
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
} from "@solana/spl-token";
import { Connection, Keypair, LAMPORTS_PER_SOL, PublicKey } from "@solana/web3.js";
import { pathToFileURL } from "node:url";
import {
  claimArgs,
  earningsAddress,
  escrowAddress,
  eventsOf,
  Micropay,
  micropayProgram,
  signVoucher,
} from "./micropay.js";

export type MintKind = "wrapped-sol" | "spl" | "token-2022";

/** A funded wallet and the program as it sees it. */
export interface Actor {
  keypair: Keypair;
  program: Program<Micropay>;
}

/** A new wallet with `sol` SOL from the cluster's faucet. */
export async function actor(connection: Connection, sol: number): Promise<Actor> {
  const keypair = Keypair.generate();
  const signature = await connection.requestAirdrop(keypair.publicKey, sol * LAMPORTS_PER_SOL);
  await connection.confirmTransaction({ signature, ...(await connection.getLatestBlockhash()) });
  const provider = new anchor.AnchorProvider(connection, new anchor.Wallet(keypair), { commitment: "confirmed" });
  return { keypair, program: micropayProgram(provider) };
}

/** A mint of `kind` and a token account of `owner` holding `amount` of it. */
export async function fundedTokenAccount(
  connection: Connection,
  owner: Keypair,
  kind: MintKind,
  amount: bigint,
): Promise<{ mint: PublicKey; tokenProgram: PublicKey; source: PublicKey }> {
  if (kind === "wrapped-sol") {
    const source = await createWrappedNativeAccount(connection, owner, owner.publicKey, Number(amount));
    return { mint: NATIVE_MINT, tokenProgram: TOKEN_PROGRAM_ID, source };
  }
  const tokenProgram = kind === "spl" ? TOKEN_PROGRAM_ID : TOKEN_2022_PROGRAM_ID;
  const confirm = { commitment: "confirmed" } as const;
  const mint = await createMint(connection, owner, owner.publicKey, null, 6, undefined, confirm, tokenProgram);
  const source = await createAssociatedTokenAccount(connection, owner, mint, owner.publicKey, confirm, tokenProgram);
  await mintTo(connection, owner, mint, source, owner, amount, [], confirm, tokenProgram);
  return { mint, tokenProgram, source };
}

/** What one run of the flow left on chain. */
export interface Flow {
  mint: PublicKey;
  channel: PublicKey;
  creatorEarnings: PublicKey;
  session: Keypair;
  claimSignature: string;
  /** The creator's earnings balance after the claim, base units. */
  earned: anchor.BN;
}

/** init_escrow → deposit → init_earnings → open_channel → voucher → claim → fetch. */
export async function runFlow(connection: Connection, kind: MintKind, paid: anchor.BN): Promise<Flow> {
  const payer = await actor(connection, 10);
  const creator = await actor(connection, 1);
  const { program } = payer;
  const owner = payer.keypair.publicKey;
  const deposit = new anchor.BN(1_000_000);
  const { mint, tokenProgram, source } = await fundedTokenAccount(
    connection,
    payer.keypair,
    kind,
    BigInt(deposit.toString()),
  );

  // the escrow (and the mint's vault) are PDAs the IDL resolves
  await program.methods.initEscrow().accounts({ owner, mint, tokenProgram }).rpc();
  const escrow = escrowAddress(program.programId, owner, mint);
  // every instruction takes one args struct
  await program.methods
    .deposit({ amount: deposit })
    // `mint` follows from the escrow (`has_one`): the IDL's `relations`
    .accounts({ depositor: owner, escrow, source, tokenProgram })
    .rpc();

  // the creator's earnings account: anyone may create it
  await program.methods.initEarnings({ owner: creator.keypair.publicKey }).accounts({ payer: owner, mint }).rpc();
  const creatorEarnings = earningsAddress(program.programId, creator.keypair.publicKey, mint);

  // a channel to the creator, its vouchers signed by a session key
  const session = Keypair.generate();
  const open = program.methods
    .openChannel({
      creator: creator.keypair.publicKey,
      signer: session.publicKey,
      allocation: new anchor.BN(500_000),
      feeRecipient: null,
      feeBps: 0,
      disputeWindowSecs: 3_600,
      expiresAt: new anchor.BN(0),
      nonce: new anchor.BN(Date.now()),
    })
    // the owner follows from the escrow; the channel from the escrow's
    // generation, next channel id and the nonce
    .accounts({ escrow });
  const { channel } = await open.pubkeys();
  if (!channel) throw new Error("the IDL resolves the channel address");
  await open.rpc();

  // each use is a new cumulative voucher, signed off chain: no transaction
  const signature = signVoucher(session.secretKey, channel, paid);

  // anyone may claim (here the creator pays the fee)
  const { args, remainingAccounts } = claimArgs([{ channel, creatorEarnings, amount: paid, signature }]);
  const claimSignature = await creator.program.methods
    .claim(args)
    .remainingAccounts(remainingAccounts)
    .rpc();

  const earnings = await program.account.earnings.fetch(creatorEarnings);
  return { mint, channel, creatorEarnings, session, claimSignature, earned: earnings.balance };
}

async function main(): Promise<void> {
  const url = process.argv[2] ?? "http://127.0.0.1:8899";
  const connection = new Connection(url, "confirmed");
  for (const kind of ["wrapped-sol", "spl", "token-2022"] as const) {
    const flow = await runFlow(connection, kind, new anchor.BN(1_234));
    const tx = await connection.getTransaction(flow.claimSignature, {
      commitment: "confirmed",
      maxSupportedTransactionVersion: 0,
    });
    const program = micropayProgram(new anchor.AnchorProvider(connection, new anchor.Wallet(Keypair.generate())));
    const events = tx ? eventsOf(program, tx).map((e) => e.name) : [];
    // BN prints as hex in JSON.stringify: print base units with toString()
    console.log(`${kind}: creator earned ${flow.earned.toString()} base units; events ${events.join(", ")}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
