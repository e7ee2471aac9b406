//! What the cluster subcommands share: the RPC ledger and signer, mints and
//! their decimals, amounts in UI units, default store paths, printing text or
//! JSON, and errors a person can act on.

use super::{config, Cli, Failure, Output};
use anchor_lang::prelude::Pubkey;
use anchor_spl::{
    token::spl_token,
    token_interface::spl_token_2022::{extension::StateWithExtensions, state::Mint},
};
use micropay_client::{
    accounts,
    ledger::{rpc::RpcLedger, Ledger},
    store::{PayerStore, ReceiverStore, SqliteStore},
    ClientError,
};
use solana_sdk::signature::{Keypair, Signer};
use std::{path::PathBuf, sync::Arc};

/// A mint as the CLI shows it.
#[derive(Clone, Debug)]
pub struct MintInfo {
    pub address: Pubkey,
    pub token_program: Pubkey,
    pub decimals: u8,
    /// "SOL" for wrapped SOL, else a short form of the address.
    pub symbol: String,
}

impl MintInfo {
    /// The mint as the library's instructions take it.
    pub fn mint_ref(&self) -> micropay_client::tokens::MintRef {
        micropay_client::tokens::MintRef {
            address: self.address,
            token_program: self.token_program,
        }
    }

    pub fn is_sol(&self) -> bool {
        self.address == spl_token::native_mint::ID
    }

    pub fn ui(&self, amount: u64) -> String {
        format!("{} {}", format_amount(amount, self.decimals), self.symbol)
    }
}

pub struct Ctx {
    pub ledger: Arc<RpcLedger>,
    /// Where the signer comes from (`-k`, the Solana CLI config, the default).
    source: Option<config::SignerSource>,
    /// The signer, read on first use (a read-only command never prompts),
    /// or why there is none.
    signer: std::sync::OnceLock<Result<Keypair, String>>,
    pub output: Output,
}

impl Ctx {
    /// The cluster (`-u`, never the embedded bank: its state would vanish with
    /// the command) and the signer (`-k`), which must be readable.
    pub fn new(cli: &Cli) -> Result<Self, Failure> {
        let ctx = Self::read_only(cli)?;
        ctx.keypair()?;
        Ok(ctx)
    }

    /// The cluster, and the signer when there is one: for commands that only
    /// read (they ask for the signer only where they need an address).
    pub fn read_only(cli: &Cli) -> Result<Self, Failure> {
        Self::connect(
            cli.url.as_deref(),
            cli.keypair.as_deref(),
            cli.commitment,
            cli.output,
        )
    }

    /// [`Ctx::read_only`] with the cluster and signer given (e.g. from a
    /// configuration file when the flags are absent).
    pub fn connect(
        url: Option<&str>,
        keypair: Option<&str>,
        commitment: crate::Commitment,
        output: Output,
    ) -> Result<Self, Failure> {
        let url = match config::target(url, "localhost")? {
            config::Target::Rpc(url) => url,
            config::Target::Embedded => {
                return Err(Failure::user(
                    "the embedded bank lives only as long as one command; start `micropay node` and use -u localhost",
                ))
            }
        };
        let source = config::signer_source(keypair);
        Ok(Ctx {
            ledger: Arc::new(RpcLedger::new(url, commitment.config())),
            source,
            signer: std::sync::OnceLock::new(),
            output,
        })
    }

    /// The signer (`-k`), or the error that says how to get one.
    pub fn keypair(&self) -> Result<&Keypair, Failure> {
        self.signer
            .get_or_init(|| match &self.source {
                None => Err("no keypair: pass -k <file>".to_string()),
                Some(source) => config::read_signer(source).map_err(|f| f.message),
            })
            .as_ref()
            .map_err(|message| Failure::user(message.clone()))
    }

    pub fn ledger(&self) -> &dyn Ledger {
        self.ledger.as_ref()
    }

