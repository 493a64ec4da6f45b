//! Bot flows (D-20) as data: a small graph of steps (message, numbered menu with synonyms,
//! collect a field, route to a team, finish), parsed from JSON or TOML, validated on load
//! with precise errors, and executed as a pure function of (step, customer input).
//!
//! # The format
//!
//! A flow has a `name`, the id of its `start` step and its `steps` by id. Every step has a
//! `kind`: `message` (say `text`, go on to `next` without waiting), `menu` (show `text` and
//! the numbered `options`, wait for a choice; `invalid_text` is said before repeating the
//! menu after an answer that matches no option), `collect` (ask `text`, wait, store the
//! answer under `field` after checking its `format`: `text`, `digits` or `email`), `route`
//! (optionally say `text`, then hand the session to `team`'s queue) and `finish` (optionally
//! say `text`, then end the session as resolved by the bot). Texts may show collected fields
//! as `{{field}}` (see [`render`]).
//!
//! ```json
//! {
//!   "name": "Atendimento",
//!   "start": "boas_vindas",
//!   "steps": {
//!     "boas_vindas": { "kind": "message", "text": "Olá! Sou a assistente virtual.", "next": "menu" },
//!     "menu": {
//!       "kind": "menu",
//!       "text": "Como posso ajudar?",
//!       "options": [
//!         { "key": "1", "label": "Segunda via de boleto", "synonyms": ["boleto", "fatura"], "next": "cpf" },
//!         { "key": "2", "label": "Suporte técnico", "synonyms": ["suporte", "internet"], "next": "suporte" },
//!         { "key": "3", "label": "Encerrar", "next": "tchau" }
//!       ],
//!       "invalid_text": "Não entendi sua resposta."
//!     },
//!     "cpf": { "kind": "collect", "text": "Qual é o seu CPF?", "field": "cpf", "format": "digits", "next": "financeiro" },
//!     "financeiro": { "kind": "route", "team": 1, "text": "Obrigado! CPF {{cpf}} recebido, já vamos atender." },
//!     "suporte": { "kind": "route", "team": 2 },
//!     "tchau": { "kind": "finish", "text": "Até logo!" }
//!   }
//! }
//! ```
//!
//! The same flow in TOML (each step is a `[steps.<id>]` table; options may also be written
//! as `[[steps.menu.options]]` tables):
//!
//! ```toml
//! name = "Atendimento"
//! start = "boas_vindas"
//!
//! [steps.boas_vindas]
//! kind = "message"
//! text = "Olá! Sou a assistente virtual."
//! next = "menu"
//!
//! [steps.menu]
//! kind = "menu"
//! text = "Como posso ajudar?"
//! invalid_text = "Não entendi sua resposta."
//! options = [
//!   { key = "1", label = "Segunda via de boleto", synonyms = ["boleto", "fatura"], next = "cpf" },
//!   { key = "2", label = "Suporte técnico", synonyms = ["suporte", "internet"], next = "suporte" },
//!   { key = "3", label = "Encerrar", next = "tchau" },
//! ]
//!
//! [steps.cpf]
//! kind = "collect"
//! text = "Qual é o seu CPF?"
//! field = "cpf"
//! format = "digits"
//! next = "financeiro"
//!
//! [steps.financeiro]
//! kind = "route"
//! team = 1
//! text = "Obrigado! CPF {{cpf}} recebido, já vamos atender."
//!
//! [steps.suporte]
//! kind = "route"
//! team = 2
//!
//! [steps.tchau]
//! kind = "finish"
//! text = "Até logo!"
//! ```
//!
//! # Loading
//!
//! [`FlowDef::from_json`] and [`FlowDef::from_toml`] check syntax and shape (unknown fields
//! and kinds are refused, `flow_syntax`); [`FlowDef::validate`] checks the meaning: every
//! `next` and the `start` name a step, every team exists, options do not collide, every step
//! is reachable, no cycle of messages would loop forever, texts are not empty. The first error
//! found is reported, in a fixed order: flow-level checks, then each step in id order (its
//! fields in declaration order, options in display order), then reachability, then loops.
//! [`FlowDef::validate_source`] does both and points semantic errors at the line and column
//! of the offending key in the source text. Limits: [`MAX_STEPS`] steps per flow and
//! [`MAX_OPTIONS`] options per menu.
//!
//! # Running
//!
//! [`FlowDef::start`] enters the flow and [`FlowDef::input`] answers one customer message;
//! both return a [`BotTurn`] with raw texts (the engine renders `{{field}}` placeholders with
//! [`render`]). Menus show as their text followed by one `"{key} - {label}"` line per option.
//! An answer chooses an option when, trimmed, it equals the option's key; otherwise when,
//! folded (case, accents, punctuation and repeated spaces ignored: `"  SEGUNDA-via  de
//! Boleto!"` matches `"Segunda via de boleto"`), it equals the key, the label or a synonym.
//! Execution never panics and never loops, even on a flow that did not validate: a missing
//! step, or more message steps in a row than the flow has steps, finishes the session.

