//! Voucher message layout and strict ed25519 verification, in the program.
//!
//! A voucher is the payer's signature over
//!
//! ```text
//! offset  len  field
//! 0       7    VOUCHER_DOMAIN = b"mpay-v1"
//! 7       32   channel address (a micropay PDA: binds program, payer, mint,
//!              channel id and the channel's random nonce, hence the cluster)
//! 39      8    cumulative amount, u64 little-endian, base units of the mint
//! ```
//!
//! 47 bytes, so that R ‖ A ‖ M (64 + 47 = 111 bytes plus SHA-512 padding) is one
//! SHA-512 block.
//!
//! Verification does not use the Ed25519 precompile (5,000 lamports per signature,
//! as much as a whole transaction). It runs here, strictly, one error per check:
//!
//! 1. S < L (canonical scalar; rejects malleated `S + L` signatures);
//! 2. R is a canonical encoding (y < p) and not of small order
//!    (A, the channel signer, is checked the same way when the channel opens,
//!    and again here);
//! 3. k = SHA-512(R ‖ A ‖ M) mod L;
//! 4. `[S]B + [k](−A)`, one multiscalar multiplication (curve25519 syscall on SBF,
//!    curve25519-dalek natively), must encode to R's bytes exactly.
//!
//! This is ed25519-dalek's `verify_strict` plus a canonical-A check; the test
//! suite proves both agree on random and crafted inputs.

use crate::constants::{VOUCHER_DOMAIN, VOUCHER_MESSAGE_LEN};
use anchor_lang::prelude::Pubkey;
use sha2::{Digest, Sha512};
use solana_curve25519::{
    edwards::{multiscalar_multiply_edwards, validate_edwards, PodEdwardsPoint},
    scalar::PodScalar,
};

/// The 47-byte message a voucher signs.
pub fn voucher_message(channel: &Pubkey, amount: u64) -> [u8; VOUCHER_MESSAGE_LEN] {
    let mut message = [0u8; VOUCHER_MESSAGE_LEN];
    let (domain, rest) = message.split_at_mut(VOUCHER_DOMAIN.len());
    domain.copy_from_slice(VOUCHER_DOMAIN);
    let (channel_bytes, amount_bytes) = rest.split_at_mut(32);
    channel_bytes.copy_from_slice(channel.as_ref());
    amount_bytes.copy_from_slice(&amount.to_le_bytes());
    message
}

/// Why a signature failed strict verification; each maps to one program error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// S ≥ L.
    ScalarNotCanonical,
    /// R's y coordinate is ≥ p.
    PointNotCanonical,
    /// R is one of the eight small-order points.
    PointSmallOrder,
    /// The public key is non-canonical, of small order, or not on the curve.
    InvalidPublicKey,
    /// The equation does not hold.
    Mismatch,
}

/// The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian.
pub const L_BYTES: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// The ed25519 base point B, compressed.
const BASEPOINT: [u8; 32] = [
    0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
];

/// Every encoding with y < p of a point of order 1, 2, 4 or 8: the eight
/// torsion points, plus the two x = 0 points with the sign bit set (which
/// decoders accept as the same point).
pub const SMALL_ORDER_ENCODINGS: [[u8; 32]; 10] = [
    // identity (0, 1), and with the sign bit set
    hex32(b"0100000000000000000000000000000000000000000000000000000000000000"),
    hex32(b"0100000000000000000000000000000000000000000000000000000000000080"),
    // order 2: (0, -1), and with the sign bit set
    hex32(b"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    hex32(b"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
    // order 4: (±sqrt(-1), 0)
    hex32(b"0000000000000000000000000000000000000000000000000000000000000000"),
    hex32(b"0000000000000000000000000000000000000000000000000000000000000080"),
    // order 8
    hex32(b"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    hex32(b"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
    hex32(b"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
    hex32(b"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
];

/// Decodes 64 hex digits at compile time.
#[allow(clippy::arithmetic_side_effects)] // const evaluation: an overflow is a build error
const fn hex32(hex: &[u8; 64]) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a lowercase hex digit"),
        }
    }
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(hex[2 * i]) << 4) | nibble(hex[2 * i + 1]);
        i += 1;
    }
    out
}