    /// One look at the cluster before a command that uses micropay: it
    /// answers, and the program is there. A stopped node is "cannot reach
    /// the cluster at …", and a cluster without micropay (a public one it
    /// was never deployed on, a plain test validator) says so, instead of
    /// "no escrow" or a refused transaction further on.
    pub async fn deployed(&self) -> Result<(), Failure> {
        let url = micropay_client::error::redact_url(&self.ledger.url());
        match self.ledger.account(&micropay::ID).await {
            Ok(Some(program)) if program.executable => Ok(()),
            Ok(_) => Err(Failure::user(format!(
                "micropay is not deployed on {url} (program {}): deploy it (README, \"Deploying the program\") or use `micropay node`",
                micropay::ID
            ))),
            Err(ClientError::Rpc(reason)) => {
                // the RPC client words a refused connection as a failed
                // account read ("AccountNotFound: … error sending request")
                let why = if reason.contains("error sending request") {
                    "no answer".to_string()
                } else {
                    reason
                };
                Err(Failure {
                    message: format!(
                        "cannot reach the cluster at {url} ({why}): check -u, and that the node is running (`micropay node`)"
                    ),
                    code: 2,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The signer's address.
    pub fn me(&self) -> Result<Pubkey, Failure> {
        Ok(self.keypair()?.pubkey())
    }

    /// `sol` or a mint address, as a `--mint` flag gives it (its errors
    /// name the flag; a file's mints are checked as addresses first).
    pub async fn mint(&self, arg: &str) -> Result<MintInfo, Failure> {
        let address = if arg.eq_ignore_ascii_case("sol") {
            spl_token::native_mint::ID
        } else {
            arg.parse().map_err(|_| {
                Failure::user(format!("--mint `{arg}` is not a mint address (or `sol`)"))
            })?
        };
        let account = self.ledger.account(&address).await?.ok_or_else(|| {
            Failure::user(format!("mint {address} does not exist on this cluster"))
        })?;
        let state = StateWithExtensions::<Mint>::unpack(&account.data)
            .map_err(|_| Failure::user(format!("{address} is not a token mint")))?;
        let symbol = if address == spl_token::native_mint::ID {
            "SOL".to_string()
        } else {
            let s = address.to_string();
            format!("{}…", &s[..4])
        };
        Ok(MintInfo {
            address,
            token_program: account.owner,
            decimals: state.base.decimals,
            symbol,
        })
    }

    /// The signer's token account of `mint` with the most tokens.
    pub async fn token_account(
        &self,
        owner: &Pubkey,
        mint: &MintInfo,
    ) -> Result<Option<(Pubkey, u64)>, Failure> {
        let accounts = self
            .ledger
            .client()
            .get_token_accounts_by_owner(
                owner,
                solana_rpc_client_api::request::TokenAccountsFilter::Mint(mint.address),
            )
            .await
            .map_err(|e| ClientError::rpc(e.to_string()))?;
        let mut best: Option<(Pubkey, u64)> = None;
        for keyed in accounts {
            let Ok(address) = keyed.pubkey.parse::<Pubkey>() else {
                continue;
            };
            let amount = accounts::token_amount(self.ledger(), &address).await?;
            if best.is_none_or(|(_, b)| amount > b) {
                best = Some((address, amount));
            }
        }
        Ok(best)
    }

    /// Prints a command's typed result: its JSON, or its text.
    pub fn show<T: serde::Serialize + std::fmt::Display>(&self, result: &T) {
        emit(self.output, result);
    }
}

/// Parses a UI amount ("1.25") into base units, exactly (no floats).
pub fn parse_amount(ui: &str, decimals: u8) -> Result<u64, Failure> {
    micropay_sdk::amount::parse_ui(ui, decimals).ok_or_else(|| {
        Failure::user(format!(
            "`{ui}` is not an amount with at most {decimals} decimals"
        ))
    })
}

/// Formats base units with the mint's decimals ("1.25").
pub fn format_amount(amount: u64, decimals: u8) -> String {
    micropay_sdk::amount::format_ui(amount, decimals)
}

/// A cluster unix timestamp as a UTC time a person reads ("2026-11-27T10:45:00Z").
pub fn utc(unix_timestamp: i64) -> String {
    let secs = u64::try_from(unix_timestamp).unwrap_or(0);
    std::time::UNIX_EPOCH
        .checked_add(std::time::Duration::from_secs(secs))
        .map_or_else(
            || format!("unix time {unix_timestamp}"),
            |t| humantime::format_rfc3339_seconds(t).to_string(),
        )
}

/// A span of seconds as a person says it: `45 s`, `15 min`, `2 h 5 min`,
/// `1 d`, `1 d 3 h` (the two largest units; negative spans as their size).
pub fn relative(secs: i64) -> String {
    let secs = secs.unsigned_abs();
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    );
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "min"), (s, "s")]
        .into_iter()
        .skip_while(|(n, _)| *n == 0)
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    if parts.is_empty() {
        "0 s".into()
    } else {
        parts.join(" ")
    }
}

/// Clap's parser for an address argument. The default one's reason for a
/// bad value is "String is the wrong size"; this one says what is wanted
/// (clap names the argument).
pub fn address(text: &str) -> Result<Pubkey, String> {
    text.parse()
        .map_err(|_| "not an address: expected a base58 public key (32 bytes)".to_string())
}

/// Prints a command's typed result as `output` asks: one JSON line, or its
/// `Display` text. Text and JSON come from the same struct, so they agree.
pub fn emit<T: serde::Serialize + std::fmt::Display>(output: Output, result: &T) {
    match output {
        Output::Json => match serde_json::to_string(result) {
            Ok(json) => print_line(&json),
            Err(e) => eprintln!("error: cannot encode the result as JSON: {e}"),
        },
        Output::Text => print_line(&result.to_string()),
    }
}

/// `line` on stdout; a reader that went away (a closed pipe) is not a
/// reason to panic — `println!` would, turning a command's exit code into
/// 101 (seen with `serve` whose supervisor stopped reading after the
/// banner).
pub fn print_line(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// Whether `--store` names a Postgres database rather than a SQLite file.
pub fn is_postgres(store: &std::path::Path) -> bool {
    store
        .to_str()
        .is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// The receiver store `--store` names — a `postgres://` (or `postgresql://`)
/// URL opens the Postgres store shared by gateways on several machines, a
/// path a SQLite file (default `~/.config/micropay/receiver.db`; with
/// `existing`, it must exist) — and its name for output (URLs without
/// their password).
pub fn receiver_store(
    explicit: Option<&PathBuf>,
    existing: bool,
) -> Result<(Arc<dyn ReceiverStore>, String), Failure> {
    if let Some(url) = explicit.filter(|p| is_postgres(p)).and_then(|p| p.to_str()) {
        let (store, name) = postgres(url)?;
        return Ok((store, name));
    }
    let path = store_path(explicit, "receiver");
    let store = if existing {
        SqliteStore::open_existing(&path)?
    } else {
        SqliteStore::open(&path)?
    };
    Ok((Arc::new(store), path.display().to_string()))
}

/// The payer store `--store` names: a `postgres://` URL (a payer running on
/// several machines), else a SQLite file (default
/// `~/.config/micropay/payer.db`).
pub fn payer_store(explicit: Option<&PathBuf>) -> Result<Arc<dyn PayerStore>, Failure> {
    if let Some(url) = explicit.filter(|p| is_postgres(p)).and_then(|p| p.to_str()) {
        return Ok(postgres(url)?.0);
    }
    Ok(Arc::new(SqliteStore::open(store_path(explicit, "payer"))?))
}

/// The Postgres store at `url`, and its name for output (without the
/// password).
#[cfg(feature = "postgres")]
fn postgres(
    url: &str,
) -> Result<(Arc<micropay_client::store::postgres::PostgresStore>, String), Failure> {
    let store = micropay_client::store::postgres::PostgresStore::connect(url)?;
    let name = store.name().to_string();
    Ok((Arc::new(store), name))
}

/// What a binary built without Postgres says to `--store postgres://…`
/// (the URL is not repeated: it may hold a password).
#[cfg(not(feature = "postgres"))]
fn postgres(_url: &str) -> Result<(Arc<SqliteStore>, String), Failure> {
    Err(Failure::user(
        "this micropay was built without Postgres: install it with `cargo install --path cli --features postgres` (or `full`)",
    ))
}

/// `~/.config/micropay/<name>.db`, unless overridden.
pub fn store_path(explicit: Option<&PathBuf>, name: &str) -> PathBuf {
    explicit.cloned().unwrap_or_else(|| {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".config/micropay")
            .join(format!("{name}.db"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_exactly_and_format_back() {
        assert_eq!(parse_amount("1.25", 6).unwrap(), 1_250_000);
        assert_eq!(parse_amount("0.000001", 6).unwrap(), 1);
        assert_eq!(parse_amount("3", 9).unwrap(), 3_000_000_000);
        assert_eq!(parse_amount(".5", 1).unwrap(), 5);
        for bad in [
            "",
            ".",
            "1.0000001",
            "-1",
            "1e3",
            "abc",
            "99999999999999999999",
        ] {
            assert!(parse_amount(bad, 6).is_err(), "{bad}");
        }
        assert_eq!(format_amount(1_250_000, 6), "1.25");
        assert_eq!(format_amount(200_000, 6), "0.2");
        assert_eq!(format_amount(0, 9), "0");
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_795_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(utc(-5), "1970-01-01T00:00:00Z");
        for (secs, said) in [
            (0, "0 s"),
            (45, "45 s"),
            (900, "15 min"),
            (3_660, "1 h 1 min"),
            (7_500, "2 h 5 min"),
            (86_400, "1 d"),
            (97_200, "1 d 3 h"),
            (86_401, "1 d"),
            (-900, "15 min"),
        ] {
            assert_eq!(relative(secs), said, "{secs}");
        }
    }
}
