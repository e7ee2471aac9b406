//! One module per instruction: its accounts, its `Args`, a `validate()` for what
//! account constraints cannot express, and the handler.

pub mod claim;
pub mod close_earnings;
pub mod close_escrow;
pub mod create_split;
pub mod creator_close;
pub mod deposit;
pub mod distribute;
pub mod finalize_close;
pub mod init_earnings;
pub mod init_escrow;
pub mod open_channel;
pub mod request_close;
pub mod top_up_channel;
pub mod withdraw;
pub mod withdraw_earnings;

pub use claim::*;
pub use close_earnings::*;
pub use close_escrow::*;
pub use create_split::*;
pub use creator_close::*;
pub use deposit::*;
pub use distribute::*;
pub use finalize_close::*;
pub use init_earnings::*;
pub use init_escrow::*;
pub use open_channel::*;
pub use request_close::*;
pub use top_up_channel::*;
pub use withdraw::*;
pub use withdraw_earnings::*;
