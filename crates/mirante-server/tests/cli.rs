//! The first-admin bootstrap with the real binary: `serve` on an empty database says how to
//! create the first administrator; `mirante admin create` (password on standard input)
//! creates it; it logs in over HTTP with full permission; `mirante admin reset-password`
//! works while the server runs and ends the account's sessions.
//! `mirante demo --scale` refuses what is not a whole number ≥ 1.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{PASSWORD, Server, admin_create};
use serde_json::{Value, json};

fn mirante(
    args: &[&str],
    dir: &std::path::Path,
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mirante"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        writeln!(input, "{text}").unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_admin_bootstrap_and_password_reset_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    // An empty database: serve says what to do.
    let mut server = Server::start(&data, &[]);
    let hint = server.printed.join("\n");
    assert!(hint.contains("No administrator exists yet"), "{hint}");
    assert!(hint.contains("mirante admin create --email"), "{hint}");
    assert!(server.terminate().success());

    let created = admin_create(&data, "Root@Example.com");
    assert!(
        String::from_utf8_lossy(&created.stdout).contains("administrator root@example.com created")
    );
    let again = mirante(
        &[
            "admin",
            "create",
            "--email",
            "root@example.com",
            "--name",
            "R",
        ],
        &data,
        Some(PASSWORD),
        &[],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("e-mail already in use"));
    let weak = mirante(
        &[
            "admin",
            "create",
            "--email",
            "b@example.com",
            "--name",
            "B",
            "--password-env",
            "PW",
        ],
        &data,
        None,
        &[("PW", "short")],
    );
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("weak_password"));

    // Now serve is quiet about it, and the administrator logs in with full permission.
    let server = Server::start(&data, &[]);
    assert!(!server.printed.join("\n").contains("No administrator"));
    let http = reqwest::Client::new();
    let cookie = server.login(&http, "root@example.com").await;
    let me = |cookie: String| {
        http.get(format!("{}/api/v1/auth/me", server.base))
            .header("cookie", format!("mirante_session={cookie}"))
            .send()
    };
    let answer: Value = me(cookie.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(answer["full"], true);
    assert_eq!(answer["kind"], "admin");
    assert_eq!(answer["permissions"].as_array().unwrap().len(), 12);
    let audit: Value = http
        .get(format!("{}/api/v1/audit?actor=cli", server.base))
        .header("cookie", format!("mirante_session={cookie}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit[0]["action"], "user.create");
    let logins: Value = http
        .get(format!("{}/api/v1/audit?action=auth.login", server.base))
        .header("cookie", format!("mirante_session={cookie}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(logins[0]["outcome"], "ok");
    assert_eq!(
        logins[0]["addr"], "127.0.0.1",
        "the source address is recorded"
    );

    // Reset while the server runs: the old password and session stop working.
    let reset = mirante(
        &["admin", "reset-password", "--email", "root@example.com"],
        &data,
        Some("a new long password"),
        &[],
    );
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stderr)
    );
    assert_eq!(me(cookie).await.unwrap().status(), 401);
    let old = http
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"email": "root@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 401);
    let new = http
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"email": "root@example.com", "password": "a new long password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(new.status(), 200);
}

/// `mirante demo --scale` takes a whole number ≥ 1; anything else is refused before the
/// server starts, with a message that names the option and the value.
#[test]
fn demo_refuses_a_bad_scale_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for bad in ["0", "-3", "ten", "1.5", "70000"] {
        let arg = format!("--scale={bad}");
        let out = mirante(&["demo", "--listen", "127.0.0.1:0", &arg], &data, None, &[]);
        assert!(!out.status.success(), "--scale {bad} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--scale") && stderr.contains(bad),
            "--scale {bad}: {stderr}"
        );
        assert!(
            !data.join("mirante.db").exists(),
            "--scale {bad} created the database"
        );
    }
    let env = mirante(
        &["demo", "--listen", "127.0.0.1:0"],
        &data,
        None,
        &[("MIRANTE_DEMO_SCALE", "0")],
    );
    assert!(!env.status.success());
    assert!(String::from_utf8_lossy(&env.stderr).contains("--scale"));
}