use crate::error::Lang;
use crate::ids::TeamId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A bot flow definition (what an administrator writes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowDef {
    /// Display name.
    pub name: String,
    /// The id of the first step.
    pub start: String,
    /// Steps by id.
    pub steps: BTreeMap<String, Step>,
}

/// One step of a flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Say something, then go on to `next` without waiting.
    Message {
        /// What the bot says.
        text: String,
        /// The next step.
        next: String,
    },
    /// Ask the customer to choose a numbered option.
    Menu {
        /// The prompt (the options are listed after it).
        text: String,
        /// The options, in display order.
        options: Vec<MenuOption>,
        /// Said before repeating the menu on invalid input.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        invalid_text: Option<String>,
    },
    /// Ask for a value and store it under `field`.
    Collect {
        /// The prompt.
        text: String,
        /// Field name.
        field: String,
        /// Optional validation of the answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        format: Option<FieldFormat>,
        /// The next step.
        next: String,
    },
    /// Hand the session over to a team's queue.
    Route {
        /// The team.
        team: TeamId,
        /// Optional message said before routing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// End the session, resolved by the bot (success).
    Finish {
        /// Optional goodbye.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
}

/// One option of a menu.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MenuOption {
    /// What the customer types, e.g. `"1"`.
    pub key: String,
    /// What the menu shows.
    pub label: String,
    /// Free-text synonyms also accepted (matched case- and accent-insensitively).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub synonyms: Vec<String>,
    /// The step this option leads to.
    pub next: String,
}

/// Validation of a collected field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldFormat {
    /// Any non-empty text.
    Text,
    /// Digits only (punctuation is stripped first).
    Digits,
    /// An e-mail address.
    Email,
}

/// What the bot does in one turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotTurn {
    /// Messages the bot sends, in order.
    pub replies: Vec<String>,
    /// Fields collected in this turn (name, value).
    pub collected: Vec<(String, String)>,
    /// Where the session goes next.
    pub next: BotNext,
    /// The input was not understood (the step is repeated with a hint).
    pub invalid: bool,
}

/// Where a session goes after a bot turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotNext {
    /// Stay in the bot, waiting for input at this step.
    Wait {
        /// The step id.
        step: String,
    },
    /// Leave the bot for this team's queue.
    Route {
        /// The team.
        team: TeamId,
    },
    /// Finish the session (bot resolved).
    Finish,
}

/// A flow that does not parse or does not validate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowError {
    /// Stable machine code: `flow_syntax`, `flow_empty`, `flow_unknown_step`,
    /// `flow_unknown_team`, `flow_unreachable_step`, `flow_duplicate_option`,
    /// `flow_loop_without_input`, `flow_invalid_step`.
    pub code: &'static str,
    /// Where: a path such as `steps.menu.options[2].key` (empty for syntax errors).
    pub path: String,
    /// 1-based line in the source text, when known.
    pub line: Option<usize>,
    /// 1-based column in the source text, when known.
    pub column: Option<usize>,
    /// Detail in English (e.g. the offending value).
    pub detail: String,
}

