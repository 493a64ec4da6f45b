//! The JSON of a [`MonitorView`] as the server answers it, written directly into one buffer:
//! the session rows — nearly all of a large answer's bytes — field by field (keys as literal
//! bytes, numbers from a digit-pair table, strings escaped only when they need it), the cards and the
//! counters through `serde_json`. The bytes are exactly `serde_json::to_vec(view)`'s (the
//! derived `Serialize` stays the definition of the shape; a property test and the P3 bench
//! compare the two writers on every view they build).

use crate::view::{MonitorView, Phases, SessionView};
use serde::Serialize;

impl MonitorView<'_> {
    /// This view as JSON, into one buffer of [`MonitorView::json_size_hint`]: the same bytes
    /// as `serde_json::to_vec(self)`, written several times faster for row-heavy answers.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.json_size_hint());
        self.write_json(&mut out);
        out
    }

    /// Appends this view as JSON to `out` (see [`MonitorView::to_json`]).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        self.write_json_fields(out);
        out.push(b'}');
    }

    /// Appends this view's JSON members to `out`, without the braces around them
    /// (`"seq":…,…,"phases":{…}`): for a message that carries the view's fields among its own
    /// (a stream's `snapshot` frame, as with `#[serde(flatten)]`).
    pub fn write_json_fields(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\"seq\":");
        uint(out, self.seq);
        out.extend_from_slice(b",\"now\":");
        int(out, self.now.0);
        out.extend_from_slice(b",\"filtered\":");
        boolean(out, self.filtered);
        out.extend_from_slice(b",\"counters\":");
        serde(out, &self.counters);
        out.extend_from_slice(b",\"unfiltered_counters\":");
        serde(out, &self.unfiltered_counters);
        out.extend_from_slice(b",\"protocol_not_open\":");
        boolean(out, self.protocol_not_open);
        out.extend_from_slice(b",\"protocol_status\":");
        serde(out, &self.protocol_status);
        out.extend_from_slice(b",\"agents\":");
        serde(out, &self.agents);
        out.extend_from_slice(b",\"teams\":");
        serde(out, &self.teams);
        out.extend_from_slice(b",\"phases\":");
        self.phases.write_json(out);
    }
}

impl Phases<'_> {
    /// Appends the three lists as JSON to `out`: the same bytes as `serde_json`, written as
    /// [`MonitorView::to_json`] writes them.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"bot\":");
        rows(out, &self.bot);
        out.extend_from_slice(b",\"waiting\":");
        rows(out, &self.waiting);
        out.extend_from_slice(b",\"human\":");
        rows(out, &self.human);
        out.push(b'}');
    }

    /// A generous estimate of the size of these lists as JSON (see
    /// [`MonitorView::json_size_hint`]).
    pub fn json_size_hint(&self) -> usize {
        64 + 512 * self.len()
    }
}

/// A small part through `serde_json` (cards, counters: a few per answer).
fn serde<T: Serialize>(out: &mut Vec<u8>, value: &T) {
    // Plain data into a `Vec` cannot fail (no map with non-string keys, no IO).
    let written = serde_json::to_writer(&mut *out, value);
    debug_assert!(written.is_ok(), "monitor data into memory: {written:?}");
}

/// How many rows [`rows`] brings into cache at a time.
const CHUNK: usize = 16;

