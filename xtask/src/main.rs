//! Project automation in Rust (`cargo xtask <command>`), so that CI and people run the same
//! steps on any machine: `test` (everything CI checks), `bench` (the performance targets),
//! `demo` (the main job: builds the web UI and the release binary, then runs it).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test           everything CI checks: rustfmt, clippy (warnings are errors), all tests
  bench [WHICH]  benchmarks; WHICH = all (default) | p1-p2 | p3 | p4 | p4-store | p5 | erlang-c
                 | http (the simulator over HTTP against a server vs in-process)
                 | p7 (the web UI under load in Chromium; node web/perf/p7.mjs);
                 reports go to bench-out/
  demo [ARGS]    build and run `mirante demo`: the server on the embedded database
                 (./mirante-data) with a living, simulated contact center;
                 ARGS go to `mirante demo` (e.g. --listen 127.0.0.1:9090 --speed 5)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("bench") => bench(args.get(1).map_or("all", String::as_str)),
        Some("demo") => demo(&args[1..]),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives one level below it).
fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or(manifest.clone(), Path::to_path_buf)
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root());
    command
}

/// One step of `cargo xtask test` and how it went.
struct Outcome {
    name: &'static str,
    ok: bool,
    seconds: f64,
    detail: String,
}

fn test() -> Result<()> {
    // The web UI is built first, so the binary the Rust tests build embeds it and the
    // browser tests can drive that same binary.
    let mut outcomes = Vec::new();
    if has_web() {
        outcomes.push(step("web build", || web_build().map(|()| String::new())));
    }
    outcomes.extend([
        step("rustfmt", || {
            run_plain(cargo().args(["fmt", "--all", "--check"]))
        }),
        step("clippy", || {
            run_plain(cargo().args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))
        }),
        step("rust tests", || {
            run_cargo_test(cargo().args(["test", "--workspace", "--no-fail-fast"]))
        }),
    ]);
    outcomes.extend(web_steps());

    println!("\n==== xtask test summary ====");
    for o in &outcomes {
        let mark = if o.ok { "ok  " } else { "FAIL" };
        println!("{mark} {:<12} {:>7.1}s  {}", o.name, o.seconds, o.detail);
    }
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.ok).map(|o| o.name).collect();
    if failed.is_empty() {
        println!("all {} steps passed", outcomes.len());
        Ok(())
    } else {
        bail!("failed steps: {}", failed.join(", "))
    }
}

fn has_web() -> bool {
    root().join("web/package.json").exists()
}

fn web_dir() -> PathBuf {
    root().join("web")
}

fn npm() -> Command {
    let mut command = Command::new("npm");
    command.current_dir(web_dir());
    command
}

