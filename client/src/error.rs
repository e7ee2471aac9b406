//! The client's one error type. Program errors come back with the program's own
//! name and message; everything else says what went wrong and what to do.

use anchor_lang::prelude::Pubkey;
use micropay::error::MicropayError;
use micropay_sdk::error::program_error;
use solana_sdk::{instruction::InstructionError, message::Message, transaction::TransactionError};

/// The client's errors: each says what went wrong and, where it can, what to do.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The program refused the transaction.
    #[error("{message} (micropay error {code}: {name})")]
    Program {
        /// The program's error code (6000 + index).
        code: u32,
        /// The error's name in the program (`InsufficientBalance`, ...).
        name: String,
        /// The program's message.
        message: String,
        /// The error itself.
        error: MicropayError,
    },
    /// An instruction failed in another program (System, SPL Token), or in
    /// micropay before its own checks (an Anchor account constraint).
    #[error("{}", instruction_sentence(*index, program.as_ref(), error))]
    Instruction {
        /// Index of the failing instruction in the transaction.
        index: u8,
        /// The program that failed, when the transaction is known.
        program: Option<Pubkey>,
        /// The error.
        error: InstructionError,
    },
    /// The runtime refused the transaction as a whole.
    #[error("{}", transaction_sentence(error, fee_payer.as_ref()))]
    Transaction {
        /// The error.
        error: TransactionError,
        /// The fee payer, when the transaction is known.
        fee_payer: Option<Pubkey>,
    },
    /// The cluster could not be reached or answered with an error. Build it
    /// with [`ClientError::rpc`], which redacts URLs (RPC providers put
    /// credentials in them); the message is redacted again when shown.
    #[error(
        "cluster unreachable or failing ({}); check the RPC URL and that the node is running",
        redact_urls(.0)
    )]
    Rpc(String),
    /// A transaction's blockhash expired before it landed, every attempt.
    #[error("the transaction did not land in {attempts} attempts (each blockhash expired first); the cluster may be congested: try again, or raise the priority fee")]
    Expired {
        /// Attempts made, each with a fresh blockhash.
        attempts: usize,
    },
    /// A signer could not sign (a hardware wallet unplugged or locked, a
    /// remote signer down, a wrong keypair for a required signature).
    #[error("signing failed: {0}")]
    Signing(solana_sdk::signer::SignerError),
    /// A required account does not exist.
    #[error("account {0} does not exist")]
    AccountNotFound(Pubkey),
    /// An account does not decode as what it should be.
    #[error("account {address} is not a valid {kind}")]
    Decode {
        /// The account.
        address: Pubkey,
        /// What it should be.
        kind: &'static str,
    },
    /// A voucher does not verify or parse.
    #[error("voucher rejected: {0}")]
    Voucher(#[from] micropay_sdk::voucher::VoucherError),
    /// The payer would sign past the channel's allocation.
    #[error("channel {channel}: paying {price} would bring the total to {needed}, above its allocation of {allocation}; top the channel up (micropay channel top-up) or open a new one")]
    AllocationExceeded {
        /// The channel.
        channel: Pubkey,
        /// The price asked, base units.
        price: u64,
        /// The cumulative amount it would take, base units.
        needed: u64,
        /// The channel's allocation, base units.
        allocation: u64,
    },
    /// The receiver refused a voucher.
    #[error("voucher refused: {0}")]
    Rejected(#[from] crate::rejection::Rejection),
    /// The voucher store failed (I/O, corruption, schema).
    #[error("{}", match path {
        Some(path) => format!("voucher store {}: {reason}", path.display()),
        None => format!("voucher store: {reason}"),
    })]
    Store {
        /// The store's file, when it has one.
        path: Option<std::path::PathBuf>,
        /// What failed.
        reason: String,
    },
    /// Compare-and-set kept losing to concurrent writers of one row.
    #[error(
        "the store row of channel {channel} kept changing under concurrent writers; try again"
    )]
    /// The channel whose row kept changing.
    StoreContention {
        /// The channel whose row kept changing.
        channel: Pubkey,
    },
    /// The payer holds no session key for this channel.
    #[error("channel {channel} is not registered with this payer (open it with `micropay channel open`, or register its session key)")]
    UnknownPayerChannel {
        /// The channel.
        channel: Pubkey,
    },
    /// A server claimed to hold a voucher of this channel that its session
    /// key never signed: nothing is changed.
    #[error("channel {channel}: the voucher the server says it holds was not signed by this channel's session key; not resuming from it")]
    ForeignHeldVoucher {
        /// The channel.
        channel: Pubkey,
    },
    /// A payment of zero was asked.
    #[error("a payment must be above zero")]
    ZeroPayment,
    /// A store was expected at a path that has none.
    #[error("no store at {path}: accept a voucher first (micropay accept creates it), or pass the right --store")]
    StoreMissing {
        /// The path given.
        path: std::path::PathBuf,
    },
    /// A token program's instruction builder refused its arguments (an
    /// unknown token program id).
    #[error("token program {program} cannot build this instruction: {error}")]
    TokenInstruction {
        /// The token program id given.
        program: Pubkey,
        /// The builder's error.
        error: anchor_lang::prelude::ProgramError,
    },
    /// SOL was to be wrapped into, or unwrapped out of, a mint that is not
    /// wrapped SOL.
    #[error("mint {mint} is not wrapped SOL: name a token account of it instead of wrapping or unwrapping SOL")]
    NotWrappedSol {
        /// The mint given.
        mint: Pubkey,
    },
    /// A split's recipients cannot be hashed into its address (they do not
    /// serialize).
    #[error("these {recipients} split recipients cannot be encoded into a split address")]
    UnencodableSplit {
        /// How many recipients were given.
        recipients: usize,
    },
    /// A v1 (4 KB) transaction could not be built, signed or parsed.
    #[error("v1 transaction: {reason}")]
    V1Transaction {
        /// What the SDK's v1 message type (or the wire check) said.
        reason: String,
    },
    /// An x402 `exact` payment's transaction is not one this server signs
    /// as fee payer; nothing was sent.
    #[error("x402 exact payment refused: {0}")]
    Exact(#[from] micropay_sdk::x402::exact::ExactRefusal),
}

