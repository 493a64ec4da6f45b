//! `mirante demo` end to end, on the real binary: a fresh data dir gets two logins (in
//! `demo-logins.txt`, working passwords), the simulator fills all three phases, SIGTERM stops
//! cleanly, a second run on the same data dir continues (same logins, the log grows), and bad
//! input (`--speed 0`, a port in use) fails clearly without writing anything.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Demo {
    child: Child,
    base: String,
    printed: Vec<String>,
}

impl Demo {
    fn start(data_dir: &Path) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mirante"))
            .args(["demo", "--listen", "127.0.0.1:0", "--durability", "normal"])
            .args(["--speed", "20", "--seed", "7"])
            .arg("--data-dir")
            .arg(data_dir)
            .env("MIRANTE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("mirante exited before listening")
                .unwrap();
            if let Some(url) = line.strip_prefix("mirante listening on ") {
                break url.trim().to_owned();
            }
        };
        // The logins follow the listening line.
        let printed = lines.by_ref().take(3).map(Result::unwrap).collect();
        Demo {
            child,
            base,
            printed,
        }
    }

    fn metrics(&self) -> String {
        reqwest::blocking_get(&format!("{}/metrics", self.base))
    }

    fn gauge(metrics: &str, series: &str) -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// Polls `/metrics` until sessions are in every phase (the simulator warms up 15
    /// simulated minutes at once, so this is quick); panics after 60 s.
    fn wait_for_all_phases(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let m = self.metrics();
            let phases = ["bot", "waiting", "human"]
                .map(|p| Self::gauge(&m, &format!("mirante_sessions_open{{phase=\"{p}\"}}")));
            if phases.iter().all(|n| *n > 0.0) {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "phases never all filled: {phases:?}"
            );
            // Polling an outside process: there is no event to wait on.
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The Monitoramento screen as the given administrator sees it.
    fn monitor(&self, email: &str, password: &str) -> serde_json::Value {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let client = ::reqwest::Client::new();
            let login = client
                .post(format!("{}/api/v1/auth/login", self.base))
                .json(&serde_json::json!({"email": email, "password": password}))
                .send()
                .await
                .unwrap();
            assert_eq!(login.status(), 200);
            let cookies: Vec<String> = login
                .headers()
                .get_all(::reqwest::header::SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
                .collect();
            client
                .get(format!("{}/api/v1/monitor", self.base))
                .header(::reqwest::header::COOKIE, cookies.join("; "))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        })
    }

    fn seq(&self) -> u64 {
        let health = reqwest::blocking_get(&format!("{}/healthz", self.base));
        let v: serde_json::Value = serde_json::from_str(&health).unwrap();
        v["seq"].as_u64().unwrap()
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tiny blocking GET over a throwaway runtime (reqwest's blocking client is not enabled).
mod reqwest {
    pub fn blocking_get(url: &str) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async { ::reqwest::get(url).await.unwrap().text().await.unwrap() })
    }
}

#[test]
fn demo_fills_the_monitor_keeps_its_logins_and_continues_on_the_same_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(dir.path());
    let file = std::fs::read_to_string(dir.path().join("demo-logins.txt")).unwrap();
    let lines: Vec<&str> = file.lines().collect();
    assert_eq!(lines.len(), 2, "{file}");
    let fields: Vec<Vec<&str>> = lines.iter().map(|l| l.split(' ').collect()).collect();
    assert_eq!(fields[0][0], "supervisora@mirante.demo");
    assert_eq!(fields[0][2], "admin");
    assert_eq!(fields[1][2], "admin-suporte");
    assert!(
        fields.iter().all(|f| f[1].len() >= 16),
        "generated passwords"
    );
    assert!(
        demo.printed.iter().any(|l| l.contains(fields[0][1])),
        "{:?}",
        demo.printed
    );

    // The full admin's password works.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        ::reqwest::Client::new()
            .post(format!("{}/api/v1/auth/login", demo.base))
            .json(&serde_json::json!({"email": fields[0][0], "password": fields[0][1]}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);

    let m = demo.wait_for_all_phases();
    assert!(Demo::gauge(&m, "mirante_agents{status=\"online\"}") > 0.0);

    // The warm-up is backdated (its 15 simulated minutes end now), so the waits the monitor
    // shows are simulated waits, not the milliseconds it took to run them: whoever was
    // answered after waiting has a non-zero average wait, and a team's queue is seconds old.
    // The queue moves on its own (it may be empty the moment after the metrics showed it
    // full): the screen is taken when someone is waiting.
    let deadline = Instant::now() + Duration::from_secs(60);
    let view = loop {
        let view = demo.monitor(fields[0][0], fields[0][1]);
        if view["counters"]["espera"].as_i64().unwrap_or(0) > 0 {
            break view;
        }
        assert!(
            Instant::now() < deadline,
            "nobody ever waiting: {}",
            view["counters"]
        );
        // Polling an outside process: there is no event to wait on.
        std::thread::sleep(Duration::from_millis(50));
    };
    let teams = view["teams"].as_array().unwrap();
    let figure = |t: &serde_json::Value, k: &str| t[k].as_i64().unwrap_or(0);
    let answered: i64 = teams.iter().map(|t| figure(t, "answered_today")).sum();
    assert!(answered > 0, "sessions answered today: {teams:#?}");
    for t in teams {
        if figure(t, "answered_today") > 0 {
            assert!(t["avg_wait_today_ms"].is_i64(), "{t:#}");
            assert!(t["service_level_today"].is_number(), "{t:#}");
        }
        if figure(t, "waiting_count") > 0 {
            assert!(figure(t, "longest_wait_ms") > 0, "{t:#}");
        }
    }
    let avg = teams
        .iter()
        .map(|t| figure(t, "avg_wait_today_ms"))
        .max()
        .unwrap_or(0);
    let longest = teams
        .iter()
        .map(|t| figure(t, "longest_wait_ms"))
        .max()
        .unwrap_or(0);
    eprintln!(
        "after start: longest average wait today {avg} ms, longest current wait {longest} ms"
    );
    assert!(
        (1_000..3_600_000).contains(&avg),
        "a team's average wait today is seconds to minutes, not milliseconds: {avg} ms"
    );
    assert!(
        (1_000..3_600_000).contains(&longest),
        "the longest current wait is seconds to minutes: {longest} ms"
    );
    let seq_before = demo.seq();
    assert!(demo.terminate().success(), "SIGTERM stops the demo cleanly");

    // A second run continues: same logins, the configuration kept, the log grows.
    let again = Demo::start(dir.path());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("demo-logins.txt")).unwrap(),
        file
    );
    again.wait_for_all_phases();
    assert!(again.seq() > seq_before);
    assert!(again.terminate().success());
}

#[test]
fn demo_refuses_bad_input_without_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let speed = Command::new(env!("CARGO_BIN_EXE_mirante"))
        .args(["demo", "--speed", "0", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!speed.status.success());
    assert!(String::from_utf8_lossy(&speed.stderr).contains("speed"));
    assert!(!data.exists());

    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let busy = Command::new(env!("CARGO_BIN_EXE_mirante"))
        .args(["demo", "--listen", &port, "--data-dir"])
        .arg(&data)
        .env("MIRANTE_LOG", "off")
        .output()
        .unwrap();
    assert!(!busy.status.success());
    assert!(
        String::from_utf8_lossy(&busy.stderr).contains("binding"),
        "{busy:?}"
    );
    assert!(!data.exists(), "nothing written when the port is taken");
}
