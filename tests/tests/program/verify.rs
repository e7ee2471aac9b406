//! The program's strict ed25519 verification — and the receiver's off-chain
//! check (`Voucher::verify`), wherever the message is a voucher's — agree with
//! ed25519-dalek's `verify_strict` plus a canonical-key check, on thousands of
//! random cases and on crafted ones; the mod-L reduction agrees with
//! curve25519-dalek.

use curve25519_dalek::{constants::EIGHT_TORSION, scalar::Scalar};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use micropay::constants::{VOUCHER_DOMAIN, VOUCHER_MESSAGE_LEN};
use micropay::voucher::{
    is_canonical_point, is_small_order, is_valid_signer_key, reduce_mod_l, verify_strict,
    voucher_message, SMALL_ORDER_ENCODINGS,
};
use micropay_sdk::voucher::Voucher;
use micropay_tests::malleate;
use rand::{rngs::StdRng, Rng, RngCore, SeedableRng};

/// The reference: dalek's strict verification, and A must be canonical.
fn reference(public_key: &[u8; 32], signature: &[u8; 64], message: &[u8]) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    is_canonical_point(public_key)
        && key
            .verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
}

fn program(public_key: &[u8; 32], signature: &[u8; 64], message: &[u8]) -> bool {
    verify_strict(public_key, signature, message).is_ok()
}

/// The receiver's off-chain check (the sdk's `Voucher::verify`), for voucher
/// messages: it must accept exactly what the program accepts.
fn sdk(public_key: &[u8; 32], signature: &[u8; 64], message: &[u8]) -> Option<bool> {
    if message.len() != VOUCHER_MESSAGE_LEN {
        return None;
    }
    // domain ‖ channel ‖ amount (u64 LE), as `voucher_message` lays it out
    let (channel, amount) = message
        .strip_prefix(VOUCHER_DOMAIN.as_slice())?
        .split_at(32);
    let channel: [u8; 32] = channel.try_into().unwrap();
    let amount = u64::from_le_bytes(amount.try_into().unwrap());
    let voucher = Voucher {
        channel: channel.into(),
        amount,
        signature: *signature,
    };
    Some(voucher.verify(&(*public_key).into()).is_ok())
}

fn assert_agree(public_key: &[u8; 32], signature: &[u8; 64], message: &[u8]) -> bool {
    let expected = reference(public_key, signature, message);
    assert_eq!(
        program(public_key, signature, message),
        expected,
        "disagree on key {public_key:02x?} sig {signature:02x?}"
    );
    if let Some(off_chain) = sdk(public_key, signature, message) {
        assert_eq!(
            off_chain, expected,
            "the sdk disagrees on key {public_key:02x?} sig {signature:02x?}"
        );
    }
    expected
}

/// A voucher message for the crafted cases.
fn a_voucher_message() -> [u8; VOUCHER_MESSAGE_LEN] {
    voucher_message(&[7u8; 32].into(), 42)
}

#[test]
fn agrees_with_dalek_on_random_valid_and_corrupted_signatures() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut valid = 0;
    for i in 0..3_000u64 {
        let key = SigningKey::generate(&mut rng);
        let public = key.verifying_key().to_bytes();
        let mut channel = [0u8; 32];
        rng.fill_bytes(&mut channel);
        let message = voucher_message(&channel.into(), rng.gen());
        let signature = key.sign(&message).to_bytes();
        if assert_agree(&public, &signature, &message) {
            valid += 1;
        }
        // one corruption per case, cycling through the kinds
        let mut bad = signature;
        let mut msg = message;
        let mut pk = public;
        match i % 5 {
            0 => bad[rng.gen_range(0..64)] ^= 1 << rng.gen_range(0..8),
            1 => msg[rng.gen_range(0..msg.len())] ^= 1 << rng.gen_range(0..8),
            2 => pk[rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8),
            3 => bad = malleate(&signature),
            _ => rng.fill_bytes(&mut bad),
        }
        assert!(!assert_agree(&pk, &bad, &msg), "corruption {i} accepted");
    }
    assert_eq!(valid, 3_000);
}

#[test]
fn agrees_on_random_garbage() {
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..2_000 {
        let mut pk = [0u8; 32];
        let mut sig = [0u8; 64];
        rng.fill_bytes(&mut pk);
        rng.fill_bytes(&mut sig);
        // keep S canonical half the time so later checks get exercised
        if rng.gen() {
            sig[63] &= 0x0f;
        }
        assert!(!assert_agree(&pk, &sig, b"garbage"));
        assert!(!assert_agree(&pk, &sig, &a_voucher_message()));
    }
}

#[test]
fn small_order_list_is_exactly_the_torsion_points() {
    for point in EIGHT_TORSION.iter() {
        let encoding = point.compress().to_bytes();
        assert!(is_small_order(&encoding), "{encoding:02x?} missing");
    }
    for encoding in SMALL_ORDER_ENCODINGS {
        let point = curve25519_dalek::edwards::CompressedEdwardsY(encoding)
            .decompress()
            .expect("on curve");
        assert!(point.is_small_order());
        assert!(is_canonical_point(&encoding));
    }
}

