//! `TestContext`: a bank (solana-program-test) running micropay natively with the
//! real SPL Token and Token-2022 programs, plus one-line builders for mints,
//! wallets, funded escrows, creators and channels, voucher signing, event
//! capture, clock control, exact-error assertions and the per-mint invariant.

use anchor_lang::AccountDeserialize;
use anchor_spl::{
    token::spl_token,
    token_interface::spl_token_2022::{
        self,
        extension::{BaseStateWithExtensions, ExtensionType, StateWithExtensions},
        state::{Account as TokenAccountState, Mint as MintState},
    },
};
use micropay::{
    instructions::OpenChannelArgs,
    state::{Channel, Earnings, Escrow, Split},
    voucher::voucher_message,
};
use micropay_sdk::{
    events::{decode, MicropayEvent},
    instructions::{self as mix, VoucherClaim},
    pda,
};
use solana_program_test::{BanksClientError, ProgramTestContext};
use solana_sdk::{
    account::Account,
    clock::Clock,
    instruction::{Instruction, InstructionError},
    program_pack::Pack,
    pubkey::Pubkey,
    signature::{Keypair, Signature, Signer},
    transaction::{Transaction, TransactionError},
};
use std::collections::HashSet;

pub use micropay::error::MicropayError;
pub use micropay::state::SplitRecipient;
pub use solana_program_test;

pub use micropay_native::program_test;

pub mod client;
pub mod exact;
pub mod logs;
pub mod postgres;

/// A mint known to the fixture.
#[derive(Clone, Copy, Debug)]
pub struct MintInfo {
    pub address: Pubkey,
    pub token_program: Pubkey,
    pub decimals: u8,
}

impl MintInfo {
    pub fn is_wrapped_sol(&self) -> bool {
        self.address == spl_token::native_mint::ID
    }
}

/// A payer with a funded token account and an escrow for one mint.
pub struct PayerFixture {
    pub owner: Keypair,
    pub token_account: Pubkey,
    pub escrow: Pubkey,
    pub mint: MintInfo,
}

/// A creator wallet with its earnings account for one mint.
pub struct CreatorFixture {
    pub wallet: Keypair,
    pub earnings: Pubkey,
    pub mint: MintInfo,
}

/// An open channel and the session key that signs its vouchers.
pub struct ChannelFixture {
    pub address: Pubkey,
    pub escrow: Pubkey,
    pub owner: Pubkey,
    pub creator: Pubkey,
    pub creator_earnings: Pubkey,
    pub fee_earnings: Option<Pubkey>,
    pub session: Keypair,
    pub id: u64,
    pub nonce: u64,
}

impl ChannelFixture {
    /// A voucher for cumulative `amount`, signed by the session key.
    pub fn voucher(&self, amount: u64) -> VoucherClaim {
        VoucherClaim {
            channel: self.address,
            creator_earnings: self.creator_earnings,
            fee_earnings: self.fee_earnings,
            amount,
            signature: sign_voucher(&self.session, &self.address, amount),
        }
    }
}

/// Signs the voucher message for (`channel`, `amount`) with `key`.
pub fn sign_voucher(key: &Keypair, channel: &Pubkey, amount: u64) -> [u8; 64] {
    let signature: Signature = key.sign_message(&voucher_message(channel, amount));
    signature.into()
}

/// Options of `TestContext::open_channel`; `Default` is a plain channel.
#[derive(Default)]
pub struct ChannelOpts {
    /// Fee recipient and its earnings account get created; bps of the share.
    pub fee: Option<(Pubkey, u16)>,
    pub dispute_window_secs: Option<u32>,
    pub expires_at: i64,
    /// Voucher signer; a fresh session key when `None`.
    pub session: Option<Keypair>,
}

pub struct TestContext {
    pub ctx: ProgramTestContext,
    mints: Vec<MintInfo>,
    escrows: Vec<Pubkey>,
    channels: Vec<Pubkey>,
    earnings: Vec<Pubkey>,
    sent: HashSet<Signature>,
    nonce: u64,
}