impl std::fmt::Display for FlowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

impl FlowError {
    /// Human text in the requested language, with the position of the error.
    pub fn message(&self, lang: Lang) -> String {
        let mut at = String::new();
        if let Some(line) = self.line {
            at = match (lang, self.column) {
                (Lang::PtBr, Some(c)) => format!(" (linha {line}, coluna {c})"),
                (Lang::PtBr, None) => format!(" (linha {line})"),
                (Lang::En, Some(c)) => format!(" (line {line}, column {c})"),
                (Lang::En, None) => format!(" (line {line})"),
            };
        }
        if !self.path.is_empty() {
            at.push_str(&format!(" em `{}`", self.path));
            if lang == Lang::En {
                at = at.replace(" em `", " at `");
            }
        }
        match lang {
            Lang::PtBr => format!("Fluxo inválido{at}: {}", self.detail),
            Lang::En => format!("Invalid flow{at}: {}", self.detail),
        }
    }
}

/// The most steps a flow may have.
pub const MAX_STEPS: usize = 1000;
/// The most options a menu may have.
pub const MAX_OPTIONS: usize = 50;

/// Said before repeating a menu when the answer matches no option and the menu has no
/// `invalid_text`.
pub const DEFAULT_INVALID_OPTION: &str = "Opção inválida. Responda com o número de uma das opções.";
const HINT_TEXT: &str = "Não recebi sua resposta. Por favor, escreva-a em uma mensagem.";
const HINT_DIGITS: &str = "Resposta inválida. Responda apenas com números.";
const HINT_EMAIL: &str = "E-mail inválido. Responda com um endereço como nome@exemplo.com.";

impl FlowDef {
    /// Parses a flow written in JSON. Syntax and shape errors (a missing comma, an unknown
    /// field or kind, a duplicate key) are `flow_syntax` with the line and column.
    pub fn from_json(text: &str) -> Result<FlowDef, FlowError> {
        let flow: FlowDef = serde_json::from_str(text).map_err(|e| {
            let full = e.to_string();
            let detail = match full.rfind(" at line ") {
                Some(cut) => full[..cut].to_string(),
                None => full,
            };
            let (line, column) = match e.line() {
                0 => (None, None),
                line => (Some(line), Some(e.column().max(1))),
            };
            FlowError {
                code: "flow_syntax",
                path: String::new(),
                line,
                column,
                detail,
            }
        })?;
        // serde keeps the last of two equal map keys silently: refuse them instead.
        if let Some((key, offset)) = JsonScan::scan(text).duplicate {
            let (line, column) = line_col(text, offset);
            return Err(FlowError {
                code: "flow_syntax",
                path: String::new(),
                line: Some(line),
                column: Some(column),
                detail: format!("duplicate key `{key}`"),
            });
        }
        Ok(flow)
    }

    /// Parses a flow written in TOML (steps as `[steps.<id>]` tables). Syntax and shape
    /// errors are `flow_syntax` with the line and column of the offending span.
    pub fn from_toml(text: &str) -> Result<FlowDef, FlowError> {
        toml::from_str(text).map_err(|e| {
            let (line, column) = match e.span() {
                Some(span) => {
                    let (l, c) = line_col(text, span.start);
                    (Some(l), Some(c))
                }
                None => (None, None),
            };
            FlowError {
                code: "flow_syntax",
                path: String::new(),
                line,
                column,
                detail: e.message().trim().to_string(),
            }
        })
    }

    /// Parses (JSON, or TOML when `is_toml`) and validates, pointing semantic errors at the
    /// line and column of the offending key in `text` (or of its closest enclosing key).
    pub fn validate_source(
        text: &str,
        is_toml: bool,
        team_exists: impl Fn(TeamId) -> bool,
    ) -> Result<FlowDef, FlowError> {
        let flow = if is_toml {
            Self::from_toml(text)?
        } else {
            Self::from_json(text)?
        };
        if let Err(mut err) = flow.validate(team_exists) {
            let positions = if is_toml {
                toml_positions(text)
            } else {
                JsonScan::scan(text).at
            };
            if let Some(offset) = locate(&positions, &err.path) {
                let (line, column) = line_col(text, offset);
                err.line = Some(line);
                err.column = Some(column);
            }
            return Err(err);
        }
        Ok(flow)
    }