/// True when the little-endian scalar is < L.
pub fn is_canonical_scalar(s: &[u8; 32]) -> bool {
    // Compare from the most significant byte down.
    for (a, l) in s.iter().rev().zip(L_BYTES.iter().rev()) {
        if a != l {
            return a < l;
        }
    }
    false // equal to L
}

/// True when the point encoding's y (the low 255 bits) is < p = 2^255 − 19.
pub fn is_canonical_point(point: &[u8; 32]) -> bool {
    // y ≥ p only when y is one of p..2^255−1: top byte 0x7f (sign masked),
    // bytes 1..=30 all 0xff, and byte 0 ≥ 0xed.
    let top_is_max = point[31] & 0x7f == 0x7f;
    let middle_is_max = point[1..31].iter().all(|b| *b == 0xff);
    !(top_is_max && middle_is_max && point[0] >= 0xed)
}

/// True when the encoding is one of the small-order points.
pub fn is_small_order(point: &[u8; 32]) -> bool {
    SMALL_ORDER_ENCODINGS.iter().any(|p| p == point)
}

/// True when `key` can sign vouchers: a canonical encoding of a curve point that
/// is not of small order. Checked when a channel opens.
pub fn is_valid_signer_key(key: &[u8; 32]) -> bool {
    is_canonical_point(key) && !is_small_order(key) && validate_edwards(&PodEdwardsPoint(*key))
}

