//! Project automation in Rust (`cargo xtask <command>`), so that CI and people run the same
//! steps on any machine: `test` (everything CI checks), `bench` (the performance targets),
//! `demo` (the main job: the server on the embedded database; the simulator and the web UI
//! join it in later issues).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test           everything CI checks: rustfmt, clippy (warnings are errors), all tests
  bench [WHICH]  benchmarks; WHICH = all (default) | p3 | p4 | p4-store | p5 | erlang-c;
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
    let mut outcomes = vec![
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
    ];
    // Hook for later issues: web unit tests and browser tests add their steps here, each a
    // closure returning a one-line detail (e.g. "web: 12 passed, 0 failed").
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

/// Steps for the web UI, once it exists (`web/package.json`).
fn web_steps() -> Vec<Outcome> {
    if !root().join("web/package.json").exists() {
        return Vec::new();
    }
    vec![step("web tests", || {
        let web = root().join("web");
        run_plain(Command::new("npm").arg("ci").current_dir(&web))?;
        run_plain(Command::new("npm").arg("test").current_dir(&web))
    })]
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
    ("erlang-c", "mirante-sim", "erlang_c"),
];

fn bench(which: &str) -> Result<()> {
    let selected: Vec<_> = BENCHES
        .iter()
        .filter(|(name, ..)| which == "all" || *name == which)
        .collect();
    if selected.is_empty() {
        let names: Vec<_> = BENCHES.iter().map(|(name, ..)| *name).collect();
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
    println!("\nreports in {}", out.display());
    Ok(())
}

/// Builds the release binary and runs `mirante demo` in the foreground; Ctrl-C stops it
/// gracefully (the signal reaches the server, which drains and flushes before exiting).
fn demo(extra: &[String]) -> Result<()> {
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
    use super::count;

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