/// The rows of a list.
///
/// A large answer's rows are scattered over the heap (each a few cache lines), and each
/// points to its contact's name and number and to its protocol, each an allocation of its
/// own: written one after the other, every row would wait for several memory reads in turn
/// (measured: most of the time of a 7 000-row answer). So the rows are written in chunks,
/// and before each chunk is written, two tight loops of plain, independent loads — which the
/// processor overlaps — read the rows two chunks ahead and the names of the next chunk (whose
/// rows the previous step brought in): by the time a row is written, all of it is in cache.
fn rows(out: &mut Vec<u8>, rows: &[SessionView<'_>]) {
    let ahead = |from: usize| rows.get(from..).unwrap_or_default().iter().take(CHUNK);
    out.push(b'[');
    let mut touched = 0usize;
    for r in rows.iter().take(2 * CHUNK) {
        touched = touched.wrapping_add(touch_row(r));
    }
    for r in ahead(0) {
        touched = touched.wrapping_add(touch_names(r));
    }
    for (k, chunk) in rows.chunks(CHUNK).enumerate() {
        let base = k * CHUNK;
        for r in ahead(base + 2 * CHUNK) {
            touched = touched.wrapping_add(touch_row(r));
        }
        for r in ahead(base + CHUNK) {
            touched = touched.wrapping_add(touch_names(r));
        }
        for (i, r) in chunk.iter().enumerate() {
            if base + i > 0 {
                out.push(b',');
            }
            row(out, r);
        }
    }
    std::hint::black_box(touched);
    out.push(b']');
}

/// Reads every field of a row [`row`] writes (to bring the row into cache).
fn touch_row(v: &SessionView<'_>) -> usize {
    let len = |s: Option<&str>| s.map_or(0, str::len);
    let ts = |t: Option<mirante_core::Timestamp>| t.map_or(0, |t| t.0);
    (v.id.0 ^ v.contact.0 ^ v.channel.0 ^ v.team.map_or(0, |t| t.0) ^ v.agent.map_or(0, |a| a.0))
        as usize
        ^ (v.started_at.0
            ^ ts(v.queued_at)
            ^ v.queue_key
            ^ ts(v.assigned_at)
            ^ v.last_customer_message_at.0) as usize
        ^ v.contact_name.len()
        ^ v.channel_name.len()
        ^ len(v.contact_number.as_deref())
        ^ len(v.bot_step.as_deref())
        ^ len(v.team_name.as_deref())
        ^ len(v.agent_name.as_deref())
        ^ len(v.protocol.as_deref())
        ^ usize::from(v.phase.name().len() as u8)
}

/// Reads the first byte of a row's own strings (contact name and number, protocol), each an
/// allocation of its own (to bring them into cache).
fn touch_names(v: &SessionView<'_>) -> usize {
    let first = |s: &str| usize::from(s.as_bytes().first().copied().unwrap_or(0));
    first(&v.contact_name)
        + v.contact_number.as_deref().map_or(0, first)
        + v.protocol.as_deref().map_or(0, first)
}

/// One row, in the field order of `SessionFields` (what `SessionView` serializes as).
fn row(out: &mut Vec<u8>, v: &SessionView<'_>) {
    out.extend_from_slice(b"{\"id\":");
    uint(out, v.id.0);
    out.extend_from_slice(b",\"phase\":\"");
    out.extend_from_slice(v.phase.name().as_bytes());
    out.extend_from_slice(b"\",\"contact\":");
    uint(out, v.contact.0);
    out.extend_from_slice(b",\"contact_name\":");
    string(out, &v.contact_name);
    out.extend_from_slice(b",\"contact_number\":");
    opt_string(out, v.contact_number.as_deref());
    out.extend_from_slice(b",\"channel\":");
    uint(out, v.channel.0);
    out.extend_from_slice(b",\"channel_name\":");
    string(out, &v.channel_name);
    out.extend_from_slice(b",\"bot_step\":");
    opt_string(out, v.bot_step.as_deref());
    out.extend_from_slice(b",\"team\":");
    named(out, v.team.map(|t| t.0), v.team_name.as_deref());
    out.extend_from_slice(b",\"agent\":");
    named(out, v.agent.map(|a| a.0), v.agent_name.as_deref());
    out.extend_from_slice(b",\"protocol\":");
    opt_string(out, v.protocol.as_deref());
    out.extend_from_slice(b",\"started_at\":");
    int(out, v.started_at.0);
    out.extend_from_slice(b",\"queued_at\":");
    opt_int(out, v.queued_at.map(|t| t.0));
    out.extend_from_slice(b",\"queue_order\":");
    opt_int(out, v.queue_order());
    out.extend_from_slice(b",\"assigned_at\":");
    opt_int(out, v.assigned_at.map(|t| t.0));
    out.extend_from_slice(b",\"last_customer_message_at\":");
    int(out, v.last_customer_message_at.0);
    out.extend_from_slice(b",\"age_ms\":");
    int(out, v.age_ms());
    out.extend_from_slice(b",\"waiting_ms\":");
    opt_int(out, v.waiting_ms());
    out.extend_from_slice(b",\"in_service_ms\":");
    opt_int(out, v.in_service_ms());
    out.extend_from_slice(b",\"since_customer_ms\":");
    int(out, v.since_customer_ms());
    out.push(b'}');
}

/// `{"id":…,"name":…}` or `null` (a missing name is empty, as `SessionView::team_named`).
fn named(out: &mut Vec<u8>, id: Option<u64>, name: Option<&str>) {
    match id {
        Some(id) => {
            out.extend_from_slice(b"{\"id\":");
            uint(out, id);
            out.extend_from_slice(b",\"name\":");
            string(out, name.unwrap_or(""));
            out.push(b'}');
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// An unsigned integer in decimal, as `serde_json` writes it.
///
/// Not through `itoa`: its digits come as a slice of unknown length, and copying one calls
/// `memcpy` — a dozen calls per row, a sizeable part of a large answer's time. Here the
/// digits are written into a fixed-size block, copied whole (a few plain stores) and the
/// unused tail cut off.
fn uint(out: &mut Vec<u8>, mut n: u64) {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut block = [0u8; 20];
    let len = n.checked_ilog10().map_or(1, |l| l as usize + 1);
    let mut at = len;
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        at -= 2;
        block[at] = PAIRS[pair];
        block[at + 1] = PAIRS[pair + 1];
    }
    if n >= 10 {
        let pair = n as usize * 2;
        block[0] = PAIRS[pair];
        block[1] = PAIRS[pair + 1];
    } else {
        block[0] = b'0' + n as u8;
    }
    let start = out.len();
    out.extend_from_slice(&block);
    out.truncate(start + len);
}

/// A signed integer in decimal, as `serde_json` writes it.
fn int(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    uint(out, n.unsigned_abs());
}

fn opt_int(out: &mut Vec<u8>, n: Option<i64>) {
    match n {
        Some(n) => int(out, n),
        None => out.extend_from_slice(b"null"),
    }
}

fn boolean(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

fn opt_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// A JSON string escaped as `serde_json` escapes it: `"`, `\` and the control characters
/// below U+0020 (`\b \t \n \f \r` short, the others `\u00XX` in lowercase hex); everything
/// else, non-ASCII included, as is.
fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    if bytes.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.extend_from_slice(bytes);
    } else {
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let short = match b {
                b'"' => b'"',
                b'\\' => b'\\',
                0x08 => b'b',
                0x09 => b't',
                0x0A => b'n',
                0x0C => b'f',
                0x0D => b'r',
                0x00..=0x1F => b'u',
                _ => continue,
            };
            out.extend_from_slice(&bytes[start..i]);
            out.push(b'\\');
            out.push(short);
            if short == b'u' {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xF)]);
            }
            start = i + 1;
        }
        out.extend_from_slice(&bytes[start..]);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_written_as_serde_json_writes_them() {
        let mut signed = vec![0, 1, -1, i64::MIN, i64::MAX, 1_764_000_000_000, -20_000];
        let mut unsigned = vec![0, u64::MAX, u64::MAX / 7, u64::MAX - 1];
        for p in 0..19u32 {
            let ten = 10i64.pow(p);
            signed.extend([ten, ten - 1, ten + 1, -ten, 1 - ten, ten.saturating_mul(9)]);
            let ten = 10u64.pow(p + 1);
            unsigned.extend([ten, ten - 1, ten + 1]);
        }
        for n in signed {
            let mut mine = b"x".to_vec();
            int(&mut mine, n);
            let theirs = [b"x".to_vec(), serde_json::to_vec(&n).unwrap_or_default()].concat();
            assert_eq!(mine, theirs, "{n}");
        }
        for n in unsigned {
            let mut mine = Vec::new();
            uint(&mut mine, n);
            assert_eq!(mine, serde_json::to_vec(&n).unwrap_or_default(), "{n}");
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let all: String = (0u8..0x80).map(char::from).collect();
        for s in [
            "",
            "Maria",
            "João \"Zé\" d'Ávila \\ ok",
            &all,
            "tab\tnew\nline\u{7f}\u{1f}é😀",
        ] {
            let mut mine = Vec::new();
            string(&mut mine, s);
            let theirs = serde_json::to_vec(s).unwrap_or_default();
            assert_eq!(
                String::from_utf8_lossy(&mine),
                String::from_utf8_lossy(&theirs)
            );
        }
    }
}