    /// Checks the meaning of the flow; `team_exists` tells whether a team exists and is
    /// enabled. Reports the first error found, in the order described in the module doc.
    pub fn validate(&self, team_exists: impl Fn(TeamId) -> bool) -> Result<(), FlowError> {
        if self.name.trim().is_empty() {
            return Err(error("flow_empty", "name", "the flow has no name"));
        }
        if self.steps.is_empty() {
            return Err(error("flow_empty", "steps", "the flow has no steps"));
        }
        if self.steps.len() > MAX_STEPS {
            let detail = format!(
                "{} steps, more than the limit of {MAX_STEPS}",
                self.steps.len()
            );
            return Err(error("flow_invalid_step", "steps", detail));
        }
        if !self.steps.contains_key(&self.start) {
            let detail = format!("the start step `{}` does not exist", self.start);
            return Err(error("flow_unknown_step", "start", detail));
        }
        for (id, step) in &self.steps {
            self.check_step(id, step, &team_exists)?;
        }
        self.check_reachable()?;
        self.check_message_loops()
    }

    /// Enters the flow at `start` with no input.
    pub fn start(&self) -> BotTurn {
        self.run(&self.start, Vec::new(), Vec::new())
    }

    /// Answers `input`, typed by the customer while the session waits at step `at`.
    ///
    /// A menu runs on from the chosen option's `next`; a collect step checks the answer's
    /// format, stores it (trimmed; digits without punctuation) and runs on from its `next`.
    /// An answer that is not understood repeats the step after a hint (`invalid`). When `at`
    /// is missing or is not a step that waits (the flow was edited meanwhile), the flow
    /// restarts from `start`, as [`FlowDef::start`] does.
    pub fn input(&self, at: &str, input: &str) -> BotTurn {
        match self.steps.get(at) {
            Some(Step::Menu {
                text,
                options,
                invalid_text,
            }) => match choose(options, input) {
                Some(option) => self.run(&option.next, Vec::new(), Vec::new()),
                None => {
                    let hint = invalid_text
                        .as_deref()
                        .filter(|t| !t.trim().is_empty())
                        .unwrap_or(DEFAULT_INVALID_OPTION);
                    repeat(at, hint, menu_prompt(text, options))
                }
            },
            Some(Step::Collect {
                text,
                field,
                format,
                next,
            }) => {
                let format = format.unwrap_or(FieldFormat::Text);
                match check_format(format, input) {
                    Some(value) => self.run(next, Vec::new(), vec![(field.clone(), value)]),
                    None => {
                        let hint = match format {
                            FieldFormat::Text => HINT_TEXT,
                            FieldFormat::Digits => HINT_DIGITS,
                            FieldFormat::Email => HINT_EMAIL,
                        };
                        repeat(at, hint, text.clone())
                    }
                }
            }
            _ => self.start(),
        }
    }

