//! # micropay-http
//!
//! micropay over HTTP, on the x402 v2 transport ([`micropay_sdk::x402`]):
//!
//! - [`paywall`]: a tower `Layer` for axum/hyper services that prices
//!   requests by [`route`] and serves one only for a voucher the creator's
//!   receiver accepts (recorded durably first);
//! - [`route`]: method + path pattern → a price per accepted mint;
//! - [`path`]: the one canonical spelling of a request path, priced and
//!   forwarded;
//! - [`proxy`]: a reverse proxy to one upstream (what `micropay serve` puts
//!   behind the paywall);
//! - [`metrics`]: what the paywall and a watcher did, for Prometheus;
//! - [`actions`]: Solana Actions that fund an escrow and open a channel to
//!   the creator from any Actions-capable wallet;
//! - [`pay`]: the paying client, a `reqwest-middleware` middleware that
//!   answers a 402 with a voucher by itself.
//!
//! Features: `server` (`paywall`, `proxy`, `actions`, `metrics`) and `client` (`pay`),
//! both by default; `route` and `path` are always there.
//!
//! ```no_run
//! # async fn doc(receiver: std::sync::Arc<micropay_client::receiver::Receiver>, routes: Vec<micropay_http::route::Route>) {
//! use micropay_http::paywall::{Paywall, PaywallConfig};
//! let paywall = Paywall::new(
//!     receiver,
//!     PaywallConfig { routes, unrouted: Default::default(), network: "solana:...".into(), max_timeout_seconds: 60, fund_action: None, credit_not_found: false },
//! );
//! let app: axum::Router = axum::Router::new()
//!     .route("/weather", axum::routing::get(|| async { "sunny" }))
//!     .layer(paywall);
//! # let _ = app;
//! # }
//! ```
#![warn(missing_docs)]

#[cfg(feature = "server")]
pub mod actions;
#[cfg(feature = "server")]
pub mod metrics;
pub mod path;
#[cfg(feature = "client")]
pub mod pay;
#[cfg(feature = "server")]
pub mod paywall;
#[cfg(feature = "server")]
pub mod proxy;
pub mod route;
#[cfg(feature = "x402-rs")]
pub mod x402rs;
