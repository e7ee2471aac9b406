//! An x402 `exact` world on any ledger: a token mint, a client holding
//! 5,000,000 of it in its associated account, a creator's empty associated
//! account, a fee payer (funded by the caller), and the client-signed
//! payments x402 clients build — compute limit and price, TransferChecked,
//! a memo nonce; v0, the fee payer's signature left for the server.

use anchor_spl::token::spl_token::{self, ID as TOKEN};
use micropay_client::{accounts, exact, ledger::Ledger, tokens, ClientError};
use micropay_sdk::{
    tokens::CreateAssociatedTokenAccount,
    x402::exact::{encode, Terms, COMPUTE_BUDGET, MEMO},
};
use solana_sdk::{
    instruction::Instruction,
    message::{v0, VersionedMessage},
    pubkey::Pubkey,
    signature::{Keypair, Signature, Signer},
    transaction::VersionedTransaction,
};

/// What one payment costs in the fixtures, base units.
pub const PRICE: u64 = 1_000;

/// The client's starting balance, base units.
pub const HELD: u64 = 5_000_000;

/// See the module docs.
pub struct ExactWorld {
    pub client: Keypair,
    pub fee_payer: Keypair,
    pub mint: Pubkey,
    /// The client's and the creator's associated token accounts.
    pub source: Pubkey,
    pub destination: Pubkey,
    /// [`PRICE`] to the creator, the fee payer's.
    pub terms: Terms,
}

/// The world on `l`, `setup` paying its rent; `fee_payer` must be funded.
pub async fn exact_world(l: &dyn Ledger, setup: &Keypair, fee_payer: Keypair) -> ExactWorld {
    exact_world_with(l, setup, fee_payer, true).await
}

/// [`exact_world`], the creator's associated token account created only
/// with `payee_account` (a gateway creates it otherwise).
pub async fn exact_world_with(
    l: &dyn Ledger,
    setup: &Keypair,
    fee_payer: Keypair,
    payee_account: bool,
) -> ExactWorld {
    let (client, creator) = (Keypair::new(), Keypair::new());
    let mint = tokens::create_mint(l, setup, &setup.pubkey(), &TOKEN, 6)
        .await
        .unwrap();
    let ata = |owner: &Keypair| CreateAssociatedTokenAccount {
        payer: setup.pubkey(),
        owner: owner.pubkey(),
        mint,
        token_program: TOKEN,
    };
    let (source, destination) = (ata(&client).address(), ata(&creator).address());
    let mut create = vec![ata(&client).instruction()];
    if payee_account {
        create.push(ata(&creator).instruction());
    }
    l.send(&create, setup, &[]).await.unwrap();
    tokens::mint_to(l, setup, setup, &mint, &source, &TOKEN, HELD)
        .await
        .unwrap();
    let terms = Terms {
        amount: PRICE,
        asset: mint,
        pay_to: creator.pubkey(),
        fee_payer: fee_payer.pubkey(),
        memo: None,
    };
    ExactWorld {
        client,
        fee_payer,
        mint,
        source,
        destination,
        terms,
    }
}

impl ExactWorld {
    /// The client's payment of `amount` stating `decimals`, as an `exact`
    /// payload carries it.
    pub async fn payment(&self, l: &dyn Ledger, amount: u64, decimals: u8) -> String {
        let blockhash = l.latest_blockhash().await.unwrap();
        self.payment_at(amount, decimals, blockhash)
    }

    /// [`ExactWorld::payment`] with `blockhash` as its lifetime (one the
    /// cluster does not know: expired, or never issued).
    pub fn payment_at(
        &self,
        amount: u64,
        decimals: u8,
        blockhash: solana_sdk::hash::Hash,
    ) -> String {
        let mut limit = vec![2u8];
        limit.extend(40_000u32.to_le_bytes());
        let mut price = vec![3u8];
        price.extend(1_000u64.to_le_bytes());
        let ixs = [
            Instruction::new_with_bytes(COMPUTE_BUDGET, &limit, vec![]),
            Instruction::new_with_bytes(COMPUTE_BUDGET, &price, vec![]),
            spl_token::instruction::transfer_checked(
                &TOKEN,
                &self.source,
                &self.mint,
                &self.destination,
                &self.client.pubkey(),
                &[],
                amount,
                decimals,
            )
            .unwrap(),
            Instruction::new_with_bytes(MEMO, Pubkey::new_unique().to_string().as_bytes(), vec![]),
        ];
        let message =
            v0::Message::try_compile(&self.fee_payer.pubkey(), &ixs, &[], blockhash).unwrap();
        let message = VersionedMessage::V0(message);
        let mut signatures = vec![Signature::default(); 2];
        signatures[1] = self.client.sign_message(&message.serialize());
        encode(&VersionedTransaction {
            signatures,
            message,
        })
    }

    /// A payment of `amount` stating `decimals`, under terms of that
    /// amount, which the server checks and co-signs but the cluster
    /// refuses (the client lacks the tokens, or the decimals are wrong):
    /// the send's error.
    pub async fn refused_by_cluster(
        &self,
        l: &dyn Ledger,
        amount: u64,
        decimals: u8,
    ) -> ClientError {
        let terms = Terms {
            amount,
            ..self.terms.clone()
        };
        let wire = self.payment(l, amount, decimals).await;
        let prepared = exact::prepare(&wire, &terms, &self.fee_payer).unwrap();
        exact::send(l, &prepared).await.unwrap_err()
    }

    /// The client's and the creator's token balances, the fee payer's lamports.
    pub async fn balances(&self, l: &dyn Ledger) -> (u64, u64, u64) {
        (
            accounts::token_amount(l, &self.source).await.unwrap(),
            accounts::token_amount(l, &self.destination).await.unwrap(),
            l.balance(&self.fee_payer.pubkey()).await.unwrap(),
        )
    }
}
