use micropay::{
    constants::{MAX_DISPUTE_WINDOW_SECS, MAX_FEE_BPS, MIN_DISPUTE_WINDOW_SECS},
    instructions::OpenChannelArgs,
};
use micropay_sdk::{events::MicropayEvent, pda};
use micropay_tests::*;
use solana_sdk::signature::{Keypair, Signer};

struct Setup {
    t: TestContext,
    p: PayerFixture,
    creator: solana_sdk::pubkey::Pubkey,
    session: Keypair,
}

async fn setup() -> Setup {
    let mut t = TestContext::new().await;
    let mint = t.spl_mint().await;
    let p = t.payer_with_escrow(&mint, 10_000, 10_000).await;
    Setup {
        t,
        p,
        creator: Keypair::new().pubkey(),
        session: Keypair::new(),
    }
}

impl Setup {
    fn args(&mut self, allocation: u64) -> OpenChannelArgs {
        let (creator, session) = (self.creator, self.session.pubkey());
        self.t.channel_args(&creator, &session, allocation)
    }

    async fn open(
        &mut self,
        args: OpenChannelArgs,
    ) -> Result<Vec<MicropayEvent>, solana_program_test::BanksClientError> {
        let (ix, address) = self.t.open_channel_ix(&self.p, args).await;
        let owner = self.p.owner.insecure_clone();
        let result = self.t.send_events(&[ix], &[&owner]).await;
        if result.is_ok() {
            self.t.track_channel(address);
        }
        result
    }
}

#[tokio::test]
async fn opens_channel_with_exact_balance() {
    let mut s = setup().await;
    let mut args = s.args(10_000);
    let dapp = Keypair::new().pubkey();
    args.fee_recipient = Some(dapp);
    args.fee_bps = MAX_FEE_BPS;
    args.dispute_window_secs = MIN_DISPUTE_WINDOW_SECS;
    let now = s.t.now().await;
    args.expires_at = now + 1;
    let nonce = args.nonce;
    let events = s.open(args).await.unwrap();

    let generation = s.t.escrow(s.p.escrow).await.unwrap().generation;
    let address = pda::channel(&s.p.escrow, pda::ChannelSlot { generation, id: 0 }, nonce).0;
    let MicropayEvent::ChannelOpened(e) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (
            e.channel,
            e.generation,
            e.id,
            e.nonce,
            e.allocation,
            e.escrow_balance
        ),
        (address, generation, 0, nonce, 10_000, 0)
    );
    let channel = s.t.channel(address).await.unwrap();
    assert_eq!(channel.creator, s.creator);
    assert_eq!(channel.signer, s.session.pubkey());
    assert_eq!(
        (channel.allocation, channel.claimed, channel.fee_bps),
        (10_000, 0, MAX_FEE_BPS)
    );
    assert_eq!(channel.fee_recipient, dapp);
    assert_eq!(channel.expires_at, now + 1);
    assert_eq!(channel.nonce, nonce);
    let escrow = s.t.escrow(s.p.escrow).await.unwrap();
    assert_eq!(
        (escrow.balance, escrow.next_channel_id, escrow.open_channels),
        (0, 1, 1)
    );
    s.t.assert_invariants().await;
}

#[tokio::test]
async fn channel_ids_increase_and_are_in_the_address() {
    let mut s = setup().await;
    let generation = s.t.escrow(s.p.escrow).await.unwrap().generation;
    for id in 0..3u64 {
        let args = s.args(100);
        let nonce = args.nonce;
        s.open(args).await.unwrap();
        let slot = pda::ChannelSlot { generation, id };
        let channel =
            s.t.channel(pda::channel(&s.p.escrow, slot, nonce).0)
                .await
                .unwrap();
        assert_eq!(channel.id, id);
    }
    assert_eq!(s.t.escrow(s.p.escrow).await.unwrap().next_channel_id, 3);
    s.t.assert_invariants().await;
}

#[tokio::test]
async fn allocation_bounds() {
    let mut s = setup().await;
    let args = s.args(0);
    assert_error(s.open(args).await, MicropayError::ZeroAmount);
    let args = s.args(10_001);
    assert_error(s.open(args).await, MicropayError::InsufficientBalance);
    s.t.assert_invariants().await;
}

#[tokio::test]
async fn fee_bounds() {
    let mut s = setup().await;
    let mut args = s.args(100);
    args.fee_recipient = Some(Keypair::new().pubkey());
    args.fee_bps = MAX_FEE_BPS + 1;
    assert_error(s.open(args).await, MicropayError::FeeTooHigh);
    let mut args = s.args(100);
    args.fee_bps = 100;
    assert_error(s.open(args).await, MicropayError::FeeRecipientMismatch);
    let mut args = s.args(100);
    args.fee_recipient = Some(Keypair::new().pubkey());
    assert_error(s.open(args).await, MicropayError::FeeRecipientMismatch);
    let mut args = s.args(100);
    args.fee_recipient = Some(Default::default());
    args.fee_bps = 100;
    assert_error(s.open(args).await, MicropayError::FeeRecipientMismatch);
    s.t.assert_invariants().await;
}

#[tokio::test]
async fn dispute_window_bounds() {
    let mut s = setup().await;
    for (window, ok) in [
        (MIN_DISPUTE_WINDOW_SECS - 1, false),
        (MIN_DISPUTE_WINDOW_SECS, true),
        (MAX_DISPUTE_WINDOW_SECS, true),
        (MAX_DISPUTE_WINDOW_SECS + 1, false),
    ] {
        let mut args = s.args(100);
        args.dispute_window_secs = window;
        let result = s.open(args).await;
        if ok {
            result.unwrap();
        } else {
            assert_error(result, MicropayError::DisputeWindowOutOfRange);
        }
    }
    s.t.assert_invariants().await;
}

#[tokio::test]
async fn expiry_must_be_in_the_future() {
    let mut s = setup().await;
    let now = s.t.now().await;
    let mut args = s.args(100);
    args.expires_at = now;
    assert_error(s.open(args).await, MicropayError::ExpiryInPast);
    let mut args = s.args(100);
    args.expires_at = now - 1;
    assert_error(s.open(args).await, MicropayError::ExpiryInPast);
    s.t.assert_invariants().await;
}

#[tokio::test]
async fn signer_key_must_be_a_valid_point() {
    let mut s = setup().await;
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xee;
    non_canonical[31] = 0x7f;
    // y = 2 is not on the curve
    let mut off_curve = [0u8; 32];
    off_curve[0] = 2;
    assert!(curve25519_dalek::edwards::CompressedEdwardsY(off_curve)
        .decompress()
        .is_none());
    for key in [identity, non_canonical, off_curve] {
        let mut args = s.args(100);
        args.signer = key.into();
        assert_error(s.open(args).await, MicropayError::InvalidVoucherSigner);
    }
    s.t.assert_invariants().await;
}

#[tokio::test]
async fn only_the_owner_opens_channels() {
    let mut s = setup().await;
    let mallory = s.t.wallet(1_000_000_000).await;
    let args = s.args(100);
    let (mut ix, _) = s.t.open_channel_ix(&s.p, args).await;
    ix.accounts[0].pubkey = mallory.pubkey();
    assert_error(
        s.t.send(&[ix], &[&mallory]).await,
        MicropayError::NotEscrowOwner,
    );
    s.t.assert_invariants().await;
}
