//! The world of the story: its mint, the payers with funded escrows, the
//! creators (one may be a royalty split) with their receivers sharing one
//! store, the dApp, and a channel from every payer to every creator.

use super::{ScenarioConfig, ScenarioError, ScenarioMint};
use anchor_lang::{prelude::Pubkey, Space};
use anchor_spl::token::spl_token;
use micropay::state::Channel;
use micropay_client::{
    accounts, channels, earnings,
    error::{ClientError, Result},
    escrow,
    ledger::Ledger,
    payer::{AsyncPayer, Payer},
    planner::UnitValue,
    receiver::{AcceptedMint, FeePolicy, Receiver, ReceiverConfig},
    splits,
    store::{PayerStore, ReceiverStore, SqliteStore},
    tokens::{self, MintRef, Source},
};
use micropay_sdk::pda;
use rand::{rngs::StdRng, Rng};
use solana_sdk::signature::{Keypair, Signer};
use std::sync::Arc;

/// Every mint of the story is an SPL Token one.
pub(super) const TOKEN_PROGRAM: Pubkey = spl_token::ID;

/// The ledger, who pays for the set-up, and what the configuration makes of
/// the budget.
pub(super) struct World<'a> {
    pub(super) ledger: Arc<dyn Ledger>,
    pub(super) funder: &'a Keypair,
    pub(super) config: &'a ScenarioConfig,
    pub(super) mint: Pubkey,
    /// What a base unit of `mint` is worth in lamports.
    pub(super) value: UnitValue,
    /// Each channel's allocation.
    pub(super) allocation: u64,
    /// Each payer's deposit: an allocation per creator.
    pub(super) deposit: u64,
}

/// A creator, its receiver, and what that receiver accepted (gross, and net
/// of fee shares).
pub(super) struct Creator {
    pub(super) payee: Payee,
    pub(super) receiver: Receiver,
    pub(super) accepted: u64,
    pub(super) accepted_net: u64,
}

/// Everyone in the story.
pub(super) struct Cast {
    pub(super) payers: Vec<SimPayer>,
    pub(super) creators: Vec<Creator>,
    pub(super) dapp: Keypair,
    /// The one store every creator's receiver keeps vouchers in (a metering
    /// service), so the planner batches across creators.
    pub(super) store: Arc<dyn ReceiverStore>,
    pub(super) receiver_config: ReceiverConfig,
}

impl<'a> World<'a> {
    /// The budget (every payer can afford its share of the payments at the
    /// top price) and the mint, created when the story pays in a new token.
    pub(super) async fn new(
        ledger: Arc<dyn Ledger>,
        funder: &'a Keypair,
        config: &'a ScenarioConfig,
    ) -> Result<Self> {
        let per_payer = u64::try_from(config.payments)
            .unwrap_or(u64::MAX)
            .saturating_mul(config.max_price)
            .checked_div(u64::try_from(config.payers).unwrap_or(1))
            .unwrap_or(0);
        let allocation = per_payer.saturating_add(config.max_price);
        let deposit = allocation.saturating_mul(u64::try_from(config.creators).unwrap_or(1));
        let (mint, value) = match config.mint {
            ScenarioMint::WrappedSol => (spl_token::native_mint::ID, UnitValue::LAMPORT),
            ScenarioMint::NewToken { decimals, value } => {
                let l = ledger.as_ref();
                let mint =
                    tokens::create_mint(l, funder, &funder.pubkey(), &TOKEN_PROGRAM, decimals)
                        .await?;
                (mint, value)
            }
        };
        Ok(World {
            ledger,
            funder,
            config,
            mint,
            value,
            allocation,
            deposit,
        })
    }

    pub(super) fn l(&self) -> &dyn Ledger {
        self.ledger.as_ref()
    }