    /// Runs from step `from` until a step that waits, routes or finishes. Bounded: a flow
    /// that did not validate (missing step, cycle of messages) finishes instead of looping.
    fn run(
        &self,
        from: &str,
        mut replies: Vec<String>,
        collected: Vec<(String, String)>,
    ) -> BotTurn {
        let mut at = from;
        let say = |replies: &mut Vec<String>, text: Option<&String>| {
            if let Some(text) = text.filter(|t| !t.trim().is_empty()) {
                replies.push(text.clone());
            }
        };
        let next = 'run: {
            for _ in 0..=self.steps.len() {
                match self.steps.get(at) {
                    None => break 'run BotNext::Finish,
                    Some(Step::Message { text, next }) => {
                        say(&mut replies, Some(text));
                        at = next;
                    }
                    Some(Step::Menu { text, options, .. }) => {
                        replies.push(menu_prompt(text, options));
                        break 'run BotNext::Wait {
                            step: at.to_string(),
                        };
                    }
                    Some(Step::Collect { text, .. }) => {
                        say(&mut replies, Some(text));
                        break 'run BotNext::Wait {
                            step: at.to_string(),
                        };
                    }
                    Some(Step::Route { team, text }) => {
                        say(&mut replies, text.as_ref());
                        break 'run BotNext::Route { team: *team };
                    }
                    Some(Step::Finish { text }) => {
                        say(&mut replies, text.as_ref());
                        break 'run BotNext::Finish;
                    }
                }
            }
            BotNext::Finish
        };
        BotTurn {
            replies,
            collected,
            next,
            invalid: false,
        }
    }

    fn check_step(
        &self,
        id: &str,
        step: &Step,
        team_exists: &impl Fn(TeamId) -> bool,
    ) -> Result<(), FlowError> {
        let at = format!("steps.{id}");
        if id.trim().is_empty() || id.trim() != id || id.chars().any(char::is_control) {
            let detail = format!("step id `{id}` must be non-empty, without surrounding spaces");
            return Err(error("flow_invalid_step", at, detail));
        }
        match step {
            Step::Message { text, next } => {
                not_empty(&at, "text", text)?;
                self.check_next(&format!("{at}.next"), next)
            }
            Step::Menu {
                text,
                options,
                invalid_text,
            } => {
                not_empty(&at, "text", text)?;
                self.check_options(&at, options)?;
                match invalid_text {
                    Some(t) => not_empty(&at, "invalid_text", t),
                    None => Ok(()),
                }
            }
            Step::Collect {
                text, field, next, ..
            } => {
                not_empty(&at, "text", text)?;
                let valid = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.');
                if field.is_empty() || !field.chars().all(valid) {
                    let detail = format!(
                        "field name `{field}` must be non-empty letters, digits, `_`, `-` or `.`"
                    );
                    return Err(error("flow_invalid_step", format!("{at}.field"), detail));
                }
                self.check_next(&format!("{at}.next"), next)
            }
            Step::Route { team, text } => {
                if !team_exists(*team) {
                    let detail = format!("team {team} does not exist or is disabled");
                    return Err(error("flow_unknown_team", format!("{at}.team"), detail));
                }
                match text {
                    Some(t) => not_empty(&at, "text", t),
                    None => Ok(()),
                }
            }
            Step::Finish { text } => match text {
                Some(t) => not_empty(&at, "text", t),
                None => Ok(()),
            },
        }
    }

    fn check_options(&self, at: &str, options: &[MenuOption]) -> Result<(), FlowError> {
        if options.is_empty() {
            return Err(error(
                "flow_invalid_step",
                format!("{at}.options"),
                "a menu needs options",
            ));
        }
        if options.len() > MAX_OPTIONS {
            let detail = format!(
                "{} options, more than the limit of {MAX_OPTIONS}",
                options.len()
            );
            return Err(error("flow_invalid_step", format!("{at}.options"), detail));
        }
        // Folded name → index of the option that owns it.
        let mut taken: BTreeMap<String, usize> = BTreeMap::new();
        for (i, option) in options.iter().enumerate() {
            let here = format!("{at}.options[{i}]");
            if option.key.trim().is_empty() {
                return Err(error(
                    "flow_invalid_step",
                    format!("{here}.key"),
                    "empty option key",
                ));
            }
            if fold(&option.label).is_empty() {
                let detail = format!("option label `{}` has no letters or digits", option.label);
                return Err(error("flow_invalid_step", format!("{here}.label"), detail));
            }
            for (j, synonym) in option.synonyms.iter().enumerate() {
                if fold(synonym).is_empty() {
                    let detail = format!("synonym `{synonym}` has no letters or digits");
                    return Err(error(
                        "flow_invalid_step",
                        format!("{here}.synonyms[{j}]"),
                        detail,
                    ));
                }
            }
            let mut names = vec![(format!("{here}.key"), &option.key, key_name(&option.key))];
            names.push((format!("{here}.label"), &option.label, fold(&option.label)));
            for (j, synonym) in option.synonyms.iter().enumerate() {
                names.push((format!("{here}.synonyms[{j}]"), synonym, fold(synonym)));
            }
            for (path, raw, name) in &names {
                if let Some(&other) = taken.get(name) {
                    let detail = format!(
                        "`{raw}` collides with option {other} (key `{}`) of the same menu",
                        options[other].key
                    );
                    return Err(error("flow_duplicate_option", path.clone(), detail));
                }
            }
            for (_, _, name) in names {
                taken.entry(name).or_insert(i);
            }
            self.check_next(&format!("{here}.next"), &option.next)?;
        }
        Ok(())
    }

    fn check_next(&self, path: &str, next: &str) -> Result<(), FlowError> {
        if self.steps.contains_key(next) {
            return Ok(());
        }
        let detail = format!("`{next}` is not a step of this flow");
        Err(error("flow_unknown_step", path, detail))
    }

    fn check_reachable(&self) -> Result<(), FlowError> {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut todo = vec![self.start.as_str()];
        while let Some(id) = todo.pop() {
            if !seen.insert(id) {
                continue;
            }
            if let Some(step) = self.steps.get(id) {
                todo.extend(successors(step).filter(|n| self.steps.contains_key(*n)));
            }
        }
        match self.steps.keys().find(|id| !seen.contains(id.as_str())) {
            Some(id) => {
                let detail = format!("step `{id}` cannot be reached from `{}`", self.start);
                Err(error(
                    "flow_unreachable_step",
                    format!("steps.{id}"),
                    detail,
                ))
            }
            None => Ok(()),
        }
    }

    fn check_message_loops(&self) -> Result<(), FlowError> {
        for id in self.steps.keys() {
            let mut chain: Vec<&str> = Vec::new();
            let mut at = id.as_str();
            while let Some(Step::Message { next, .. }) = self.steps.get(at) {
                chain.push(at);
                if let Some(first) = chain.iter().position(|s| *s == next.as_str()) {
                    let mut cycle = chain.split_off(first);
                    let smallest = cycle
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, s)| **s)
                        .map_or(0, |(i, _)| i);
                    cycle.rotate_left(smallest);
                    let shown: Vec<String> = cycle
                        .iter()
                        .chain(cycle.first())
                        .map(|s| format!("`{s}`"))
                        .collect();
                    let detail = format!(
                        "messages {} loop forever without waiting for the customer",
                        shown.join(" → ")
                    );
                    return Err(error(
                        "flow_loop_without_input",
                        format!("steps.{}", cycle[0]),
                        detail,
                    ));
                }
                if chain.len() > self.steps.len() {
                    break;
                }
                at = next;
            }
        }
        Ok(())
    }
}

