//! Ferrodesk over HTTP: the `/api/v1` REST API (with its OpenAPI document), problem+json
//! errors and authentication. The only crate that knows axum.

pub mod api;
pub mod compat;
pub mod error;
pub mod extract;
pub mod guard;
pub mod idempotency;
pub mod ratelimit;
pub mod server;
pub mod ui;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use ferrodesk_app::App;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The whole HTTP application, with the default rate limits.
pub fn router(app: App) -> Router {
    router_with(app, ratelimit::Rates::default())
}

/// The whole HTTP application with `rates`.
pub fn router_with(app: App, rates: ratelimit::Rates) -> Router {
    let (api, doc) = api::routes().split_for_parts();
    let doc = std::sync::Arc::new(api::complete(doc));
    let api = api
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            idempotency::idempotency,
        ))
        .layer(axum::middleware::from_fn(guard::api_headers));
    let router = api
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .merge(ui::routes())
        .merge(compat::routes())
        .fallback(|uri: axum::http::Uri| async move {
            // Outside the APIs (ours and the vendor layers, which also have their own) an
            // unknown address is a page: "No such page", in the frame of whoever is signed
            // in (`ui::with_navigation`).
            let path = uri.path();
            if ["/api/", "/zendesk/", "/freshdesk/"]
                .iter()
                .any(|api| path.starts_with(api))
            {
                axum::response::IntoResponse::into_response(error::ApiError(
                    ferrodesk_app::AppError::NotFound("route"),
                ))
            } else {
                ui::page_not_found()
            }
        })
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            ui::with_navigation,
        ))
        .with_state(app.clone())
        .layer(axum::middleware::from_fn(guard::refuse_unstorable_text))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            guard::limit_body,
        ))
        .layer(axum::middleware::from_fn(guard::run_to_completion))
        .layer(TraceLayer::new_for_http());
    if rates.is_off() {
        router
    } else {
        router.layer(axum::middleware::from_fn_with_state(
            ratelimit::Limiters::new(rates),
            ratelimit::limit,
        ))
    }
}

/// The OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::complete(api::routes().into_openapi())
}

/// Serves `app` on `listener` with the default [`server::Limits`] until ctrl-c or SIGTERM.
pub async fn serve(listener: TcpListener, app: App) -> std::io::Result<()> {
    serve_with(listener, app, server::Limits::default()).await
}

/// Serves `app` on `listener` with `limits` until ctrl-c or SIGTERM.
pub async fn serve_with(
    listener: TcpListener,
    app: App,
    limits: server::Limits,
) -> std::io::Result<()> {
    server::serve_with_limits(listener, app, limits, shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
