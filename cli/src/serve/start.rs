//! Running a plan: the paywall in front of the upstream, the funding
//! Action beside it, the watcher as a task beside them (its store calls go
//! to the blocking pool through `AsyncStore`), until a signal (or the
//! watcher giving up) stops them.

use super::plan::{Plan, WatchPlan};
use crate::{
    context::{emit, Ctx},
    watch::{init_logs, shutdown_signal, websocket_url, Logging},
    Failure, Output,
};
use micropay_client::{
    receiver::Receiver,
    store::ReceiverStore,
    watcher::{subscribe_channels, WatchReport, Watcher, WatcherConfig},
};
use micropay_http::{
    paywall::{ClaimNow, ExactSettlement, Paywall, RemoteFacilitator},
    proxy::Proxy,
};
use std::sync::Arc;
use tokio::sync::watch;

/// What a plan runs on: the cluster, the store, the upstream, the socket.
pub(super) struct Running<'a> {
    pub(super) ctx: &'a Ctx,
    pub(super) store: Arc<dyn ReceiverStore>,
    pub(super) proxy: Proxy,
    pub(super) listener: tokio::net::TcpListener,
    /// The metrics endpoint's socket, when asked for.
    pub(super) metrics: Option<tokio::net::TcpListener>,
}

/// The watcher's report, once its task ends.
type WatcherDone = tokio::task::JoinHandle<WatchReport>;

/// Serves `plan` until a signal, or the watcher giving up, stops it.
pub(super) async fn start(
    output: Output,
    logging: &Logging,
    running: Running<'_>,
    plan: Plan,
) -> Result<(), Failure> {
    let ctx = running.ctx;
    init_logs(logging)?;
    create_earnings(ctx, &plan).await?;
    let receiver = Arc::new(Receiver::new(
        ctx.ledger.clone(),
        running.store.clone(),
        plan.creator,
        plan.receiver,
    ));
    let claimer = ClaimNow::new(
        ctx.ledger.clone(),
        Arc::new(ctx.keypair()?.insecure_clone()),
    );
    if !plan.exact_accounts.is_empty() {
        exact_accounts(ctx, &plan.creator, &plan.exact_accounts).await?;
    }
    let network = plan.paywall.network.clone();
    let paywall = Paywall::with_settle(receiver, plan.paywall, Arc::new(claimer));
    if !plan.exact_accounts.is_empty() {
        match &plan.facilitator {
            Some(url) => {
                let facilitator = RemoteFacilitator::connect(url, &network)
                    .await
                    .map_err(|e| {
                        Failure::user(format!(
                            "{e}: fix `facilitator` in the configuration, or remove it to settle `exact` payments with the keypair"
                        ))
                    })?;
                paywall.settle_exact_remote(facilitator, ctx.ledger.clone());
            }
            None => {
                paywall.settle_exact(ExactSettlement {
                    ledger: ctx.ledger.clone(),
                    fee_payer: Arc::new(ctx.keypair()?.insecure_clone()),
                });
            }
        }
    }
    let signal = shutdown_signal()?;
    let (stop, stopped) = watch::channel(false);
    let stop = Arc::new(stop);
    let on_signal = stop.clone();
    tokio::spawn(async move {
        signal.await;
        let _ = on_signal.send(true);
    });
    let metrics = paywall.metrics().clone();
    let watcher = match plan.watch {
        Some(w) => {
            let (progress, report) = watch::channel(WatchReport::default());
            metrics.follow_watcher(report);
            let stops = (&stop, &stopped);
            Some(spawn_watcher(ctx, running.store, plan.creator, w, stops, progress).await?)
        }
        None => None,
    };
    if let Some(listener) = running.metrics {
        let mut stopped_metrics = stopped.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, metrics.router())
                .with_graceful_shutdown(async move {
                    let _ = stopped_metrics.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the metrics endpoint stopped");
            }
        });
    }
    let guard = tokio::spawn(super::guard::watch_cluster(
        ctx.ledger.clone(),
        (plan.serving.cluster.clone(), network),
        plan.cluster_check,
        stop.clone(),
        stopped.clone(),
    ));
    emit(output, &plan.serving);
    // the Action's routes are never priced; everything else goes through the paywall
    let mut app = running.proxy.router().layer(paywall);
    if let Some(fund) = plan.fund {
        app = micropay_http::actions::router(ctx.ledger.clone(), fund).merge(app);
    }
    let mut stopped_http = stopped.clone();
    // each request's client address reaches the paywall (its junk limit)
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(running.listener, app)
        .with_graceful_shutdown(async move {
            let _ = stopped_http.wait_for(|s| *s).await;
        })
        .await
        .map_err(|e| Failure {
            message: format!("serving stopped: {e}"),
            code: 2,
        })?;
    if let Some(done) = watcher {
        watcher_stopped(done).await?;
    }
    if let Ok(Some(why)) = guard.await {
        return Err(Failure {
            message: why,
            code: 2,
        });
    }
    if output == Output::Text {
        crate::context::print_line("stopped");
    }
    Ok(())
}