#[test]
fn crafted_small_order_keys_and_r_are_rejected_by_both() {
    let key = SigningKey::from_bytes(&[3u8; 32]);
    let public = key.verifying_key().to_bytes();
    let message = &a_voucher_message();
    let signature = key.sign(message).to_bytes();
    assert!(assert_agree(&public, &signature, message));
    for small in SMALL_ORDER_ENCODINGS {
        // small-order public key, with S = 0 and R = small point too: the
        // classic "verifies for every message" forgery
        let mut forged = [0u8; 64];
        forged[..32].copy_from_slice(&small);
        assert!(!assert_agree(&small, &forged, message));
        assert!(!is_valid_signer_key(&small));
        // small-order R with a real key
        let mut bad = signature;
        bad[..32].copy_from_slice(&small);
        assert!(!assert_agree(&public, &bad, message));
    }
}

/// The key's holder can make R any small-order point that the plain
/// (cofactorless) equation accepts: with R = identity and S = k·a,
/// `[S]B − [k]A` is the identity. Only the strict rule on R refuses it — a
/// receiver without it would accept a voucher the program rejects.
#[test]
fn a_small_order_r_made_by_the_key_holder_is_rejected_by_all() {
    use sha2::{Digest, Sha512};
    let key = SigningKey::from_bytes(&[11u8; 32]);
    let public = key.verifying_key().to_bytes();
    let message = a_voucher_message();
    // the identity's canonical encoding: the equation holds outright
    let small = curve25519_dalek::EdwardsPoint::default()
        .compress()
        .to_bytes();
    assert!(SMALL_ORDER_ENCODINGS.contains(&small));
    let mut hash = Sha512::new();
    hash.update(small);
    hash.update(public);
    hash.update(message);
    let k = Scalar::from_hash(hash);
    let s = k * key.to_scalar();
    let mut forged = [0u8; 64];
    forged[..32].copy_from_slice(&small);
    forged[32..].copy_from_slice(s.as_bytes());
    // dalek's strict check refuses it, the plain equation holds...
    assert!(key
        .verifying_key()
        .verify_strict(&message, &Signature::from_bytes(&forged))
        .is_err());
    assert!(ed25519_dalek::Verifier::verify(
        &key.verifying_key(),
        &message,
        &Signature::from_bytes(&forged)
    )
    .is_ok());
    // ...and the program, the sdk and the reference all refuse
    assert!(!assert_agree(&public, &forged, &message));
}

/// R with a torsion component (mixed order: not small order itself, so the
/// byte checks pass it on) must fail the equation in all three.
#[test]
fn mixed_order_r_is_rejected_by_all() {
    let key = SigningKey::from_bytes(&[5u8; 32]);
    let public = key.verifying_key().to_bytes();
    let message = a_voucher_message();
    let signature = key.sign(&message).to_bytes();
    let r = curve25519_dalek::edwards::CompressedEdwardsY(signature[..32].try_into().unwrap())
        .decompress()
        .unwrap();
    for torsion in EIGHT_TORSION.iter().skip(1) {
        let mut bad = signature;
        bad[..32].copy_from_slice((r + torsion).compress().as_bytes());
        assert!(!is_small_order(&bad[..32].try_into().unwrap()));
        assert!(!assert_agree(&public, &bad, &message));
    }
}

#[test]
fn non_canonical_encodings_are_rejected_by_both() {
    let key = SigningKey::from_bytes(&[9u8; 32]);
    let public = key.verifying_key().to_bytes();
    let message = &a_voucher_message();
    let signature = key.sign(message).to_bytes();
    // every y in p..2^255 (19 values), with both sign bits, as R and as A
    for low in 0xedu8..=0xff {
        for sign in [0u8, 0x80] {
            let mut enc = [0xffu8; 32];
            enc[0] = low;
            enc[31] = 0x7f | sign;
            assert!(!is_canonical_point(&enc));
            assert!(!is_valid_signer_key(&enc));
            let mut bad = signature;
            bad[..32].copy_from_slice(&enc);
            assert!(!assert_agree(&public, &bad, message));
            assert!(!assert_agree(&enc, &signature, message));
        }
    }
    // S + L and S = L: malleability
    assert!(!assert_agree(&public, &malleate(&signature), message));
    assert!(is_valid_signer_key(&public));
}

#[test]
fn reduce_mod_l_matches_dalek() {
    let mut rng = StdRng::seed_from_u64(42);
    let mut cases: Vec<[u8; 64]> = vec![[0u8; 64], [0xffu8; 64]];
    for _ in 0..5_000 {
        let mut wide = [0u8; 64];
        rng.fill_bytes(&mut wide);
        cases.push(wide);
    }
    for wide in cases {
        assert_eq!(
            reduce_mod_l(&wide),
            Scalar::from_bytes_mod_order_wide(&wide).to_bytes(),
            "{wide:02x?}"
        );
    }
}
