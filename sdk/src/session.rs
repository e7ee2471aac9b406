//! Session keys a payer can derive again from its wallet.
//!
//! A channel's vouchers are signed by a session key, so the wallet is not
//! asked for every payment. A random session key is lost with the payer's
//! local store, and with it the channel (its allocation then only comes back
//! through `request_close`, after the dispute window). A session key
//! *derived* from the wallet comes back: the seed is the SHA-256 of the
//! wallet's Ed25519 signature of a micropay-specific message naming the
//! escrow and the channel's nonce. Ed25519 signatures are deterministic
//! (RFC 8032), so the same wallet derives the same key on any machine; a
//! payer that lost its store finds its channels on chain (by escrow), derives
//! each one's key from its nonce, and checks it against the channel's
//! `signer`.
//!
//! The message starts with a fixed domain string that is neither a
//! transaction nor a Solana off-chain message, so a signature of it can be
//! used for nothing else; a wallet that signs it for anyone hands over the
//! session keys of its channels (not the wallet, not the escrow's free
//! balance): sign it only in a micropay client.

use anchor_lang::prelude::Pubkey;
use sha2::{Digest, Sha256};
use solana_keypair::Keypair;
use solana_signer::{Signer, SignerError};

/// Domain string at the start of every derivation message.
pub const DOMAIN: &[u8] = b"micropay session key v1\0";

/// The message the wallet signs for the session key of `escrow`'s channel
/// with `nonce`.
pub fn message(escrow: &Pubkey, nonce: u64) -> Vec<u8> {
    let mut m = Vec::with_capacity(DOMAIN.len().saturating_add(40));
    m.extend_from_slice(DOMAIN);
    m.extend_from_slice(escrow.as_ref());
    m.extend_from_slice(&nonce.to_le_bytes());
    m
}

/// The session key of `escrow`'s channel with `nonce`, derived from `wallet`.
pub fn derive(wallet: &dyn Signer, escrow: &Pubkey, nonce: u64) -> Result<Keypair, SignerError> {
    let signature = wallet.try_sign_message(&message(escrow, nonce))?;
    let seed: [u8; 32] = Sha256::digest(signature.as_ref()).into();
    Ok(Keypair::new_from_array(seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_wallet_derives_the_same_key_and_nothing_else_does() {
        let wallet = Keypair::new();
        let again = Keypair::try_from(wallet.to_bytes().as_slice()).unwrap();
        let escrow = Pubkey::new_unique();
        let a = derive(&wallet, &escrow, 7).unwrap();
        assert_eq!(a.pubkey(), derive(&again, &escrow, 7).unwrap().pubkey());
        assert_ne!(a.pubkey(), derive(&wallet, &escrow, 8).unwrap().pubkey());
        assert_ne!(
            a.pubkey(),
            derive(&wallet, &Pubkey::new_unique(), 7).unwrap().pubkey()
        );
        assert_ne!(
            a.pubkey(),
            derive(&Keypair::new(), &escrow, 7).unwrap().pubkey()
        );
        assert_ne!(a.pubkey(), wallet.pubkey());
    }
}
