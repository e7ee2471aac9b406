//! `Ledger::program_accounts` on the embedded bank: the sdk's filters find
//! channels by creator and by escrow, escrows by owner, and nothing else; a
//! closed channel is gone from the listing.

use micropay_client::ledger::{embedded::EmbeddedLedger, ChannelFilter, Ledger};
use micropay_sdk::{filters, instructions as mix};
use micropay_tests::client::{more_channels, one_channel};
use solana_sdk::{pubkey::Pubkey, signature::Signer};

fn addresses<T>(found: Vec<(Pubkey, T)>) -> Vec<Pubkey> {
    let mut a: Vec<_> = found.into_iter().map(|(address, _)| address).collect();
    a.sort();
    a
}

#[tokio::test]
async fn program_accounts_are_found_by_the_sdk_filters() {
    let ledger = EmbeddedLedger::start().await;
    let l: &dyn Ledger = &ledger;
    let first = one_channel(&ledger, 1_000_000, 1_000, 0).await;
    let mut first_channels = more_channels(&ledger, &first, 2, 1_000).await;
    first_channels.push(first.channel);
    let second = one_channel(&ledger, 1_000_000, 1_000, 0).await;

    first_channels.sort();
    let by_creator = l
        .channels(ChannelFilter::Creator(first.creator.pubkey()))
        .await
        .unwrap();
    assert!(by_creator
        .iter()
        .all(|(_, c)| c.creator == first.creator.pubkey()));
    assert_eq!(addresses(by_creator), first_channels);
    assert_eq!(
        addresses(
            l.channels(ChannelFilter::Escrow(second.escrow))
                .await
                .unwrap()
        ),
        vec![second.channel]
    );
    // no channel of a creator that has none
    assert!(l
        .channels(ChannelFilter::Creator(first.user.pubkey()))
        .await
        .unwrap()
        .is_empty());

    // escrows by owner, and all of them; never a channel or an earnings account
    assert_eq!(
        addresses(
            l.program_accounts(&filters::escrows(Some(first.user.pubkey())))
                .await
                .unwrap()
        ),
        vec![first.escrow]
    );
    let mut escrows = vec![first.escrow, second.escrow];
    escrows.sort();
    assert_eq!(
        addresses(l.program_accounts(&filters::escrows(None)).await.unwrap()),
        escrows
    );
    assert_eq!(
        l.program_accounts(&filters::channels(None))
            .await
            .unwrap()
            .len(),
        4
    );

    // a channel the creator closes leaves the listing
    let closed = first_channels[0];
    l.send(
        &[mix::CreatorClose {
            creator: first.creator.pubkey(),
            escrow: first.escrow,
            channel: closed,
            owner: first.user.pubkey(),
        }
        .instruction()],
        ledger.payer(),
        &[&first.creator],
    )
    .await
    .unwrap();
    let left = addresses(
        l.channels(ChannelFilter::Escrow(first.escrow))
            .await
            .unwrap(),
    );
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&closed));
}