/// Replaces each `{{field}}` (spaces inside the braces allowed) by the field's value.
/// Unknown placeholders are left as they are; values are not scanned again.
pub fn render(text: &str, fields: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            out.push_str(&rest[open..]);
            return out;
        };
        let inner = &after[..close];
        if inner.contains("{{") {
            // `{{ a {{b}}`: the first braces are text, look again from the inner ones.
            out.push_str("{{");
            rest = after;
            continue;
        }
        match fields.get(inner.trim()) {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[open..open + 2 + close + 2]),
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

/// A menu as the customer sees it: the text, then one `"{key} - {label}"` line per option.
pub fn menu_prompt(text: &str, options: &[MenuOption]) -> String {
    let mut out = text.to_string();
    for option in options {
        out.push('\n');
        out.push_str(&format!("{} - {}", option.key, option.label));
    }
    out
}

fn error(code: &'static str, path: impl Into<String>, detail: impl Into<String>) -> FlowError {
    FlowError {
        code,
        path: path.into(),
        line: None,
        column: None,
        detail: detail.into(),
    }
}

fn not_empty(at: &str, field: &str, text: &str) -> Result<(), FlowError> {
    if text.trim().is_empty() {
        return Err(error(
            "flow_invalid_step",
            format!("{at}.{field}"),
            format!("empty `{field}`"),
        ));
    }
    Ok(())
}

