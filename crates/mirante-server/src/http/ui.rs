//! The web UI, served by the binary itself (one file to deploy): the assets of `web/dist`
//! embedded at build time (see `build.rs`), with ETags, gzip/brotli and cache headers from
//! memory-serve. Vite's hashed `/assets/*` are cached for a year; HTML is revalidated on
//! every load so a new release shows at once.
//!
//! It answers only what no route matched: the API, `/healthz`, `/metrics` and the API
//! documentation keep precedence. Any other `GET`/`HEAD` path that is not a file is a deep
//! link into the single-page app and gets `index.html` (status 200); an unknown path under
//! `/api/` (or any other method) still gets the JSON `not_found` error.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use memory_serve::{CacheControl, MemoryServe};
use tower::ServiceExt;

/// The UI router, built once (memory-serve leaks its assets into `'static` on purpose).
static UI: LazyLock<Router> = LazyLock::new(|| {
    MemoryServe::new(memory_serve_assets())
        .index_file(Some("/index.html"))
        .fallback(Some("/index.html"))
        .fallback_status(StatusCode::OK)
        .html_cache_control(CacheControl::NoCache)
        .cache_control(CacheControl::Long)
        .into_router()
});

/// The embedded assets (the table `build.rs` generated).
fn memory_serve_assets() -> &'static [memory_serve::Asset] {
    let named: &'static [(&'static str, &'static [memory_serve::Asset])] =
        include!(concat!(env!("OUT_DIR"), "/memory_serve_assets.rs"));
    named.first().map_or(&[], |(_, assets)| assets)
}

/// The router's fallback: the UI for browser paths, the JSON 404 for everything else.
pub(crate) async fn fallback(request: Request) -> Response {
    let path = request.uri().path();
    let api_like = path == "/api" || path.starts_with("/api/");
    if api_like || !matches!(*request.method(), Method::GET | Method::HEAD) {
        return super::error::not_found(request.headers().clone()).await;
    }
    match UI.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
    .into_response()
}