    /// Funds the payers, creates the creators and the dApp, opens the
    /// channels.
    pub(super) async fn cast(&self, rng: &mut StdRng) -> Result<Cast, ScenarioError> {
        let mut payers = Vec::with_capacity(self.config.payers);
        for _ in 0..self.config.payers {
            payers.push(self.fund_payer().await?);
        }
        let dapp = Keypair::new();
        let receiver_config = ReceiverConfig {
            mints: vec![AcceptedMint {
                mint: self.mint,
                lamports: self.value.lamports,
                per_units: self.value.per_units,
            }],
            fees: FeePolicy::default().allow(dapp.pubkey(), self.config.dapp_fee_bps),
            min_dispute_window_secs: self.config.dispute_window_secs,
            ..ReceiverConfig::default()
        };
        let store: Arc<dyn ReceiverStore> = Arc::new(SqliteStore::in_memory()?);
        let creators = self.creators(&store, &receiver_config).await?;
        self.init_earnings(&dapp.pubkey()).await?;
        let mut cast = Cast {
            payers,
            creators,
            dapp,
            store,
            receiver_config,
        };
        self.open_channels(&mut cast, rng).await?;
        Ok(cast)
    }

    /// A payer: a wallet, a funded token account, an escrow with the deposit.
    async fn fund_payer(&self) -> Result<SimPayer, ScenarioError> {
        let (l, mint, deposit) = (self.l(), self.mint, self.deposit);
        let owner = Keypair::new();
        let wrapped = mint == spl_token::native_mint::ID;
        // the rent of one channel per creator, plus fees and token accounts
        let channel_rent = solana_sdk::rent::Rent::default()
            .minimum_balance(8usize.saturating_add(Channel::INIT_SPACE));
        let rent =
            channel_rent.saturating_mul(u64::try_from(self.config.creators).unwrap_or(u64::MAX));
        let sol_needed = if wrapped { deposit } else { 0 };
        let ix = solana_system_interface::instruction::transfer(
            &self.funder.pubkey(),
            &owner.pubkey(),
            sol_needed.saturating_add(rent).saturating_add(100_000_000),
        );
        l.send(&[ix], self.funder, &[]).await?;
        // the library's steps: SOL wrapped on the way in, tokens from the
        // wallet's token account
        let source = if wrapped {
            Source::WrapSol
        } else {
            let funder = self.funder;
            let account =
                tokens::create_token_account(l, &owner, &mint, &owner.pubkey(), &TOKEN_PROGRAM)
                    .await?;
            tokens::mint_to(l, funder, funder, &mint, &account, &TOKEN_PROGRAM, deposit).await?;
            Source::Account(account)
        };
        let mint_ref = MintRef {
            address: mint,
            token_program: TOKEN_PROGRAM,
        };
        escrow::init(l, &owner, &mint_ref).await?;
        escrow::deposit(l, &owner, &mint_ref, deposit, source).await?;
        let escrow = pda::escrow(&owner.pubkey(), &mint).0;
        let store: Arc<dyn PayerStore> = Arc::new(SqliteStore::in_memory()?);
        Ok(SimPayer {
            owner,
            escrow,
            payer: Payer::new(store).into(),
            channels: Vec::new(),
            paid: 0,
            closing: false,
            fee_bps: 0,
        })
    }

    /// The creators (the first a split when the configuration says so),
    /// each with its earnings account, created by the relayer.
    async fn creators(
        &self,
        store: &Arc<dyn ReceiverStore>,
        config: &ReceiverConfig,
    ) -> Result<Vec<Creator>, ScenarioError> {
        let mut creators = Vec::with_capacity(self.config.creators);
        for c in 0..self.config.creators {
            let payee = match self.config.split.filter(|_| c == 0) {
                Some(shares) => Payee::split(self.l(), self.funder, self.mint, shares).await?,
                None => Payee::wallet(),
            };
            // a split's own earnings account came with it
            if !payee.is_split {
                self.init_earnings(&payee.address).await?;
            }
            let receiver = Receiver::new(
                self.ledger.clone(),
                store.clone(),
                payee.address,
                config.clone(),
            );
            creators.push(Creator {
                payee,
                receiver,
                accepted: 0,
                accepted_net: 0,
            });
        }
        Ok(creators)
    }

    /// `owner`'s earnings account for the story's mint, paid by the funder.
    async fn init_earnings(&self, owner: &Pubkey) -> Result<()> {
        earnings::init(self.l(), self.funder, owner, &self.mint).await?;
        Ok(())
    }

