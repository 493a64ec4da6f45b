//! Embeds the web UI in the `mirante` binary: the files that `npm run build` writes to
//! `web/dist` become an in-memory asset table (memory-serve), brotli-compressed at build time
//! in release builds and read from disk in debug builds. Without a built UI (a Rust-only
//! checkout) a one-page placeholder says how to build it, so the crate always compiles.

use std::path::{Path, PathBuf};

/// The file memory-serve's `load!` macro includes from `OUT_DIR`.
const ASSET_FILE: &str = "memory_serve_assets.rs";

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let web = manifest.join("../../web");
    let dist = web.join("dist");
    let dir = if dist.join("index.html").is_file() {
        dist
    } else {
        // Rebuild when the UI gets built (the scan of `web/` sees `dist/` appear).
        if web.is_dir() {
            println!("cargo::rerun-if-changed={}", web.display());
        }
        placeholder(&out)
    };
    let dir = dir.canonicalize().expect("canonical web UI directory");
    let label = dir.to_string_lossy().into_owned();
    let embed = std::env::var("PROFILE").as_deref() == Ok("release");
    let assets = memory_serve::assets_to_code(&label, &dir, &out, embed, |_| {});
    std::fs::write(out.join(ASSET_FILE), format!("&[(\"default\", {assets})]"))
        .expect("writing the asset table");
    println!("cargo::rerun-if-changed={label}");
    println!("cargo::rerun-if-changed=build.rs");
}

/// A directory with one `index.html` telling how to build the UI.
fn placeholder(out: &Path) -> PathBuf {
    let dir = out.join("ui-placeholder");
    std::fs::create_dir_all(&dir).expect("creating the placeholder directory");
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Mirante</title>\
         <p>The web UI was not built into this binary. Run <code>cargo xtask demo</code>, or \
         <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code> and rebuild.</p></html>",
    )
    .expect("writing the placeholder page");
    dir
}