/// Strict ed25519 verification of `signature` (R ‖ S) by `public_key` over `message`.
pub fn verify_strict(
    public_key: &[u8; 32],
    signature: &[u8; 64],
    message: &[u8],
) -> Result<(), SignatureError> {
    let mut r = [0u8; 32];
    let mut s = [0u8; 32];
    r.copy_from_slice(&signature[..32]);
    s.copy_from_slice(&signature[32..]);

    if !is_canonical_scalar(&s) {
        return Err(SignatureError::ScalarNotCanonical);
    }
    if !is_canonical_point(&r) {
        return Err(SignatureError::PointNotCanonical);
    }
    if is_small_order(&r) {
        return Err(SignatureError::PointSmallOrder);
    }
    if !is_canonical_point(public_key) || is_small_order(public_key) {
        return Err(SignatureError::InvalidPublicKey);
    }

    let mut hasher = Sha512::new();
    hasher.update(r);
    hasher.update(public_key);
    hasher.update(message);
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&hasher.finalize());
    let k = reduce_mod_l(&wide);

    // −A: flip the sign of x. A has x ≠ 0 here (x = 0 points are small order).
    let mut minus_a = *public_key;
    minus_a[31] ^= 0x80;

    // None when A is not on the curve.
    let expected = multiscalar_multiply_edwards(
        &[PodScalar(s), PodScalar(k)],
        &[PodEdwardsPoint(BASEPOINT), PodEdwardsPoint(minus_a)],
    )
    .ok_or(SignatureError::InvalidPublicKey)?;

    if expected.0 == r {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Mask of a 21-bit limb.
const LIMB_MASK: i64 = (1 << 21) - 1;

/// Reduces a 512-bit little-endian integer modulo L, without u128.
///
/// The classic signed 21-bit-limb reduction (SUPERCOP ref10 `sc_reduce`): limbs
/// at weight 2^(21·i) for i ≥ 12 fold down with 2^252 ≡ −(L − 2^252) (mod L),
/// whose 21-bit signed digits are the six constants below; carries keep every
/// limb far inside i64. The result is fully reduced (< L).
#[allow(clippy::arithmetic_side_effects)] // bounds follow ref10's analysis; tested against curve25519-dalek
pub fn reduce_mod_l(input: &[u8; 64]) -> [u8; 32] {
    let mut s = [0i64; 24];
    for (i, limb) in s.iter_mut().enumerate() {
        let bit = 21 * i;
        let byte = bit / 8;
        let mut word = 0u64;
        for j in 0..5 {
            if let Some(b) = input.get(byte + j) {
                word |= u64::from(*b) << (8 * j);
            }
        }
        let value = (word >> (bit % 8)) as i64;
        // The top limb keeps all remaining 29 bits.
        *limb = if i == 23 { value } else { value & LIMB_MASK };
    }

    fn fold(s: &mut [i64; 24], i: usize) {
        let v = s[i];
        s[i - 12] += v * 666_643;
        s[i - 11] += v * 470_296;
        s[i - 10] += v * 654_183;
        s[i - 9] -= v * 997_805;
        s[i - 8] += v * 136_657;
        s[i - 7] -= v * 683_901;
        s[i] = 0;
    }
    fn carry_centered(s: &mut [i64; 24], i: usize) {
        let carry = (s[i] + (1 << 20)) >> 21;
        s[i + 1] += carry;
        s[i] -= carry << 21;
    }
    fn carry_floor(s: &mut [i64; 24], i: usize) {
        let carry = s[i] >> 21;
        s[i + 1] += carry;
        s[i] -= carry << 21;
    }

    for i in (18..=23).rev() {
        fold(&mut s, i);
    }
    for i in (6..=16).step_by(2) {
        carry_centered(&mut s, i);
    }
    for i in (7..=15).step_by(2) {
        carry_centered(&mut s, i);
    }
    for i in (12..=17).rev() {
        fold(&mut s, i);
    }
    for i in (0..=10).step_by(2) {
        carry_centered(&mut s, i);
    }
    for i in (1..=11).step_by(2) {
        carry_centered(&mut s, i);
    }
    fold(&mut s, 12);
    for i in 0..=11 {
        carry_floor(&mut s, i);
    }
    fold(&mut s, 12);
    for i in 0..=10 {
        carry_floor(&mut s, i);
    }

    let mut out = [0u8; 32];
    let mut acc: u64 = 0;
    let mut bits = 0;
    let mut pos = 0;
    for limb in s.iter().take(12) {
        acc |= (*limb as u64) << bits;
        bits += 21;
        while bits >= 8 && pos < 32 {
            out[pos] = acc as u8;
            acc >>= 8;
            bits -= 8;
            pos += 1;
        }
    }
    if pos < 32 {
        out[pos] = acc as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_constants_are_minus_l_low_part() {
        let folded: i128 = 666_643 + (470_296 << 21) + (654_183 << 42) - (997_805i128 << 63)
            + (136_657i128 << 84)
            - (683_901i128 << 105);
        assert_eq!(
            folded,
            -27_742_317_777_372_353_535_851_937_790_883_648_493i128
        );
    }

    #[test]
    fn reduces_small_values_and_l() {
        let mut x = [0u8; 64];
        x[0] = 7;
        assert_eq!(reduce_mod_l(&x)[0], 7);
        let mut l = [0u8; 64];
        l[..32].copy_from_slice(&L_BYTES);
        assert_eq!(reduce_mod_l(&l), [0u8; 32]);
        // L + 5 ≡ 5
        l[0] += 5;
        let mut five = [0u8; 32];
        five[0] = 5;
        assert_eq!(reduce_mod_l(&l), five);
    }

    #[test]
    fn scalar_canonical_boundary() {
        let mut l_minus_1 = L_BYTES;
        l_minus_1[0] -= 1;
        assert!(is_canonical_scalar(&l_minus_1));
        assert!(!is_canonical_scalar(&L_BYTES));
        let mut l_plus_1 = L_BYTES;
        l_plus_1[0] += 1;
        assert!(!is_canonical_scalar(&l_plus_1));
        assert!(is_canonical_scalar(&[0u8; 32]));
    }

    #[test]
    fn point_canonical_boundary() {
        // p − 1 = 0x7fff…ffec is canonical, p = 0x7fff…ffed is not.
        let mut p_minus_1 = [0xffu8; 32];
        p_minus_1[0] = 0xec;
        p_minus_1[31] = 0x7f;
        assert!(is_canonical_point(&p_minus_1));
        let mut p = p_minus_1;
        p[0] = 0xed;
        assert!(!is_canonical_point(&p));
        // the sign bit does not matter
        p[31] = 0xff;
        assert!(!is_canonical_point(&p));
    }

    #[test]
    fn message_layout() {
        let channel = Pubkey::new_from_array([9u8; 32]);
        let m = voucher_message(&channel, 0x0102_0304_0506_0708);
        assert_eq!(m.len(), 47);
        assert_eq!(&m[..7], b"mpay-v1");
        assert_eq!(&m[7..39], &[9u8; 32]);
        assert_eq!(&m[39..], &[8, 7, 6, 5, 4, 3, 2, 1]);
    }
}