    /// A channel from every payer to every creator, opened the library's
    /// one way (its voucher key derived from the payer's wallet, registered
    /// before it exists); every other payer's channels carry the dApp's
    /// share. Nonces come from the story's seed.
    async fn open_channels(&self, cast: &mut Cast, rng: &mut StdRng) -> Result<()> {
        let (l, bps) = (self.l(), self.config.dapp_fee_bps);
        for (p, payer) in cast.payers.iter_mut().enumerate() {
            let with_fee = p % 2 == 0 && bps > 0;
            payer.fee_bps = if with_fee { bps } else { 0 };
            for creator in &cast.creators {
                let state = accounts::escrow(l, &payer.escrow)
                    .await?
                    .ok_or(ClientError::AccountNotFound(payer.escrow))?;
                let request = channels::OpenRequest {
                    mint: self.mint,
                    creator: creator.payee.address,
                    allocation: self.allocation,
                    fee: with_fee.then(|| (cast.dapp.pubkey(), bps)),
                    dispute_window_secs: self.config.dispute_window_secs,
                    expires_at: 0,
                    nonce: Some(rng.gen()),
                };
                let opened =
                    channels::open(l, &payer.payer, &payer.owner, &state, &request).await?;
                payer.channels.push(opened.channel);
            }
        }
        Ok(())
    }
}

/// Who a creator's channels pay: a wallet, or a split of several owners.
pub(super) struct Payee {
    pub(super) address: Pubkey,
    /// The wallet(s) that withdraw, with their shares.
    pub(super) owners: Vec<(Keypair, u16)>,
    pub(super) is_split: bool,
}

impl Payee {
    fn wallet() -> Self {
        let wallet = Keypair::new();
        Payee {
            address: wallet.pubkey(),
            owners: vec![(wallet, 10_000)],
            is_split: false,
        }
    }

    /// A split of three new owners with `shares`, created with the
    /// earnings accounts it pays into (the library's step), paid by
    /// `funder`.
    async fn split(
        l: &dyn Ledger,
        funder: &Keypair,
        mint: Pubkey,
        shares: [u16; 3],
    ) -> Result<Self, ScenarioError> {
        let owners: Vec<(Keypair, u16)> = shares.iter().map(|b| (Keypair::new(), *b)).collect();
        let recipients = owners
            .iter()
            .map(|(k, bps)| micropay::state::SplitRecipient {
                owner: k.pubkey(),
                bps: *bps,
            })
            .collect();
        let created = splits::create(l, funder, &mint, recipients)
            .await
            .map_err(|e| match e {
                ClientError::UnencodableSplit { .. } => ScenarioError::SplitShares,
                e => e.into(),
            })?;
        // the program's order: ascending by owner
        let mut owners = owners;
        owners.sort_by_key(|(k, _)| k.pubkey());
        Ok(Payee {
            address: created.split,
            owners,
            is_split: true,
        })
    }
}

/// A payer of the story: its wallet, escrow, `Payer` and channels (one per
/// creator, in the creators' order).
pub(super) struct SimPayer {
    pub(super) owner: Keypair,
    pub(super) escrow: Pubkey,
    pub(super) payer: AsyncPayer,
    pub(super) channels: Vec<Pubkey>,
    /// What receivers accepted from it.
    pub(super) paid: u64,
    pub(super) closing: bool,
    /// dApp fee share of this payer's channels.
    pub(super) fee_bps: u16,
}

impl SimPayer {
    /// Asks to close every channel of this payer (the library's step, one
    /// transaction per channel; the owner pays its fees).
    pub(super) async fn request_close_all(&self, l: &dyn Ledger) -> Result<()> {
        for ch in &self.channels {
            let state = accounts::channel(l, ch)
                .await?
                .ok_or(ClientError::AccountNotFound(*ch))?;
            channels::request_close(l, &self.owner, ch, &state).await?;
        }
        Ok(())
    }

    /// Finalizes every channel of this payer, paid by `relayer` (anyone
    /// may).
    pub(super) async fn finalize_all(&self, l: &dyn Ledger, relayer: &Keypair) -> Result<()> {
        for ch in &self.channels {
            let state = accounts::channel(l, ch)
                .await?
                .ok_or(ClientError::AccountNotFound(*ch))?;
            channels::finalize(l, relayer, ch, &state).await?;
        }
        Ok(())
    }
}
