/** Errors as a person reads them: what happened, and what to do. */
import { PaymentError, programErrorOf, SessionDerivationError, StorageUnavailable, TransactionFailed, WalletError } from "@micropay/sdk";

export function explain(e: unknown): string {
  const declined = (x: unknown) => x instanceof WalletError && x.reason === "refused";
  if (declined(e) || (e instanceof SessionDerivationError && declined(e.cause))) return "You declined in your wallet: nothing was signed or sent.";
  if (e instanceof SessionDerivationError) return `The wallet did not sign the session-key message: no channel was opened. (${e.message})`;
  if (e instanceof WalletError) return `Your wallet cannot do this: ${e.message}.`;
  if (e instanceof StorageUnavailable) return `${e.message}. Nothing was paid.`;
  if (e instanceof PaymentError) {
    const r = e.refusal;
    if (r.reason === "budget") return `Stopped at your budget: ${r.spent} of ${r.limit} spent; this use costs ${r.price}. Raise the budget to go on.`;
    if (r.reason === "exceeds_allocation") return `The channel has paid ${r.cumulative} of its ${r.allocation}: top it up or open another.`;
    return "No open channel pays this API's creator: fund and open one.";
  }
  const program = programErrorOf(e);
  if (program) return `The program refused: ${program.message} (error ${program.code}).`;
  if (e instanceof TransactionFailed) return e.message;
  return e instanceof Error ? e.message : String(e);
}
