//! Vouchers off chain: the exact on-chain message, signing with any `Signer`,
//! and strict verification with the program's semantics.
//!
//! Verification applies the program's rules — canonical S, R canonical and not
//! of small order (on its bytes), a canonical key of prime order (checked once
//! per key) — then ed25519-dalek's plain equation (`[S]B − [k]A` encodes to R's
//! bytes): exactly the program's decision, as `verify_strict` plus the key
//! check is, without decoding R a second time. So a voucher the receiver
//! accepts is one the program will settle; a test feeds the same vouchers to
//! this verifier and to the program's and checks they agree.

use anchor_lang::prelude::Pubkey;
use micropay::voucher::{is_canonical_point, is_canonical_scalar, is_small_order, voucher_message};
use solana_signer::Signer;

/// A signed, cumulative voucher: "the channel may pay its creator `amount` in total".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Voucher {
    /// The channel the voucher draws on.
    pub channel: Pubkey,
    /// Cumulative amount, base units of the channel's mint.
    pub amount: u64,
    /// Ed25519 signature (R ‖ S) of the voucher message by the channel's signer.
    pub signature: [u8; 64],
}

/// A channel's voucher-signing key, checked (canonical encoding, not of small
/// order — the program's rule) and decompressed once.
#[derive(Clone, Debug)]
pub struct SignerKey {
    pubkey: Pubkey,
    key: ed25519_dalek::VerifyingKey,
}

impl SignerKey {
    /// Checks and decodes `signer`.
    pub fn new(signer: &Pubkey) -> Result<Self, VoucherError> {
        let bytes = signer.to_bytes();
        if !is_canonical_point(&bytes) || is_small_order(&bytes) {
            return Err(VoucherError::InvalidSignerKey);
        }
        let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map_err(|_| VoucherError::InvalidSignerKey)?;
        Ok(SignerKey {
            pubkey: *signer,
            key,
        })
    }

    /// The key's address.
    pub fn pubkey(&self) -> &Pubkey {
        &self.pubkey
    }
}

/// Wire size of [`Voucher::to_bytes`].
pub const VOUCHER_BYTES: usize = 32 + 8 + 64;

/// Why a voucher does not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VoucherError {
    /// The signature's S is not reduced: a malleated copy of a signature.
    #[error("signature scalar is not canonical (malleated signature)")]
    MalleatedSignature,
    /// The channel's signer is not a canonical, prime-order ed25519 key.
    #[error("the channel's signer key is not a valid ed25519 key")]
    InvalidSignerKey,
    /// The signature does not verify.
    #[error("signature does not match the channel, amount and signer")]
    BadSignature,
    /// The encoding is not [`VOUCHER_BYTES`] long.
    #[error("voucher encoding must be {VOUCHER_BYTES} bytes")]
    Malformed,
}

impl Voucher {
    /// Signs a voucher for `channel` and cumulative `amount` with `signer`.
    pub fn sign(signer: &dyn Signer, channel: Pubkey, amount: u64) -> Self {
        let signature = signer.sign_message(&voucher_message(&channel, amount));
        Voucher {
            channel,
            amount,
            signature: signature.into(),
        }
    }

    /// The 47-byte message the signature covers.
    pub fn message(&self) -> [u8; micropay::constants::VOUCHER_MESSAGE_LEN] {
        voucher_message(&self.channel, self.amount)
    }

    /// Strict verification against the channel's `signer` key.
    pub fn verify(&self, signer: &Pubkey) -> Result<(), VoucherError> {
        self.verify_with(&SignerKey::new(signer)?)
    }

    /// Strict verification against a key checked and decompressed once
    /// ([`SignerKey`]): what a receiver keeps per channel, so that each voucher
    /// costs one signature check and no key decoding.
    pub fn verify_with(&self, key: &SignerKey) -> Result<(), VoucherError> {
        let mut s = [0u8; 32];
        s.copy_from_slice(&self.signature[32..]);
        if !is_canonical_scalar(&s) {
            return Err(VoucherError::MalleatedSignature);
        }
        // The program's strict rule on R, on its bytes: canonical and not of
        // small order. With it (and a checked key), ed25519-dalek's plain
        // `verify` — `[S]B − [k]A`, compressed, equal to R's bytes — decides
        // exactly as the program does, without `verify_strict`'s decompression
        // of R (a fifth of the check's time here).
        let mut r = [0u8; 32];
        r.copy_from_slice(&self.signature[..32]);
        if !is_canonical_point(&r) || is_small_order(&r) {
            return Err(VoucherError::BadSignature);
        }
        ed25519_dalek::Verifier::verify(
            &key.key,
            &self.message(),
            &ed25519_dalek::Signature::from_bytes(&self.signature),
        )
        .map_err(|_| VoucherError::BadSignature)
    }

