//! Client tests on the embedded bank: the receiver and the claim planner
//! against the real program, and the crate docs' story end to end.

mod exact;
mod funds;
mod ledger;
mod planner;
mod postgres;
mod receiver;
mod story;
mod watcher;
