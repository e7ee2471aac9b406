//! `micropay airdrop`: SOL for a wallet on the local node or a test cluster
//! (devnet, testnet): the faucet a newcomer needs without the Solana CLI.

use super::{
    context::{format_amount, parse_amount, Ctx},
    Cli, Failure,
};
use anchor_lang::prelude::Pubkey;
use clap::Args;
use micropay_client::ClientError;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct AirdropArgs {
    /// SOL to request (e.g. `2` or `0.5`).
    pub amount: String,
    /// Who gets it (default: your wallet, `-k`).
    #[arg(value_parser = crate::context::address)]
    pub pubkey: Option<Pubkey>,
}

pub async fn run(cli: &Cli, args: &AirdropArgs) -> Result<(), Failure> {
    let lamports = parse_amount(&args.amount, 9)?;
    if lamports == 0 {
        return Err(Failure::user("the amount must be above zero"));
    }
    let ctx = Ctx::read_only(cli)?;
    let to = match args.pubkey {
        Some(p) => p,
        None => ctx.me()?,
    };
    let client = ctx.ledger.client();
    let signature = client.request_airdrop(&to, lamports).await.map_err(|e| {
        Failure::from(ClientError::rpc(format!(
            "{e}; this cluster may give no airdrops (mainnet never does): fund {to} from another wallet"
        )))
    })?;
    // wait for the faucet's transfer, at most a minute
    let mut confirmed = false;
    for _ in 0..120 {
        if client
            .confirm_transaction(&signature)
            .await
            .map_err(|e| Failure::from(ClientError::rpc(e.to_string())))?
        {
            confirmed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    if !confirmed {
        return Err(Failure::from(ClientError::rpc(format!(
            "the airdrop {signature} was not confirmed within a minute"
        ))));
    }
    let balance = ctx.ledger().balance(&to).await?;
    ctx.show(&Airdropped {
        pubkey: to.to_string(),
        lamports,
        balance,
        balance_sol: format_amount(balance, 9),
        sol: format_amount(lamports, 9),
        signature: signature.to_string(),
    });
    Ok(())
}

/// What `micropay airdrop` did.
#[derive(Debug, serde::Serialize)]
pub struct Airdropped {
    pubkey: String,
    lamports: u64,
    sol: String,
    balance: u64,
    balance_sol: String,
    signature: String,
}

impl std::fmt::Display for Airdropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} SOL sent to {}; it holds {} SOL",
            self.sol, self.pubkey, self.balance_sol
        )
    }
}
