//! The outbound mail port (password set/reset links) and its adapters: SMTP through
//! `lettre` (STARTTLS or implicit TLS with rustls + ring, or plain for a local relay), a
//! directory sink (one file per message; the demo and the tests read them) and a log sink.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// A boxed sending future (the port is object-safe).
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Where outbound mail goes.
pub trait Mailer: Send + Sync + std::fmt::Debug + 'static {
    /// Sends one message; the error is a description for the log.
    fn send(&self, mail: Mail) -> SendFuture<'_>;
}

/// Writes each message to the log (demo without a mail server). The body holds a secret
/// link: use it only on a development machine.
#[derive(Debug, Default)]
pub struct LogMailer;

impl Mailer for LogMailer {
    fn send(&self, mail: Mail) -> SendFuture<'_> {
        tracing::info!(to = %mail.to, subject = %mail.subject, body = %mail.body, "outbound mail (log sink)");
        Box::pin(async { Ok(()) })
    }
}

/// Writes each message to `DIR/<n>-<recipient>.txt`.
#[derive(Debug)]
pub struct DirMailer {
    dir: PathBuf,
    counter: Mutex<u64>,
}

impl DirMailer {
    /// A sink writing into `dir` (created when the first message is written).
    pub fn new(dir: PathBuf) -> DirMailer {
        DirMailer {
            dir,
            counter: Mutex::new(0),
        }
    }
}

impl Mailer for DirMailer {
    fn send(&self, mail: Mail) -> SendFuture<'_> {
        let n = {
            let mut c = self.counter.lock().unwrap_or_else(PoisonError::into_inner);
            *c += 1;
            *c
        };
        let safe: String = mail
            .to
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '@' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = self.dir.join(format!("{n:06}-{safe}.txt"));
        let text = format!(
            "To: {}\nSubject: {}\n\n{}\n",
            mail.to, mail.subject, mail.body
        );
        let dir = self.dir.clone();
        Box::pin(async move {
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|e| format!("creating {}: {e}", dir.display()))?;
            tokio::fs::write(&path, text)
                .await
                .map_err(|e| format!("writing {}: {e}", path.display()))
        })
    }
}

/// Keeps messages in memory (in-process tests).
#[derive(Debug, Default, Clone)]
pub struct MemoryMailer(Arc<Mutex<Vec<Mail>>>);

impl MemoryMailer {
    /// Every message sent so far.
    pub fn sent(&self) -> Vec<Mail> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Mailer for MemoryMailer {
    fn send(&self, mail: Mail) -> SendFuture<'_> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(mail);
        Box::pin(async { Ok(()) })
    }
}

/// SMTP through `lettre`.
pub struct SmtpMailer {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl SmtpMailer {
    /// A mailer for `url`: `smtp://host[:port]` (STARTTLS required, port 587 by default),
    /// `smtps://host[:port]` (implicit TLS, 465), or `smtp+plain://host[:port]` (no TLS:
    /// a relay on the same machine only, port 25). Credentials come as
    /// `user:password@host` in the URL. `from` is the sender address.
    pub fn new(url: &str, from: &str) -> Result<SmtpMailer, String> {
        use lettre::AsyncSmtpTransport as T;
        use lettre::transport::smtp::authentication::Credentials;
        let from = from
            .parse()
            .map_err(|e| format!("invalid --mail-from `{from}`: {e}"))?;
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("invalid mail URL `{url}`"))?;
        let (creds, hostport) = match rest.rsplit_once('@') {
            Some((creds, hostport)) => (Some(creds), hostport),
            None => (None, rest),
        };
        let hostport = hostport.trim_end_matches('/');
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                Some(p.parse::<u16>().map_err(|e| format!("mail port: {e}"))?),
            ),
            None => (hostport, None),
        };
        let builder = match scheme {
            "smtp" => T::<lettre::Tokio1Executor>::starttls_relay(host)
                .map_err(|e| format!("mail relay {host}: {e}"))?,
            "smtps" => T::<lettre::Tokio1Executor>::relay(host)
                .map_err(|e| format!("mail relay {host}: {e}"))?,
            "smtp+plain" => T::<lettre::Tokio1Executor>::builder_dangerous(host).port(25),
            other => return Err(format!("unsupported mail scheme `{other}`")),
        };
        let builder = match port {
            Some(port) => builder.port(port),
            None => builder,
        };
        let builder = match creds.and_then(|c| c.split_once(':')) {
            Some((user, pass)) => builder.credentials(Credentials::new(user.into(), pass.into())),
            None => builder,
        };
        Ok(SmtpMailer {
            transport: builder.build(),
            from,
        })
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, mail: Mail) -> SendFuture<'_> {
        use lettre::AsyncTransport;
        Box::pin(async move {
            let to = mail
                .to
                .parse()
                .map_err(|e| format!("invalid recipient {}: {e}", mail.to))?;
            let message = lettre::Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(mail.subject)
                .header(lettre::message::header::ContentType::TEXT_PLAIN)
                .body(mail.body)
                .map_err(|e| format!("building the message: {e}"))?;
            self.transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| format!("SMTP: {e}"))
        })
    }
}

/// The mailer an option value names: `log`, `dir:PATH`, or an SMTP URL.
pub fn from_option(value: &str, from: &str) -> Result<Arc<dyn Mailer>, String> {
    if value == "log" {
        Ok(Arc::new(LogMailer))
    } else if let Some(dir) = value.strip_prefix("dir:") {
        Ok(Arc::new(DirMailer::new(PathBuf::from(dir))))
    } else {
        Ok(Arc::new(SmtpMailer::new(value, from)?))
    }
}