impl From<micropay_sdk::SdkError> for ClientError {
    fn from(e: micropay_sdk::SdkError) -> Self {
        use micropay_sdk::SdkError as S;
        match e {
            S::Decode { address, kind } => ClientError::Decode { address, kind },
            S::Voucher(v) => ClientError::Voucher(v),
            S::TokenInstruction { program, error } => {
                ClientError::TokenInstruction { program, error }
            }
        }
    }
}

#[cfg(feature = "sqlite")]
impl From<rusqlite::Error> for ClientError {
    fn from(e: rusqlite::Error) -> Self {
        ClientError::store(e.to_string())
    }
}

const SPL_TOKEN: Pubkey = anchor_spl::token::ID;
const TOKEN_2022: Pubkey = anchor_spl::token_2022::ID;
const SYSTEM: Pubkey = anchor_lang::system_program::ID;

/// What a failed instruction means for the user, and what to do.
fn instruction_sentence(index: u8, program: Option<&Pubkey>, error: &InstructionError) -> String {
    use InstructionError::Custom;
    let token = |p: &Pubkey| *p == SPL_TOKEN || *p == TOKEN_2022;
    let what = match (program, error) {
        (Some(p), Custom(0)) if *p == SYSTEM => {
            "an account this transaction creates already exists".to_string()
        }
        (Some(p), Custom(1)) if *p == SYSTEM => "the wallet has too few SOL for this transfer: \
             send less, or fund it (`micropay airdrop <SOL>` on a local node or test cluster)"
            .to_string(),
        (Some(p), Custom(1)) if token(p) => {
            "the token account holds too few tokens for this transfer: send less".to_string()
        }
        (Some(p), Custom(3)) if token(p) => {
            "a token account is of another mint: pass a token account of this mint".to_string()
        }
        (Some(p), Custom(4)) if token(p) => {
            "a token account is not owned by the signer: pass one you own".to_string()
        }
        // Anchor's AccountOwnedByWrongProgram: typically a wallet address
        // where a token account belongs
        (Some(p), Custom(3007)) if *p == micropay::ID => {
            "an account is owned by the wrong program: where a token account is expected \
             (`--to`, `--from`), pass a token account of the mint, not a wallet address"
                .to_string()
        }
        // Anchor's AccountNotInitialized
        (Some(p), Custom(3012)) if *p == micropay::ID => {
            "an account the instruction needs does not exist: create it first".to_string()
        }
        (Some(p), e) => format!("program {p} failed: {e}"),
        (None, e) => e.to_string(),
    };
    format!(
        "instruction {} refused: {what}",
        u16::from(index).saturating_add(1)
    )
}