fn successors(step: &Step) -> Box<dyn Iterator<Item = &str> + '_> {
    match step {
        Step::Message { next, .. } | Step::Collect { next, .. } => {
            Box::new(std::iter::once(next.as_str()))
        }
        Step::Menu { options, .. } => Box::new(options.iter().map(|o| o.next.as_str())),
        Step::Route { .. } | Step::Finish { .. } => Box::new(std::iter::empty()),
    }
}

fn repeat(at: &str, hint: &str, prompt: String) -> BotTurn {
    BotTurn {
        replies: vec![hint.to_string(), prompt],
        collected: Vec::new(),
        next: BotNext::Wait {
            step: at.to_string(),
        },
        invalid: true,
    }
}

/// The option an answer chooses: exact (trimmed) key first, then folded key, label or synonym.
fn choose<'a>(options: &'a [MenuOption], input: &str) -> Option<&'a MenuOption> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return None;
    }
    if let Some(option) = options.iter().find(|o| o.key.trim() == trimmed) {
        return Some(option);
    }
    let answer = fold(trimmed);
    if answer.is_empty() {
        return None;
    }
    options.iter().find(|o| {
        fold(&o.key) == answer
            || fold(&o.label) == answer
            || o.synonyms.iter().any(|s| fold(s) == answer)
    })
}

/// The name a key takes in collision checks: folded, or the trimmed key itself when it has
/// no letters or digits (such a key is only ever matched exactly).
fn key_name(key: &str) -> String {
    let folded = fold(key);
    if folded.is_empty() {
        format!("\u{0}{}", key.trim())
    } else {
        folded
    }
}

/// Folds text for matching: lower case, accents removed (á→a, ç→c…), punctuation read as
/// space, runs of spaces collapsed, trimmed.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        if matches!(
            c,
            '\u{300}'..='\u{36f}' | '\u{fe0e}' | '\u{fe0f}' | '\u{20e3}'
        ) {
            continue; // combining accents, emoji variation selectors, keycap (1️⃣)
        }
        if c.is_whitespace() || c.is_ascii_punctuation() || "¡¿«»“”‘’…–—•·".contains(c)
        {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        match unaccent(c) {
            Some(plain) => out.push_str(plain),
            None => out.push(c),
        }
    }
    out
}