    /// `channel ‖ amount (u64 LE) ‖ signature`, 104 bytes.
    pub fn to_bytes(&self) -> [u8; VOUCHER_BYTES] {
        let mut out = [0u8; VOUCHER_BYTES];
        out[..32].copy_from_slice(self.channel.as_ref());
        out[32..40].copy_from_slice(&self.amount.to_le_bytes());
        out[40..].copy_from_slice(&self.signature);
        out
    }

    /// Parses [`Voucher::to_bytes`]; does not verify.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VoucherError> {
        if bytes.len() != VOUCHER_BYTES {
            return Err(VoucherError::Malformed);
        }
        let mut channel = [0u8; 32];
        channel.copy_from_slice(&bytes[..32]);
        let mut amount = [0u8; 8];
        amount.copy_from_slice(&bytes[32..40]);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&bytes[40..]);
        Ok(Voucher {
            channel: Pubkey::new_from_array(channel),
            amount: u64::from_le_bytes(amount),
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use micropay::voucher::verify_strict;
    use solana_keypair::Keypair;

    fn program_accepts(v: &Voucher, signer: &Pubkey) -> bool {
        verify_strict(&signer.to_bytes(), &v.signature, &v.message()).is_ok()
    }

    /// The receiver and the program agree on valid, tampered, wrong-channel,
    /// wrong-key and non-canonical vouchers.
    #[test]
    fn client_and_program_verifiers_agree() {
        let key = Keypair::new();
        let other = Keypair::new();
        let channel = Pubkey::new_unique();
        let good = Voucher::sign(&key, channel, 1_000);
        let mut tampered = good;
        tampered.amount = 1_001;
        let mut wrong_channel = good;
        wrong_channel.channel = Pubkey::new_unique();
        let mut malleated = good;
        // S + L
        let mut carry = 0u16;
        for (s, l) in malleated.signature[32..]
            .iter_mut()
            .zip(micropay::voucher::L_BYTES)
        {
            let sum = u16::from(*s) + u16::from(l) + carry;
            *s = sum as u8;
            carry = sum >> 8;
        }
        let mut non_canonical_r = good;
        non_canonical_r.signature[..32].copy_from_slice(&{
            let mut r = [0xffu8; 32];
            r[0] = 0xee;
            r[31] = 0x7f;
            r
        });
        let cases = [
            (good, key.pubkey(), true),
            (tampered, key.pubkey(), false),
            (wrong_channel, key.pubkey(), false),
            (good, other.pubkey(), false),
            (malleated, key.pubkey(), false),
            (non_canonical_r, key.pubkey(), false),
        ];
        for (voucher, signer, valid) in cases {
            assert_eq!(voucher.verify(&signer).is_ok(), valid, "{voucher:?}");
            // the cached key decides exactly as the one-shot check
            let cached = SignerKey::new(&signer).unwrap();
            assert_eq!(voucher.verify_with(&cached), voucher.verify(&signer));
            assert_eq!(program_accepts(&voucher, &signer), valid, "{voucher:?}");
        }
        // keys the program refuses are refused before any voucher is checked
        let small_order = Pubkey::new_from_array(micropay::voucher::SMALL_ORDER_ENCODINGS[1]);
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xee;
        non_canonical[31] = 0x7f;
        for bad in [small_order, Pubkey::new_from_array(non_canonical)] {
            assert_eq!(
                SignerKey::new(&bad).unwrap_err(),
                VoucherError::InvalidSignerKey
            );
            assert_eq!(good.verify(&bad), Err(VoucherError::InvalidSignerKey));
        }
        assert_eq!(
            malleated.verify(&key.pubkey()),
            Err(VoucherError::MalleatedSignature)
        );
    }

    #[test]
    fn bytes_roundtrip_and_reject_wrong_length() {
        let v = Voucher::sign(&Keypair::new(), Pubkey::new_unique(), 77);
        assert_eq!(Voucher::from_bytes(&v.to_bytes()), Ok(v));
        assert_eq!(
            Voucher::from_bytes(&[0u8; 10]),
            Err(VoucherError::Malformed)
        );
    }
}