impl TestContext {
    pub async fn new() -> Self {
        micropay_client::ledger::embedded::quiet_logs();
        Self {
            ctx: program_test().start_with_context().await,
            mints: Vec::new(),
            escrows: Vec::new(),
            channels: Vec::new(),
            earnings: Vec::new(),
            sent: HashSet::new(),
            nonce: 0,
        }
    }

    pub fn payer(&self) -> &Keypair {
        &self.ctx.payer
    }

    fn signed(&self, ixs: &[Instruction], signers: &[&Keypair]) -> Transaction {
        let mut all: Vec<&Keypair> = vec![&self.ctx.payer];
        all.extend(
            signers
                .iter()
                .filter(|k| k.pubkey() != self.ctx.payer.pubkey()),
        );
        Transaction::new_signed_with_payer(
            ixs,
            Some(&self.ctx.payer.pubkey()),
            &all,
            self.ctx.last_blockhash,
        )
    }

    /// Signs with the fee payer and `signers`; a transaction identical to an
    /// earlier one gets a fresh blockhash, so a resend really executes again.
    /// Signed with the bank's latest blockhash: one held since the test
    /// began ages out on a slow machine (and program-test's bank can panic
    /// on one).
    async fn transaction(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Transaction {
        self.ctx.last_blockhash = self
            .ctx
            .banks_client
            .get_latest_blockhash()
            .await
            .expect("the bank's latest blockhash");
        let mut tx = self.signed(ixs, signers);
        if self.sent.contains(&tx.signatures[0]) {
            self.ctx.last_blockhash = self
                .ctx
                .get_new_latest_blockhash()
                .await
                .expect("new blockhash");
            tx = self.signed(ixs, signers);
        }
        self.sent.insert(tx.signatures[0]);
        tx
    }

    /// Executes one transaction.
    pub async fn send(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<(), BanksClientError> {
        let tx = self.transaction(ixs, signers).await;
        self.ctx.banks_client.process_transaction(tx).await
    }

    /// Executes one transaction and returns the micropay events it emitted
    /// (read from a simulation of the same transaction on the same state).
    pub async fn send_events(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Vec<MicropayEvent>, BanksClientError> {
        let tx = self.transaction(ixs, signers).await;
        let simulation = self
            .ctx
            .banks_client
            .simulate_transaction(tx.clone())
            .await?;
        let mut events = Vec::new();
        if let Some(details) = simulation.simulation_details {
            // every transaction of the program tests logs as a cluster does
            if let Err(e) = logs::well_formed(&details.logs) {
                panic!("malformed logs: {e}");
            }
            let keys = &tx.message.account_keys;
            for inner in details
                .inner_instructions
                .unwrap_or_default()
                .iter()
                .flatten()
            {
                let program = keys[usize::from(inner.instruction.program_id_index)];
                if program == micropay::ID {
                    events.extend(decode(&inner.instruction.data));
                }
            }
        }
        self.ctx.banks_client.process_transaction(tx).await?;
        Ok(events)
    }

    /// Simulates one transaction: its result and its log messages.
    pub async fn simulate(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> (Result<(), TransactionError>, Vec<String>) {
        let tx = self.transaction(ixs, signers).await;
        let simulation = self
            .ctx
            .banks_client
            .simulate_transaction(tx)
            .await
            .expect("the bank answers");
        let logs = simulation
            .simulation_details
            .map(|d| d.logs)
            .unwrap_or_default();
        (simulation.result.expect("a simulation result"), logs)
    }

    // ---------- clock ----------

    pub async fn clock(&mut self) -> Clock {
        self.ctx
            .banks_client
            .get_sysvar::<Clock>()
            .await
            .expect("clock")
    }

    pub async fn now(&mut self) -> i64 {
        self.clock().await.unix_timestamp
    }

    /// Sets the bank's unix time.
    pub async fn set_time(&mut self, unix_timestamp: i64) {
        let mut clock = self.clock().await;
        clock.unix_timestamp = unix_timestamp;
        self.ctx.set_sysvar(&clock);
    }

    pub async fn advance_time(&mut self, secs: i64) {
        let now = self.now().await;
        self.set_time(now + secs).await;
    }

    /// Moves the bank to the next slot (the bank does not advance by itself);
    /// the clock's unix time never goes back.
    pub async fn next_slot(&mut self) {
        self.warp_slots(1).await;
    }

    /// Moves the bank `slots` slots ahead in one warp (past 150, blockhashes
    /// signed before it age out); the clock's unix time never goes back.
    pub async fn warp_slots(&mut self, slots: u64) {
        let before = self.clock().await;
        self.ctx
            .warp_to_slot(before.slot + slots)
            .expect("warp ahead");
        let mut after = self.clock().await;
        if after.unix_timestamp < before.unix_timestamp {
            after.unix_timestamp = before.unix_timestamp;
            self.ctx.set_sysvar(&after);
        }
    }

    /// Overwrites a micropay account's state in the bank (to stage states no
    /// instruction sequence can reach, e.g. a corrupted account).
    pub async fn write_state<T: anchor_lang::AccountSerialize>(
        &mut self,
        address: Pubkey,
        state: &T,
    ) {
        let mut account = self.account(address).await.expect("account to overwrite");
        let mut data = Vec::new();
        state.try_serialize(&mut data).expect("serialize");
        account.data[..data.len()].copy_from_slice(&data);
        self.ctx.set_account(&address, &account.into());
    }

    // ---------- accounts ----------

    pub async fn account(&mut self, address: Pubkey) -> Option<Account> {
        self.ctx
            .banks_client
            .get_account(address)
            .await
            .expect("get_account")
    }

    async fn anchor_account<T: AccountDeserialize>(&mut self, address: Pubkey) -> Option<T> {
        let account = self.account(address).await?;
        if account.owner != micropay::ID {
            return None;
        }
        Some(T::try_deserialize(&mut account.data.as_slice()).expect("deserialize"))
    }

    pub async fn escrow(&mut self, address: Pubkey) -> Option<Escrow> {
        self.anchor_account(address).await
    }

    pub async fn channel(&mut self, address: Pubkey) -> Option<Channel> {
        self.anchor_account(address).await
    }

    pub async fn earnings(&mut self, address: Pubkey) -> Option<Earnings> {
        self.anchor_account(address).await
    }

    pub async fn split_state(&mut self, address: Pubkey) -> Option<Split> {
        self.anchor_account(address).await
    }

    /// Token amount of a token account (0 when it does not exist).
    pub async fn token_balance(&mut self, address: Pubkey) -> u64 {
        match self.account(address).await {
            Some(a) => {
                StateWithExtensions::<TokenAccountState>::unpack(&a.data)
                    .expect("token account")
                    .base
                    .amount
            }
            None => 0,
        }
    }

    pub async fn lamports(&mut self, address: Pubkey) -> u64 {
        self.account(address).await.map_or(0, |a| a.lamports)
    }

    // ---------- tracking (for the invariant) ----------

    pub fn track_escrow(&mut self, address: Pubkey) {
        if !self.escrows.contains(&address) {
            self.escrows.push(address);
        }
    }

    pub fn track_channel(&mut self, address: Pubkey) {
        if !self.channels.contains(&address) {
            self.channels.push(address);
        }
    }

    pub fn track_earnings(&mut self, address: Pubkey) {
        if !self.earnings.contains(&address) {
            self.earnings.push(address);
        }
    }

    /// Per mint: vault amount = Σ escrow balances + Σ open channel remainders +
    /// Σ earnings balances; every account's own invariant holds; every
    /// escrow's `open_channels` counts its existing channels.
    pub async fn assert_invariants(&mut self) {
        let mints = self.mints.clone();
        let mut escrows = Vec::new();
        for address in self.escrows.clone() {
            if let Some(e) = self.escrow(address).await {
                assert!(e.invariant(), "escrow invariant {address}");
                escrows.push((address, e));
            }
        }
        let mut channels = Vec::new();
        for address in self.channels.clone() {
            if let Some(c) = self.channel(address).await {
                assert!(c.invariant(), "channel invariant {address}");
                channels.push(c);
            }
        }
        let mut earnings = Vec::new();
        for address in self.earnings.clone() {
            if let Some(e) = self.earnings(address).await {
                assert!(e.invariant(), "earnings invariant {address}");
                earnings.push(e);
            }
        }
        for (address, e) in &escrows {
            let open = channels.iter().filter(|c| c.escrow == *address).count();
            assert_eq!(
                u64::from(e.open_channels),
                open as u64,
                "open_channels of {address}"
            );
        }
        for mint in mints {
            let vault = self.token_balance(pda::vault(&mint.address).0).await;
            let in_escrows: u64 = escrows
                .iter()
                .filter(|(_, e)| e.mint == mint.address)
                .map(|(_, e)| e.balance)
                .sum();
            let in_channels: u64 = channels
                .iter()
                .filter(|c| c.mint == mint.address)
                .map(|c| c.allocation - c.claimed)
                .sum();
            let in_earnings: u64 = earnings
                .iter()
                .filter(|e| e.mint == mint.address)
                .map(|e| e.balance)
                .sum();
            assert_eq!(
                vault,
                in_escrows + in_channels + in_earnings,
                "vault of mint {} = escrows {in_escrows} + channels {in_channels} + earnings {in_earnings}",
                mint.address
            );
        }
    }

    // ---------- mints, wallets, token accounts ----------

    /// Creates a rent-exempt account of `space` bytes owned by `owner` at
    /// `keypair`'s address.
    async fn create_account_at(
        &mut self,
        keypair: &Keypair,
        space: usize,
        owner: &Pubkey,
    ) -> Result<(), BanksClientError> {
        let rent = self.ctx.banks_client.get_rent().await.expect("rent");
        let ix = solana_system_interface::instruction::create_account(
            &self.ctx.payer.pubkey(),
            &keypair.pubkey(),
            rent.minimum_balance(space),
            space as u64,
            owner,
        );
        // The new account signs its own creation.
        self.send(&[ix], &[keypair]).await
    }

    async fn create_account(&mut self, space: usize, owner: &Pubkey) -> Keypair {
        let keypair = Keypair::new();
        self.create_account_at(&keypair, space, owner)
            .await
            .expect("create account");
        keypair
    }

    /// A mint of `token_program` with `decimals`, mint authority = fee payer.
    pub async fn create_mint(&mut self, token_program: Pubkey, decimals: u8) -> MintInfo {
        self.create_mint_with(token_program, decimals, &[], |_| Vec::new())
            .await
            .expect("create mint")
    }

    /// A Token-2022 mint with `extensions`, initialized by the instructions
    /// `init_extensions(mint)` returns before `initialize_mint2`.
    pub async fn create_mint_with(
        &mut self,
        token_program: Pubkey,
        decimals: u8,
        extensions: &[ExtensionType],
        init_extensions: impl FnOnce(&Pubkey) -> Vec<Instruction>,
    ) -> Result<MintInfo, BanksClientError> {
        self.create_mint_at(
            &Keypair::new(),
            token_program,
            decimals,
            extensions,
            init_extensions,
        )
        .await
    }

    /// [`Self::create_mint_with`] at `keypair`'s address (e.g. to re-create a
    /// closed mint at the same address).
    pub async fn create_mint_at(
        &mut self,
        keypair: &Keypair,
        token_program: Pubkey,
        decimals: u8,
        extensions: &[ExtensionType],
        init_extensions: impl FnOnce(&Pubkey) -> Vec<Instruction>,
    ) -> Result<MintInfo, BanksClientError> {
        let space = if extensions.is_empty() {
            MintState::LEN
        } else {
            ExtensionType::try_calculate_account_len::<MintState>(extensions).expect("mint len")
        };
        self.create_account_at(keypair, space, &token_program)
            .await?;
        let mut ixs = init_extensions(&keypair.pubkey());
        ixs.push(
            spl_token_2022::instruction::initialize_mint2(
                &token_program,
                &keypair.pubkey(),
                &self.ctx.payer.pubkey(),
                None,
                decimals,
            )
            .expect("initialize_mint2"),
        );
        self.send(&ixs, &[]).await?;
        let info = MintInfo {
            address: keypair.pubkey(),
            token_program,
            decimals,
        };
        if !self.mints.iter().any(|m| m.address == info.address) {
            self.mints.push(info);
        }
        Ok(info)
    }

    /// An SPL Token mint with 6 decimals (USDC-like).
    pub async fn spl_mint(&mut self) -> MintInfo {
        self.create_mint(spl_token::ID, 6).await
    }

    /// A Token-2022 mint with 6 decimals and no extension.
    pub async fn token_2022_mint(&mut self) -> MintInfo {
        self.create_mint(spl_token_2022::ID, 6).await
    }

    /// The wrapped-SOL mint.
    pub fn wrapped_sol(&mut self) -> MintInfo {
        let info = MintInfo {
            address: spl_token::native_mint::ID,
            token_program: spl_token::ID,
            decimals: 9,
        };
        if !self.mints.iter().any(|m| m.address == info.address) {
            self.mints.push(info);
        }
        info
    }

    /// A wallet with `lamports` from the fee payer.
    pub async fn wallet(&mut self, lamports: u64) -> Keypair {
        let wallet = Keypair::new();
        let ix = solana_system_interface::instruction::transfer(
            &self.ctx.payer.pubkey(),
            &wallet.pubkey(),
            lamports,
        );
        self.send(&[ix], &[]).await.expect("fund wallet");
        wallet
    }

    /// A token account of `mint` owned by `owner`.
    pub async fn token_account(&mut self, mint: &MintInfo, owner: &Pubkey) -> Pubkey {
        let space = if mint.token_program == spl_token::ID {
            TokenAccountState::LEN
        } else {
            let data = self.account(mint.address).await.expect("mint").data;
            let types = StateWithExtensions::<MintState>::unpack(&data)
                .expect("mint")
                .get_extension_types()
                .expect("extension types");
            ExtensionType::try_calculate_account_len::<TokenAccountState>(
                &ExtensionType::get_required_init_account_extensions(&types),
            )
            .expect("account len")
        };
        let account = self.create_account(space, &mint.token_program).await;
        let ix = spl_token_2022::instruction::initialize_account3(
            &mint.token_program,
            &account.pubkey(),
            &mint.address,
            owner,
        )
        .expect("initialize_account3");
        self.send(&[ix], &[]).await.expect("init token account");
        account.pubkey()
    }

    /// Adds `amount` to a token account: minted, or wrapped from lamports for SOL.
    pub async fn fund_token_account(&mut self, mint: &MintInfo, account: &Pubkey, amount: u64) {
        let ixs = if mint.is_wrapped_sol() {
            vec![
                solana_system_interface::instruction::transfer(
                    &self.ctx.payer.pubkey(),
                    account,
                    amount,
                ),
                spl_token::instruction::sync_native(&spl_token::ID, account).expect("sync"),
            ]
        } else {
            vec![spl_token_2022::instruction::mint_to(
                &mint.token_program,
                &mint.address,
                account,
                &self.ctx.payer.pubkey(),
                &[],
                amount,
            )
            .expect("mint_to")]
        };
        self.send(&ixs, &[]).await.expect("fund token account");
    }

    // ---------- micropay scenario builders ----------

    /// A payer wallet with `funds` in a token account, an escrow, and
    /// `deposit` of it deposited.
    pub async fn payer_with_escrow(
        &mut self,
        mint: &MintInfo,
        funds: u64,
        deposit: u64,
    ) -> PayerFixture {
        let owner = self.wallet(10_000_000_000).await;
        let token_account = self.token_account(mint, &owner.pubkey()).await;
        if funds > 0 {
            self.fund_token_account(mint, &token_account, funds).await;
        }
        let escrow = pda::escrow(&owner.pubkey(), &mint.address).0;
        let mut ixs = vec![mix::InitEscrow {
            owner: owner.pubkey(),
            mint: mint.address,
            token_program: mint.token_program,
        }
        .instruction()];
        if deposit > 0 {
            ixs.push(
                mix::Deposit {
                    depositor: owner.pubkey(),
                    escrow,
                    mint: mint.address,
                    source: token_account,
                    token_program: mint.token_program,
                    amount: deposit,
                }
                .instruction(),
            );
        }
        self.send(&ixs, &[&owner])
            .await
            .expect("init escrow + deposit");
        self.track_escrow(escrow);
        PayerFixture {
            owner,
            token_account,
            escrow,
            mint: *mint,
        }
    }

    /// The earnings account of `owner` for `mint`, created by the fee payer.
    pub async fn init_earnings(&mut self, owner: &Pubkey, mint: &MintInfo) -> Pubkey {
        let address = pda::earnings(owner, &mint.address).0;
        if self.account(address).await.is_none() {
            let ix = mix::InitEarnings {
                payer: self.ctx.payer.pubkey(),
                owner: *owner,
                mint: mint.address,
            }
            .instruction();
            self.send(&[ix], &[]).await.expect("init earnings");
        }
        self.track_earnings(address);
        address
    }

    /// A creator wallet and its earnings account.
    pub async fn creator(&mut self, mint: &MintInfo) -> CreatorFixture {
        let wallet = self.wallet(1_000_000_000).await;
        let earnings = self.init_earnings(&wallet.pubkey(), mint).await;
        CreatorFixture {
            wallet,
            earnings,
            mint: *mint,
        }
    }

    /// Default arguments for a channel to `creator` signed by `session`.
    pub fn channel_args(
        &mut self,
        creator: &Pubkey,
        session: &Pubkey,
        allocation: u64,
    ) -> OpenChannelArgs {
        self.nonce += 1;
        OpenChannelArgs {
            creator: *creator,
            signer: *session,
            allocation,
            fee_recipient: None,
            fee_bps: 0,
            dispute_window_secs: 3_600,
            expires_at: 0,
            nonce: 0x5eed_0000_0000_0000 | self.nonce,
        }
    }

    /// Builds the `open_channel` instruction for `payer` (reads the escrow's
    /// generation and next id).
    pub async fn open_channel_ix(
        &mut self,
        payer: &PayerFixture,
        args: OpenChannelArgs,
    ) -> (Instruction, Pubkey) {
        let slot = pda::ChannelSlot::next(&self.escrow(payer.escrow).await.expect("escrow"));
        mix::OpenChannel {
            owner: payer.owner.pubkey(),
            escrow: payer.escrow,
            slot,
            args,
        }
        .with_channel()
    }

    /// Opens a channel from `payer` to `creator` with `allocation`.
    pub async fn open_channel(
        &mut self,
        payer: &PayerFixture,
        creator: &CreatorFixture,
        allocation: u64,
        opts: ChannelOpts,
    ) -> ChannelFixture {
        let to = (creator.wallet.pubkey(), creator.earnings);
        self.open_channel_to(payer, to, allocation, opts).await
    }

    /// Opens a channel from `payer` to the payee `(address, earnings)` — a
    /// wallet, or a split — with `allocation`.
    pub async fn open_channel_to(
        &mut self,
        payer: &PayerFixture,
        (creator, creator_earnings): (Pubkey, Pubkey),
        allocation: u64,
        opts: ChannelOpts,
    ) -> ChannelFixture {
        let session = opts.session.unwrap_or_else(Keypair::new);
        let mut args = self.channel_args(&creator, &session.pubkey(), allocation);
        let mut fee_earnings = None;
        if let Some((recipient, bps)) = opts.fee {
            args.fee_recipient = Some(recipient);
            args.fee_bps = bps;
            fee_earnings = Some(self.init_earnings(&recipient, &payer.mint).await);
        }
        if let Some(window) = opts.dispute_window_secs {
            args.dispute_window_secs = window;
        }
        args.expires_at = opts.expires_at;
        let nonce = args.nonce;
        let (ix, address) = self.open_channel_ix(payer, args).await;
        let id = self
            .escrow(payer.escrow)
            .await
            .expect("escrow")
            .next_channel_id;
        self.send(&[ix], &[&payer.owner])
            .await
            .expect("open channel");
        self.track_channel(address);
        ChannelFixture {
            address,
            escrow: payer.escrow,
            owner: payer.owner.pubkey(),
            creator,
            creator_earnings,
            fee_earnings,
            session,
            id,
            nonce,
        }
    }

    /// A split of `mint` paying `shares` (owner, bps): every recipient's
    /// earnings account and the split's own are created first. Returns the
    /// split's address and its recipients in the program's order.
    pub async fn split(
        &mut self,
        mint: &MintInfo,
        shares: &[(Pubkey, u16)],
    ) -> (Pubkey, Vec<SplitRecipient>) {
        for (owner, _) in shares {
            self.init_earnings(owner, mint).await;
        }
        let create = mix::CreateSplit {
            payer: self.ctx.payer.pubkey(),
            mint: mint.address,
            recipients: shares
                .iter()
                .map(|(owner, bps)| SplitRecipient {
                    owner: *owner,
                    bps: *bps,
                })
                .collect(),
        };
        let (ix, split) = create.instruction().expect("split address");
        self.send(&[ix], &[]).await.expect("create split");
        self.init_earnings(&split, mint).await;
        (split, create.sorted())
    }

    /// `distribute` of `split` to `recipients` (in the split's order).
    pub async fn distribute(
        &mut self,
        split: &Pubkey,
        mint: &MintInfo,
        recipients: &[SplitRecipient],
    ) -> Result<Vec<MicropayEvent>, BanksClientError> {
        let ix = mix::Distribute {
            split: *split,
            mint: mint.address,
            owners: recipients.iter().map(|r| r.owner).collect(),
        }
        .instruction();
        self.send_events(&[ix], &[]).await
    }

    /// Settles `vouchers` in one claim transaction, returning its `Claimed` events.
    pub async fn claim(
        &mut self,
        vouchers: &[VoucherClaim],
    ) -> Result<Vec<MicropayEvent>, BanksClientError> {
        let ix = mix::claim(vouchers);
        self.send_events(&[ix], &[]).await
    }
}

/// The custom program error code of a failed transaction, if any.
pub fn custom_code(err: &BanksClientError) -> Option<u32> {
    let tx_err = match err {
        BanksClientError::TransactionError(e) => e,
        BanksClientError::SimulationError { err, .. } => err,
        _ => return None,
    };
    match tx_err {
        TransactionError::InstructionError(_, InstructionError::Custom(code)) => Some(*code),
        _ => None,
    }
}

/// Asserts that `result` failed with exactly `expected` (a micropay error).
#[track_caller]
pub fn assert_error<T: std::fmt::Debug>(
    result: Result<T, BanksClientError>,
    expected: MicropayError,
) {
    let err = result.expect_err("transaction should have failed");
    assert_eq!(
        custom_code(&err),
        Some(u32::from(expected)),
        "expected {expected:?} ({}), got {err:?}",
        u32::from(expected)
    );
}

/// Asserts that `result` failed with exactly Anchor's framework error `expected`.
#[track_caller]
pub fn assert_anchor_error<T: std::fmt::Debug>(
    result: Result<T, BanksClientError>,
    expected: anchor_lang::error::ErrorCode,
) {
    let err = result.expect_err("transaction should have failed");
    assert_eq!(
        custom_code(&err),
        Some(u32::from(expected)),
        "expected {expected:?}, got {err:?}"
    );
}

/// The `Claimed` event among `events`.
pub fn claimed_event(events: &[MicropayEvent]) -> &micropay::events::Claimed {
    events
        .iter()
        .find_map(|e| match e {
            MicropayEvent::Claimed(c) => Some(c),
            _ => None,
        })
        .expect("a Claimed event")
}

/// The group order L, little-endian.
pub use micropay::voucher::L_BYTES as L;

/// `signature` with S replaced by S + L: the same point equation, a different
/// byte string (a malleated signature).
pub fn malleate(signature: &[u8; 64]) -> [u8; 64] {
    let mut out = *signature;
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(out[32 + i]) + u16::from(L[i]) + carry;
        out[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    out
}