/// What a refused transaction means for the user, and what to do.
fn transaction_sentence(error: &TransactionError, fee_payer: Option<&Pubkey>) -> String {
    let payer = fee_payer.map_or_else(
        || "the fee payer".to_string(),
        |p| format!("the fee payer {p}"),
    );
    match error {
        TransactionError::AccountNotFound => format!(
            "{payer} has no SOL on this cluster: fund it (`micropay airdrop 1` on a local node or \
             test cluster), or check -k and -u"
        ),
        TransactionError::InsufficientFundsForFee => {
            format!("{payer} has too few SOL for the fee: fund it")
        }
        TransactionError::InsufficientFundsForRent { .. } => {
            "an account would be left below its rent-exempt minimum: send more SOL with it".into()
        }
        TransactionError::BlockhashNotFound => {
            "the transaction's blockhash expired before it landed: try again".into()
        }
        other => format!("transaction refused: {other}"),
    }
}

/// Schemes whose URLs are redacted in messages.
const URL_SCHEMES: [&str; 6] = [
    "http://",
    "https://",
    "ws://",
    "wss://",
    "postgres://",
    "postgresql://",
];

/// `url` without what may carry a credential: user info, path, query and
/// fragment become `…`; the scheme, host and port stay (enough to tell
/// which node failed).
pub fn redact_url(url: &str) -> String {
    let Some(scheme) = URL_SCHEMES.iter().find(|s| {
        url.get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s))
    }) else {
        return url.to_string();
    };
    let rest = url.get(scheme.len()..).unwrap_or_default();
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = authority.rsplit('@').next().unwrap_or_default();
    let userinfo = if host.len() < authority.len() {
        "…@"
    } else {
        ""
    };
    let tail = if tail.is_empty() || tail == "/" {
        tail
    } else {
        "/…"
    };
    format!("{scheme}{userinfo}{host}{tail}")
}

/// `text` with every URL in it redacted ([`redact_url`]).
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let lower = rest.to_ascii_lowercase();
        let Some(start) = URL_SCHEMES.iter().filter_map(|s| lower.find(s)).min() else {
            out.push_str(rest);
            return out;
        };
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        let end = from
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '<' | '>' | ','))
            .unwrap_or(from.len());
        let (url, after) = from.split_at(end);
        out.push_str(&redact_url(url));
        rest = after;
    }
}

impl ClientError {
    /// An RPC failure: `error`'s text with its URLs redacted.
    pub fn rpc(error: impl std::fmt::Display) -> Self {
        ClientError::Rpc(redact_urls(&error.to_string()))
    }

    /// A store error not (yet) tied to a file.
    pub fn store(reason: impl Into<String>) -> Self {
        ClientError::Store {
            path: None,
            reason: reason.into(),
        }
    }

    /// The error of a failed transaction; `message` (the transaction's)
    /// names the failing program and the fee payer. A custom code of
    /// micropay's becomes [`ClientError::Program`].
    pub fn from_transaction_error(error: TransactionError, message: Option<&Message>) -> Self {
        let fee_payer = message.and_then(|m| m.account_keys.first().copied());
        let TransactionError::InstructionError(index, instruction) = error else {
            return ClientError::Transaction { error, fee_payer };
        };
        let program = message.and_then(|m| {
            let ix = m.instructions.get(usize::from(index))?;
            m.account_keys
                .get(usize::from(ix.program_id_index))
                .copied()
        });
        if let InstructionError::Custom(code) = instruction {
            let ours = program.is_none_or(|p| p == micropay::ID);
            if let Some(error) = program_error(code).filter(|_| ours) {
                return ClientError::Program {
                    code,
                    name: error.name(),
                    message: error.to_string(),
                    error,
                };
            }
        }
        ClientError::Instruction {
            index,
            program,
            error: instruction,
        }
    }

    /// Whether the program refused to create an account that exists
    /// (`AlreadyInitialized`).
    pub fn is_already_initialized(&self) -> bool {
        matches!(
            self,
            ClientError::Program {
                error: MicropayError::AlreadyInitialized,
                ..
            }
        )
    }