/// `npm ci` when `node_modules` is missing or older than the lock file, then `npm run build`
/// (Vite writes `web/dist`, which `crates/mirante-server/build.rs` embeds).
fn web_build() -> Result<()> {
    let web = web_dir();
    let installed = web.join("node_modules/.package-lock.json");
    let lock = web.join("package-lock.json");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if modified(&installed).is_none() || modified(&installed) < modified(&lock) {
        run_plain(npm().arg("ci").env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"))
            .context("npm ci (Node.js >= 20.19 and npm are needed for the web UI)")?;
    }
    run_plain(npm().args(["run", "build"])).context("building the web UI")?;
    Ok(())
}

/// Steps for the web UI (`web/package.json`): type check, unit tests (Vitest) and the
/// browser tests (Playwright driving Debian's Chromium against a real `mirante`), ending with
/// one `web: N passed, N failed` line.
fn web_steps() -> Vec<Outcome> {
    if !has_web() {
        return Vec::new();
    }
    let mut totals = (0u64, 0u64);
    let mut outcomes = vec![step("web check", || {
        run_plain(npm().args(["run", "check"]))?;
        run_plain(
            npm()
                .args(["run", "check:api"])
                .env("MIRANTE_BIN", mirante_debug()?),
        )
    })];
    outcomes.push(step("web unit", || {
        let report = std::env::temp_dir().join("mirante-vitest.json");
        let status = npm()
            .args([
                "exec",
                "--",
                "vitest",
                "run",
                "--reporter=default",
                "--reporter=json",
            ])
            .arg(format!("--outputFile.json={}", report.display()))
            .status()
            .context("starting vitest")?;
        let text = std::fs::read_to_string(&report).unwrap_or_default();
        let (passed, failed) = (
            json_number(&text, "numPassedTests"),
            json_number(&text, "numFailedTests"),
        );
        totals.0 += passed;
        totals.1 += failed;
        let detail = format!("vitest: {passed} passed, {failed} failed");
        if status.success() && failed == 0 {
            Ok(detail)
        } else {
            bail!("{detail} ({status})")
        }
    }));
    outcomes.push(step("web e2e", || {
        ensure_chromium()?;
        let report = std::env::temp_dir().join("mirante-playwright.json");
        let status = npm()
            .args(["exec", "--", "playwright", "test", "--reporter=list,json"])
            .env("PLAYWRIGHT_JSON_OUTPUT_NAME", &report)
            .env("MIRANTE_BIN", mirante_debug()?)
            .status()
            .context("starting playwright")?;
        let text = std::fs::read_to_string(&report).unwrap_or_default();
        let passed = json_number(&text, "expected") + json_number(&text, "flaky");
        let failed = json_number(&text, "unexpected");
        totals.0 += passed;
        totals.1 += failed;
        let detail = format!("playwright: {passed} passed, {failed} failed");
        if status.success() && failed == 0 {
            Ok(detail)
        } else {
            bail!("{detail} ({status})")
        }
    }));
    // One plain line CI reads, whatever the runners print.
    println!("\nweb: {} passed, {} failed", totals.0, totals.1);
    outcomes
}

/// The debug `mirante` binary the browser tests drive (`cargo test` has built it; built here
/// only when missing).
fn mirante_debug() -> Result<PathBuf> {
    let bin = root()
        .join("target/debug")
        .join(format!("mirante{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        run_plain(cargo().args(["build", "-p", "mirante-server", "--bin", "mirante"]))
            .context("building the mirante binary")?;
    }
    Ok(bin)
}

/// The browser tests use Debian's Chromium, never a downloaded one: installed here with
/// apt-get when `/usr/bin/chromium` is missing (CI starts from a clean machine).
fn ensure_chromium() -> Result<()> {
    if Path::new("/usr/bin/chromium").exists() {
        return Ok(());
    }
    println!("installing Debian's chromium (apt-get)");
    run_plain(Command::new("apt-get").args(["update", "-qq"])).context("apt-get update")?;
    run_plain(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
    .context("apt-get install chromium")?;
    Ok(())
}

/// The first number after `"key":` in a JSON text (enough for the runners' summaries).
fn json_number(text: &str, key: &str) -> u64 {
    let needle = format!("\"{key}\":");
    text.find(&needle)
        .map(|at| &text[at + needle.len()..])
        .map(|rest| {
            rest.trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0)
}

fn step(name: &'static str, body: impl FnOnce() -> Result<String>) -> Outcome {
    println!("\n==== {name} ====");
    let started = Instant::now();
    let result = body();
    let seconds = started.elapsed().as_secs_f64();
    match result {
        Ok(detail) => Outcome {
            name,
            ok: true,
            seconds,
            detail,
        },
        Err(error) => Outcome {
            name,
            ok: false,
            seconds,
            detail: format!("{error:#}"),
        },
    }
}

/// Runs a command with inherited output; Ok when it exits 0.
fn run_plain(command: &mut Command) -> Result<String> {
    let status = command
        .status()
        .with_context(|| format!("starting {command:?}"))?;
    if status.success() {
        Ok(String::new())
    } else {
        bail!("{status}")
    }
}

/// Runs `cargo test`, echoing its output and adding up its result lines.
fn run_cargo_test(command: &mut Command) -> Result<String> {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .context("starting cargo test")?;
    let (mut passed, mut failed, mut ignored) = (0u64, 0u64, 0u64);
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.context("reading cargo test output")?;
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                passed += count(rest, " passed");
                failed += count(rest, " failed");
                ignored += count(rest, " ignored");
            }
        }
    }
    let status = child.wait().context("waiting for cargo test")?;
    let detail = format!("rust: {passed} passed, {failed} failed, {ignored} ignored");
    println!("{detail}");
    if status.success() {
        Ok(detail)
    } else {
        bail!("{detail} ({status})")
    }
}

/// The number before `label` in a `cargo test` result line (`ok. 3 passed; 0 failed; …`).
fn count(line: &str, label: &str) -> u64 {
    line.split(';')
        .find_map(|part| {
            part.trim()
                .trim_start_matches("ok. ")
                .trim_start_matches("FAILED. ")
                .strip_suffix(label)
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Every benchmark: (name for `cargo xtask bench NAME`, package, bench target).
const BENCHES: &[(&str, &str, &str)] = &[
    ("p3", "mirante-monitor", "snapshot"),
    ("p4", "mirante-server", "ingest"),
    ("p4-store", "mirante-store-sqlite", "ingest"),
    ("p5", "mirante-server", "cold_start"),
    ("p1-p2", "mirante-server", "fanout"),
    ("http", "mirante-server", "sim_http"),
    ("erlang-c", "mirante-sim", "erlang_c"),
];

fn bench(which: &str) -> Result<()> {
    let selected: Vec<_> = BENCHES
        .iter()
        .filter(|(name, ..)| which == "all" || *name == which)
        .collect();
    let p7 = has_web() && (which == "all" || which == "p7");
    if selected.is_empty() && !p7 {
        let mut names: Vec<_> = BENCHES.iter().map(|(name, ..)| *name).collect();
        names.push("p7");
        bail!(
            "unknown benchmark `{which}` (expected all or one of {})",
            names.join(", ")
        );
    }
    let out = root().join("bench-out");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for (name, package, bench) in selected {
        println!("\n==== bench {name} ({package} / {bench}) ====");
        run_plain(
            cargo()
                .args(["bench", "-p", package, "--bench", bench])
                .env("MIRANTE_BENCH_OUT", &out),
        )
        .with_context(|| format!("benchmark {name}"))?;
    }
    if p7 {
        bench_p7(&out)?;
    }
    println!("\nreports in {}", out.display());
    Ok(())
}

/// P7: builds the web UI and the release binary (as `demo` does), then drives the UI in
/// Debian's Chromium against that binary with `node web/perf/p7.mjs` (10 000 live sessions,
/// 1 000 updates/s) and reads its Chromium traces. Never part of `test`.
fn bench_p7(out: &Path) -> Result<()> {
    println!("\n==== bench p7 (web/perf/p7.mjs) ====");
    web_build()?;
    run_plain(cargo().args([
        "build",
        "--release",
        "-p",
        "mirante-server",
        "--bin",
        "mirante",
    ]))
    .context("building the mirante binary")?;
    ensure_chromium()?;
    let bin = root()
        .join("target/release")
        .join(format!("mirante{}", std::env::consts::EXE_SUFFIX));
    run_plain(
        Command::new("node")
            .current_dir(root())
            .arg("web/perf/p7.mjs")
            .env("MIRANTE_BIN", bin)
            .env("MIRANTE_BENCH_OUT", out),
    )
    .context("benchmark p7")?;
    Ok(())
}

/// Builds the release binary and runs `mirante demo` in the foreground; Ctrl-C stops it
/// gracefully (the signal reaches the server, which drains and flushes before exiting).
fn demo(extra: &[String]) -> Result<()> {
    if has_web() {
        web_build()?;
    }
    run_plain(cargo().args([
        "build",
        "--release",
        "-p",
        "mirante-server",
        "--bin",
        "mirante",
    ]))
    .context("building the mirante binary")?;
    let bin = root()
        .join("target/release")
        .join(format!("mirante{}", std::env::consts::EXE_SUFFIX));
    let mut serve = Command::new(&bin);
    serve.current_dir(root()).arg("demo");
    if !extra
        .iter()
        .any(|a| a.starts_with("--data-dir") || a.starts_with("--database"))
    {
        serve.args(["--data-dir", "mirante-data"]);
    }
    serve.args(extra);
    run_plain(&mut serve).with_context(|| format!("running {}", bin.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{count, json_number};

    #[test]
    fn reads_runner_summaries() {
        let vitest = r#"{"numFailedTests":0,"numPassedTests":18,"numTotalTests":18}"#;
        assert_eq!(json_number(vitest, "numPassedTests"), 18);
        assert_eq!(json_number(vitest, "numFailedTests"), 0);
        let playwright = r#""stats": { "expected": 7, "skipped": 0, "unexpected": 1 }"#;
        assert_eq!(json_number(playwright, "expected"), 7);
        assert_eq!(json_number(playwright, "unexpected"), 1);
        assert_eq!(json_number(playwright, "flaky"), 0);
    }

    #[test]
    fn counts_cargo_test_result_lines() {
        let line =
            "ok. 12 passed; 1 failed; 3 ignored; 0 measured; 0 filtered out; finished in 0.2s";
        assert_eq!(count(line, " passed"), 12);
        assert_eq!(count(line, " failed"), 1);
        assert_eq!(count(line, " ignored"), 3);
        assert_eq!(count("FAILED. 4 passed; 2 failed; 0 ignored", " passed"), 4);
    }
}
