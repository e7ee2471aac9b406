/**
 * The few token instructions a payer's funding needs, written out (each is
 * a handful of bytes) rather than pulling in `@solana-program/*` for three
 * instructions: the associated token account (created idempotently), and
 * wrapping SOL (a system transfer into the wrapped-SOL account, then
 * `SyncNative`).
 */
import {
  AccountRole,
  address,
  getAddressEncoder,
  getProgramDerivedAddress,
  getU64Encoder,
  type Address,
  type Instruction,
  type TransactionSigner,
} from "@solana/kit";

export const SYSTEM_PROGRAM = address("11111111111111111111111111111111");
export const TOKEN_PROGRAM = address("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
export const TOKEN_2022_PROGRAM = address("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");
export const ASSOCIATED_TOKEN_PROGRAM = address("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
/** The wrapped-SOL mint. */
export const NATIVE_MINT = address("So11111111111111111111111111111111111111112");

/** `owner`'s associated token account of `mint` under `tokenProgram`. */
export async function associatedTokenAddress(owner: Address, mint: Address, tokenProgram: Address): Promise<Address> {
  const enc = getAddressEncoder();
  const [ata] = await getProgramDerivedAddress({
    programAddress: ASSOCIATED_TOKEN_PROGRAM,
    seeds: [enc.encode(owner), enc.encode(tokenProgram), enc.encode(mint)],
  });
  return ata;
}

/** `CreateIdempotent`: `owner`'s associated token account of `mint`, paid by `payer`. */
export function createAssociatedTokenIdempotent(
  payer: TransactionSigner,
  ata: Address,
  owner: Address,
  mint: Address,
  tokenProgram: Address,
): Instruction {
  return {
    programAddress: ASSOCIATED_TOKEN_PROGRAM,
    accounts: [
      { address: payer.address, role: AccountRole.WRITABLE_SIGNER, signer: payer } as never,
      { address: ata, role: AccountRole.WRITABLE },
      { address: owner, role: AccountRole.READONLY },
      { address: mint, role: AccountRole.READONLY },
      { address: SYSTEM_PROGRAM, role: AccountRole.READONLY },
      { address: tokenProgram, role: AccountRole.READONLY },
    ],
    data: new Uint8Array([1]),
  };
}

/** The system program's `Transfer` of `lamports` from `from` to `to`. */
export function transferSol(from: TransactionSigner, to: Address, lamports: bigint): Instruction {
  const data = new Uint8Array(12);
  new DataView(data.buffer).setUint32(0, 2, true);
  data.set(getU64Encoder().encode(lamports), 4);
  return {
    programAddress: SYSTEM_PROGRAM,
    accounts: [
      { address: from.address, role: AccountRole.WRITABLE_SIGNER, signer: from } as never,
      { address: to, role: AccountRole.WRITABLE },
    ],
    data,
  };
}

/** The token program's `SyncNative`: a wrapped-SOL account's balance follows its lamports. */
export function syncNative(account: Address): Instruction {
  return {
    programAddress: TOKEN_PROGRAM,
    accounts: [{ address: account, role: AccountRole.WRITABLE }],
    data: new Uint8Array([17]),
  };
}