    /// Whether the voucher store failed (not the cluster, not a rule).
    pub fn is_store(&self) -> bool {
        matches!(
            self,
            ClientError::Store { .. }
                | ClientError::StoreContention { .. }
                | ClientError::StoreMissing { .. }
        )
    }

    /// The program error, when the program refused.
    pub fn program_error(&self) -> Option<MicropayError> {
        match self {
            ClientError::Program { error, .. } => Some(*error),
            _ => None,
        }
    }
}

/// The client's result type.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn message(programs: &[Pubkey]) -> Message {
        let payer = Pubkey::new_unique();
        let ixs: Vec<_> = programs
            .iter()
            .map(|p| solana_sdk::instruction::Instruction::new_with_bytes(*p, &[], vec![]))
            .collect();
        Message::new(&ixs, Some(&payer))
    }

    fn ix_error(program: Pubkey, code: u32) -> ClientError {
        let m = message(&[SYSTEM, program]);
        let e = TransactionError::InstructionError(1, InstructionError::Custom(code));
        ClientError::from_transaction_error(e, Some(&m))
    }

    #[test]
    fn a_program_code_becomes_the_program_error() {
        let code = u32::from(MicropayError::InsufficientBalance);
        let e = ix_error(micropay::ID, code);
        assert!(e.to_string().starts_with("Not enough free balance"), "{e}");
        // without the transaction, a micropay code is still recognised
        let bare = TransactionError::InstructionError(0, InstructionError::Custom(code));
        assert!(matches!(
            ClientError::from_transaction_error(bare, None).program_error(),
            Some(MicropayError::InsufficientBalance)
        ));
        // the same number from another program is that program's
        assert!(matches!(
            ix_error(SPL_TOKEN, code),
            ClientError::Instruction { program: Some(p), .. } if p == SPL_TOKEN
        ));
    }

    /// RPC providers put credentials in URLs: no message shows one.
    #[test]
    fn urls_are_redacted_at_the_source_and_when_shown() {
        let raw = "error sending request for url (https://user:pw@rpc.example.com:8899/v2/SECRET1?api-key=SECRET2#x): connection refused; ws wss://rpc.example.com/?token=SECRET3, postgres://me:SECRET4@db/x";
        let e = ClientError::rpc(raw);
        for shown in [e.to_string(), format!("{e:?}")] {
            for secret in ["SECRET1", "SECRET2", "SECRET3", "SECRET4", "user:pw", "me:"] {
                assert!(!shown.contains(secret), "{shown}");
            }
            assert!(
                shown.contains("https://…@rpc.example.com:8899/…"),
                "{shown}"
            );
            assert!(shown.contains("wss://rpc.example.com/…"), "{shown}");
            assert!(shown.contains("connection refused"), "{shown}");
        }
        // built directly, the message is still redacted when shown
        let direct = ClientError::Rpc(raw.into()).to_string();
        assert!(!direct.contains("SECRET"), "{direct}");
        assert_eq!(redact_url("http://127.0.0.1:8899"), "http://127.0.0.1:8899");
        assert_eq!(
            redact_url("http://127.0.0.1:8899/"),
            "http://127.0.0.1:8899/"
        );
        assert_eq!(redact_url("HTTPS://h/k"), "https://h/…");
        assert_eq!(redact_urls("no url here"), "no url here");
    }

    /// The runtime and token errors users meet are sentences that say what
    /// to do, not hex codes.
    #[test]
    fn runtime_and_token_errors_are_sentences() {
        let cases = [
            (ix_error(SYSTEM, 1), "too few SOL for this transfer"),
            (ix_error(SPL_TOKEN, 1), "too few tokens"),
            (ix_error(TOKEN_2022, 4), "not owned by the signer"),
            (ix_error(micropay::ID, 3007), "not a wallet address"),
            (ix_error(micropay::ID, 3012), "does not exist"),
        ];
        for (e, says) in cases {
            let text = e.to_string();
            assert!(
                text.contains(says) && text.starts_with("instruction 2 refused"),
                "{text}"
            );
            assert!(!text.contains("0x"), "{text}");
        }
        let m = message(&[SYSTEM]);
        let payer = m.account_keys[0];
        let e = ClientError::from_transaction_error(TransactionError::AccountNotFound, Some(&m));
        let text = e.to_string();
        assert!(
            text.contains(&payer.to_string()) && text.contains("micropay airdrop"),
            "{text}"
        );
    }
}
