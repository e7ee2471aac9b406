//! The payer side: a session that owns each channel's voucher-signing key
//! (usually a session key, not the wallet) and returns the next cumulative
//! voucher for `pay(channel, price)`.
//!
//! The new cumulative amount is made durable in the store *before* the voucher
//! is signed (a compare-and-set on the channel's row), so a restart can never
//! sign a lower amount than one already given out (at worst, a crash between
//! the two skips one price, which the next voucher then includes).

use crate::{
    error::{ClientError, Result},
    store::{rules, PayerRecord, PayerStore},
};
use anchor_lang::prelude::Pubkey;
use micropay_sdk::voucher::Voucher;
use solana_sdk::signature::{Keypair, Signer};
use std::sync::Arc;

/// The payer's side: signs cumulative vouchers with each channel's session key, durably.
#[derive(Clone)]
pub struct Payer {
    store: Arc<dyn PayerStore>,
}

impl Payer {
    /// A payer keeping its channels in `store`.
    pub fn new(store: Arc<dyn PayerStore>) -> Self {
        Payer { store }
    }

    /// Registers `channel`, its session key and its allocation (again after
    /// a top-up, with the new allocation).
    pub fn register(&self, channel: Pubkey, session: &Keypair, allocation: u64) -> Result<()> {
        rules::register_payer(
            self.store.as_ref(),
            &PayerRecord {
                channel,
                signer_keypair: session.to_bytes(),
                cumulative: 0,
                allocation,
                version: 0,
            },
        )
    }

    /// Registers a channel found on chain whose session key the payer can
    /// derive again (see [`micropay_sdk::session`]) after losing its store:
    /// it signs no less than `claimed`, what the channel already settled.
    pub fn adopt(
        &self,
        channel: Pubkey,
        session: &Keypair,
        allocation: u64,
        claimed: u64,
    ) -> Result<()> {
        rules::register_payer(
            self.store.as_ref(),
            &PayerRecord {
                channel,
                signer_keypair: session.to_bytes(),
                cumulative: claimed,
                allocation,
                version: 0,
            },
        )
    }

    /// Resumes `channel` from `held`, the voucher a receiver says it holds
    /// (a payer that lost its state signs below it, and is refused as stale).
    /// Only a voucher this channel's session key signed counts: a receiver
    /// cannot make the payer skip ahead. Never lowers the cumulative amount;
    /// `true` when it rose.
    pub fn resync(&self, channel: &Pubkey, held: &Voucher) -> Result<bool> {
        let row = self
            .store
            .get_payer(channel)?
            .ok_or(ClientError::UnknownPayerChannel { channel: *channel })?;
        let key = Keypair::try_from(row.signer_keypair.as_slice())
            .map_err(|_| ClientError::store("corrupt session key in store"))?;
        if held.channel != *channel || held.verify(&key.pubkey()).is_err() {
            return Err(ClientError::ForeignHeldVoucher { channel: *channel });
        }
        if held.amount <= row.cumulative {
            return Ok(false);
        }
        rules::register_payer(
            self.store.as_ref(),
            &PayerRecord {
                cumulative: held.amount,
                ..row
            },
        )?;
        Ok(true)
    }

    /// Raises the allocation the payer may sign up to for `channel` (after a
    /// top-up); never lowers it.
    pub fn raise_allocation(&self, channel: &Pubkey, allocation: u64) -> Result<()> {
        let row = self
            .store
            .get_payer(channel)?
            .ok_or(ClientError::UnknownPayerChannel { channel: *channel })?;
        rules::register_payer(self.store.as_ref(), &PayerRecord { allocation, ..row })
    }

    /// The allocation the payer knows for `channel`.
    pub fn allocation(&self, channel: &Pubkey) -> Result<Option<u64>> {
        Ok(self.store.get_payer(channel)?.map(|s| s.allocation))
    }

    /// Forgets `channel`'s session key if it never signed anything (its
    /// channel failed to open); `true` when forgotten.
    pub fn forget_unused(&self, channel: &Pubkey) -> Result<bool> {
        rules::forget_unused_payer(self.store.as_ref(), channel)
    }

    /// The next voucher: cumulative + `price`, signed by the session key.
    pub fn pay(&self, channel: &Pubkey, price: u64) -> Result<Voucher> {
        if price == 0 {
            return Err(ClientError::ZeroPayment);
        }
        let Some(state) = rules::reserve_payment(self.store.as_ref(), channel, price)? else {
            let state = self
                .store
                .get_payer(channel)?
                .ok_or(ClientError::UnknownPayerChannel { channel: *channel })?;
            return Err(ClientError::AllocationExceeded {
                channel: *channel,
                price,
                needed: state.cumulative.saturating_add(price),
                allocation: state.allocation,
            });
        };
        let key = Keypair::try_from(state.signer_keypair.as_slice())
            .map_err(|_| ClientError::store("corrupt session key in store"))?;
        Ok(Voucher::sign(&key, *channel, state.cumulative))
    }