fn unaccent(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'ª' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'č' | 'ĉ' | 'ċ' => "c",
        'ď' | 'đ' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ğ' | 'ĝ' | 'ġ' | 'ģ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ł' | 'ľ' | 'ĺ' | 'ļ' => "l",
        'ñ' | 'ń' | 'ň' | 'ņ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' | 'º' => "o",
        'œ' => "oe",
        'ŕ' | 'ř' | 'ŗ' => "r",
        'ś' | 'š' | 'ş' | 'ŝ' | 'ș' => "s",
        'ß' => "ss",
        'ť' | 'ţ' | 'ț' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ý' | 'ÿ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// Checks an answer against a format; returns the value to store.
fn check_format(format: FieldFormat, input: &str) -> Option<String> {
    let answer = input.trim();
    if answer.is_empty() {
        return None;
    }
    match format {
        FieldFormat::Text => Some(answer.to_string()),
        FieldFormat::Digits => {
            let mut digits = String::new();
            for c in answer.chars() {
                if c.is_ascii_digit() {
                    digits.push(c);
                } else if !(c.is_whitespace()
                    || matches!(c, '+' | '-' | '(' | ')' | '.' | '/' | ',' | '_'))
                {
                    return None;
                }
            }
            (!digits.is_empty()).then_some(digits)
        }
        FieldFormat::Email => {
            let (local, domain) = answer.split_once('@')?;
            let labels_ok = domain.contains('.') && domain.split('.').all(|l| !l.is_empty());
            let clean = !answer.chars().any(|c| c.is_whitespace() || c.is_control());
            (!local.is_empty() && !domain.contains('@') && labels_ok && clean)
                .then(|| answer.to_string())
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// The offset of `path` in the source, or of its closest enclosing path.
fn locate(positions: &BTreeMap<String, usize>, path: &str) -> Option<usize> {
    let mut path = path;
    loop {
        if let Some(&offset) = positions.get(path) {
            return Some(offset);
        }
        let cut = path.rfind(['.', '['])?;
        path = &path[..cut];
    }
}

/// Byte offsets of every key (and array element) of a TOML document, by path.
fn toml_positions(text: &str) -> BTreeMap<String, usize> {
    fn table(t: &toml::de::DeTable<'_>, path: &str, out: &mut BTreeMap<String, usize>) {
        for (key, value) in t.iter() {
            let here = join(path, key.get_ref());
            out.entry(here.clone()).or_insert(key.span().start);
            walk(value, &here, out);
        }
    }
    fn walk(
        v: &toml::Spanned<toml::de::DeValue<'_>>,
        path: &str,
        out: &mut BTreeMap<String, usize>,
    ) {
        match v.get_ref() {
            toml::de::DeValue::Table(t) => table(t, path, out),
            toml::de::DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let here = format!("{path}[{i}]");
                    out.entry(here.clone()).or_insert(item.span().start);
                    walk(item, &here, out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    if let Ok(root) = toml::de::DeTable::parse(text) {
        table(root.get_ref(), "", &mut out);
    }
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A tolerant walk over JSON text already accepted by serde_json: the byte offset of every
/// key (and array element) by path, and the first key repeated within one object.
#[derive(Default)]
struct JsonScan {
    at: BTreeMap<String, usize>,
    duplicate: Option<(String, usize)>,
}

impl JsonScan {
    fn scan(text: &str) -> JsonScan {
        let mut scan = JsonScan::default();
        let mut i = 0;
        scan.value(text, &mut i, "");
        scan
    }

    /// Walks the value at `*i`; `None` when the text is not as expected (never for text
    /// serde_json accepted), leaving what was found so far.
    fn value(&mut self, text: &str, i: &mut usize, path: &str) -> Option<()> {
        let bytes = text.as_bytes();
        skip_ws(bytes, i);
        match *bytes.get(*i)? {
            b'{' => {
                *i += 1;
                let mut keys = BTreeSet::new();
                loop {
                    skip_ws(bytes, i);
                    match *bytes.get(*i)? {
                        b'}' => {
                            *i += 1;
                            return Some(());
                        }
                        b',' => *i += 1,
                        b'"' => {
                            let start = *i;
                            let end = string_end(bytes, start)?;
                            let key: String = serde_json::from_str(text.get(start..end)?).ok()?;
                            *i = end;
                            if !keys.insert(key.clone()) && self.duplicate.is_none() {
                                self.duplicate = Some((key.clone(), start));
                            }
                            let here = join(path, &key);
                            self.at.entry(here.clone()).or_insert(start);
                            skip_ws(bytes, i);
                            if bytes.get(*i) != Some(&b':') {
                                return None;
                            }
                            *i += 1;
                            self.value(text, i, &here)?;
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                *i += 1;
                let mut index = 0;
                loop {
                    skip_ws(bytes, i);
                    match *bytes.get(*i)? {
                        b']' => {
                            *i += 1;
                            return Some(());
                        }
                        b',' => *i += 1,
                        _ => {
                            let here = format!("{path}[{index}]");
                            self.at.entry(here.clone()).or_insert(*i);
                            self.value(text, i, &here)?;
                            index += 1;
                        }
                    }
                }
            }
            b'"' => {
                *i = string_end(bytes, *i)?;
                Some(())
            }
            _ => {
                while bytes.get(*i).is_some_and(|b| !b",]} \t\r\n".contains(b)) {
                    *i += 1;
                }
                Some(())
            }
        }
    }
}

fn skip_ws(bytes: &[u8], i: &mut usize) {
    while bytes.get(*i).is_some_and(|b| b" \t\r\n".contains(b)) {
        *i += 1;
    }
}

/// The offset just past the string starting with the quote at `start`.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        match *bytes.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

#[cfg(test)]
mod tests;