/// Starts the watcher as a task of this runtime: its store calls run on the
/// blocking pool ([`micropay_client::store::AsyncStore`]), so a pass never
/// holds up a request's worker. When it gives up, serving stops too: the
/// creator's duty is not kept.
async fn spawn_watcher(
    ctx: &Ctx,
    store: Arc<dyn ReceiverStore>,
    creator: anchor_lang::prelude::Pubkey,
    plan: WatchPlan,
    (stop, stopped): (&Arc<watch::Sender<bool>>, &watch::Receiver<bool>),
    progress: watch::Sender<WatchReport>,
) -> Result<WatcherDone, Failure> {
    let format = plan.format.resolve(ctx.ledger.as_ref()).await?;
    let watcher = Watcher::new(
        ctx.ledger.clone(),
        store,
        Arc::new(ctx.keypair()?.insecure_clone()),
        WatcherConfig {
            poll_interval: plan.poll,
            plan_interval: plan.plan,
            planner: micropay_client::planner::PlannerConfig {
                format,
                ..plan.planner
            },
            distribute: plan.distribute,
            ..WatcherConfig::default()
        },
    )
    .reporting(progress);
    let ws = websocket_url(&ctx.ledger.url());
    let (mut stopped, stop) = (stopped.clone(), stop.clone());
    Ok(tokio::spawn(async move {
        let wake = subscribe_channels(&ws, Some(creator)).await.ok();
        let report = watcher
            .run(wake, async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await;
        if report.gave_up.is_some() {
            let _ = stop.send(true);
        }
        report
    }))
}

/// Creates the payee's associated token accounts of the mints `exact`
/// routes are priced in, those missing only (one read; a restart with
/// them in place sends nothing): `exact` transfers go there.
async fn exact_accounts(
    ctx: &Ctx,
    payee: &anchor_lang::prelude::Pubkey,
    accounts: &[(anchor_lang::prelude::Pubkey, anchor_lang::prelude::Pubkey)],
) -> Result<(), Failure> {
    let me = ctx.me()?;
    let wanted: Vec<_> = accounts
        .iter()
        .map(
            |(mint, token_program)| micropay_sdk::tokens::CreateAssociatedTokenAccount {
                payer: me,
                owner: *payee,
                mint: *mint,
                token_program: *token_program,
            },
        )
        .collect();
    let addresses: Vec<_> = wanted.iter().map(|c| c.address()).collect();
    let found = ctx.ledger().accounts(&addresses).await?;
    let ixs: Vec<_> = wanted
        .iter()
        .zip(found)
        .filter(|(_, account)| account.is_none())
        .map(|(create, _)| create.instruction())
        .collect();
    if !ixs.is_empty() {
        ctx.ledger().send(&ixs, ctx.keypair()?, &[]).await?;
        tracing::info!(%payee, created = ixs.len(), "created the payee's token accounts for exact payments");
    }
    Ok(())
}

/// Creates the payee's missing earnings accounts (the plan found the
/// keypair holds their rent): claims credit them.
async fn create_earnings(ctx: &Ctx, plan: &Plan) -> Result<(), Failure> {
    if plan.create_earnings.is_empty() {
        return Ok(());
    }
    let pairs: Vec<_> = plan
        .create_earnings
        .iter()
        .map(|mint| (plan.creator, *mint))
        .collect();
    let created = micropay_client::earnings::create(ctx.ledger(), ctx.keypair()?, &pairs).await?;
    for mint in &plan.create_earnings {
        tracing::info!(payee = %plan.creator, %mint, "created the payee's earnings account");
    }
    tracing::info!(fee = created.fees, "earnings accounts created");
    Ok(())
}

/// The watcher's end: logged, and an error (exit code 2, so a supervisor
/// restarts the gateway) when it gave up.
async fn watcher_stopped(done: WatcherDone) -> Result<(), Failure> {
    let report = done
        .await
        .map_err(|e| Failure::user(format!("watcher: its task ended without a report: {e}")))?;
    tracing::info!(
        claims = report.claim_transactions,
        settled = report.settled_amount,
        "watcher stopped"
    );
    match report.gave_up {
        Some(why) => Err(Failure {
            message: format!("watcher stopped, so serving stopped: {why}"),
            code: 2,
        }),
        None => Ok(()),
    }
}