    /// Cumulative amount signed so far for `channel`.
    pub fn paid(&self, channel: &Pubkey) -> Result<u64> {
        Ok(self.store.get_payer(channel)?.map_or(0, |s| s.cumulative))
    }

    /// The session key's public key for `channel`.
    pub fn signer(&self, channel: &Pubkey) -> Result<Option<Pubkey>> {
        Ok(self.store.get_payer(channel)?.and_then(|s| {
            Keypair::try_from(s.signer_keypair.as_slice())
                .ok()
                .map(|k| k.pubkey())
        }))
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    #[test]
    fn resync_follows_only_vouchers_of_the_session_key_and_never_goes_back() {
        let store: Arc<dyn PayerStore> = Arc::new(SqliteStore::in_memory().unwrap());
        let payer = Payer::new(store);
        let session = Keypair::new();
        let channel = Pubkey::new_unique();
        // the store was lost; the channel is adopted from chain at its claimed amount
        payer.adopt(channel, &session, 1_000, 100).unwrap();
        assert_eq!(payer.paid(&channel).unwrap(), 100);
        // a server's made-up voucher (another key, or another channel) changes nothing
        let forged = Voucher::sign(&Keypair::new(), channel, 900);
        assert!(matches!(
            payer.resync(&channel, &forged),
            Err(ClientError::ForeignHeldVoucher { .. })
        ));
        let elsewhere = Voucher::sign(&session, Pubkey::new_unique(), 900);
        assert!(payer.resync(&channel, &elsewhere).is_err());
        assert_eq!(payer.paid(&channel).unwrap(), 100);
        // a voucher it signed before the loss: resume from it
        let held = Voucher::sign(&session, channel, 400);
        assert!(payer.resync(&channel, &held).unwrap());
        assert_eq!(payer.pay(&channel, 10).unwrap().amount, 410);
        // an older one never lowers the amount
        let older = Voucher::sign(&session, channel, 200);
        assert!(!payer.resync(&channel, &older).unwrap());
        assert_eq!(payer.paid(&channel).unwrap(), 410);
        assert!(matches!(
            payer.resync(&Pubkey::new_unique(), &held),
            Err(ClientError::UnknownPayerChannel { .. })
        ));
    }

    #[test]
    fn pays_cumulatively_and_refuses_beyond_allocation() {
        let store: Arc<dyn PayerStore> = Arc::new(SqliteStore::in_memory().unwrap());
        let payer = Payer::new(store);
        let session = Keypair::new();
        let channel = Pubkey::new_unique();
        payer.register(channel, &session, 100).unwrap();
        let v1 = payer.pay(&channel, 30).unwrap();
        let v2 = payer.pay(&channel, 30).unwrap();
        assert_eq!((v1.amount, v2.amount), (30, 60));
        v2.verify(&session.pubkey()).unwrap();
        let err = payer.pay(&channel, 41).unwrap_err();
        assert!(matches!(
            err,
            ClientError::AllocationExceeded {
                needed: 101,
                allocation: 100,
                ..
            }
        ));
        assert!(err.to_string().contains("top the channel up"));
        assert_eq!(payer.paid(&channel).unwrap(), 60);
        // after a top-up the payer goes on from where it was
        payer.register(channel, &session, 200).unwrap();
        assert_eq!(payer.pay(&channel, 41).unwrap().amount, 101);
        assert!(matches!(
            payer.pay(&channel, 0),
            Err(ClientError::ZeroPayment)
        ));
        assert!(matches!(
            payer.pay(&Pubkey::new_unique(), 1),
            Err(ClientError::UnknownPayerChannel { .. })
        ));
    }

    #[test]
    fn a_restarted_payer_goes_on_from_the_highest_signed_amount() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payer.db");
        let session = Keypair::new();
        let channel = Pubkey::new_unique();
        {
            let payer = Payer::new(Arc::new(SqliteStore::open(&path).unwrap()));
            payer.register(channel, &session, 1_000).unwrap();
            assert_eq!(payer.pay(&channel, 400).unwrap().amount, 400);
        }
        // a new process, the same file: registering again never resets
        let payer = Payer::new(Arc::new(SqliteStore::open(&path).unwrap()));
        payer.register(channel, &session, 1_000).unwrap();
        assert_eq!(payer.signer(&channel).unwrap(), Some(session.pubkey()));
        assert_eq!(payer.pay(&channel, 1).unwrap().amount, 401);
    }
}
