//! Bot flows (D-20) as data: a small graph of steps (message, numbered menu with synonyms,
//! collect a field, route to a team, finish), parsed from JSON or TOML, validated on load
//! with precise errors, and executed as a pure function of (step, customer input).

use crate::error::Lang;
use crate::ids::TeamId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
