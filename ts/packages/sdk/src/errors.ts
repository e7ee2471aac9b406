/**
 * Program errors, typed: the code a failed transaction carries, named and
 * explained as the program's `#[error_code]` enum says (generated from the
 * IDL: `MICROPAY_ERROR__*`, `getMicropayErrorMessage`).
 */
import { isSolanaError, SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM } from "@solana/kit";
import { getMicropayErrorMessage, type MicropayError } from "./generated/errors/micropay.js";

/** A micropay program error found in a failure. */
export interface ProgramError {
  code: MicropayError;
  message: string;
}

const FIRST = 6000;

/**
 * The micropay error code in `failure`: a kit `SolanaError` (a refused
 * simulation) or a transaction status's `err` (`{ InstructionError: [i, { Custom: code }] }`).
 */
export function programErrorOf(failure: unknown): ProgramError | undefined {
  const code = customCode(failure);
  if (code === undefined || code < FIRST) return undefined;
  const message = getMicropayErrorMessage(code as MicropayError);
  return message ? { code: code as MicropayError, message } : undefined;
}

function customCode(failure: unknown, depth = 0): number | undefined {
  if (depth > 4 || failure === null || typeof failure !== "object") return undefined;
  if (isSolanaError(failure, SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM)) return Number(failure.context.code);
  const status = (failure as { InstructionError?: [number, { Custom?: number | bigint }] }).InstructionError;
  if (status?.[1]?.Custom !== undefined) return Number(status[1].Custom);
  for (const next of [(failure as { cause?: unknown }).cause, (failure as { detail?: unknown }).detail]) {
    const code = customCode(next, depth + 1);
    if (code !== undefined) return code;
  }
  return undefined;
}
