//! Tests of bot flows: parsing (JSON and TOML), validation with precise errors (code, path,
//! line), execution (menus, collects, messages, route, finish) and properties.

use super::*;
use proptest::prelude::*;

/// The example of the module doc, in JSON.
const EXAMPLE_JSON: &str = r#"{
  "name": "Atendimento",
  "start": "boas_vindas",
  "steps": {
    "boas_vindas": { "kind": "message", "text": "Olá! Sou a assistente virtual.", "next": "menu" },
    "menu": {
      "kind": "menu",
      "text": "Como posso ajudar?",
      "options": [
        { "key": "1", "label": "Segunda via de boleto", "synonyms": ["boleto", "fatura"], "next": "cpf" },
        { "key": "2", "label": "Suporte técnico", "synonyms": ["suporte", "internet"], "next": "suporte" },
        { "key": "3", "label": "Encerrar", "next": "tchau" }
      ],
      "invalid_text": "Não entendi sua resposta."
    },
    "cpf": { "kind": "collect", "text": "Qual é o seu CPF?", "field": "cpf", "format": "digits", "next": "financeiro" },
    "financeiro": { "kind": "route", "team": 1, "text": "Obrigado! CPF {{cpf}} recebido, já vamos atender." },
    "suporte": { "kind": "route", "team": 2 },
    "tchau": { "kind": "finish", "text": "Até logo!" }
  }
}"#;

/// The example of the module doc, in TOML.
const EXAMPLE_TOML: &str = r#"name = "Atendimento"
start = "boas_vindas"

[steps.boas_vindas]
kind = "message"
text = "Olá! Sou a assistente virtual."
next = "menu"

[steps.menu]
kind = "menu"
text = "Como posso ajudar?"
invalid_text = "Não entendi sua resposta."
options = [
  { key = "1", label = "Segunda via de boleto", synonyms = ["boleto", "fatura"], next = "cpf" },
  { key = "2", label = "Suporte técnico", synonyms = ["suporte", "internet"], next = "suporte" },
  { key = "3", label = "Encerrar", next = "tchau" },
]

[steps.cpf]
kind = "collect"
text = "Qual é o seu CPF?"
field = "cpf"
format = "digits"
next = "financeiro"

[steps.financeiro]
kind = "route"
team = 1
text = "Obrigado! CPF {{cpf}} recebido, já vamos atender."

[steps.suporte]
kind = "route"
team = 2

[steps.tchau]
kind = "finish"
text = "Até logo!"
"#;

/// A small flow whose line numbers the error tests rely on (line n is the n-th line).
const BASE: &str = r#"{
  "name": "Teste",
  "start": "a",
  "steps": {
    "a": { "kind": "message", "text": "Oi", "next": "m" },
    "m": {
      "kind": "menu",
      "text": "Escolha",
      "options": [
        { "key": "1", "label": "Um", "next": "c" },
        { "key": "2", "label": "Dois", "synonyms": ["segundo"], "next": "r" }
      ]
    },
    "c": { "kind": "collect", "text": "E-mail?", "field": "email", "format": "email", "next": "f" },
    "r": { "kind": "route", "team": 1 },
    "f": { "kind": "finish" }
  }
}"#;

/// The same flow in TOML, options as arrays of tables.
const BASE_TOML: &str = r#"name = "Teste"
start = "a"

[steps.a]
kind = "message"
text = "Oi"
next = "m"

[steps.m]
kind = "menu"
text = "Escolha"

[[steps.m.options]]
key = "1"
label = "Um"
next = "c"

[[steps.m.options]]
key = "2"
label = "Dois"
synonyms = ["segundo"]
next = "r"

[steps.c]
kind = "collect"
text = "E-mail?"
field = "email"
format = "email"
next = "f"

[steps.r]
kind = "route"
team = 1

[steps.f]
kind = "finish"
"#;

fn teams(team: TeamId) -> bool {
    team == TeamId(1) || team == TeamId(2)
}

fn example() -> FlowDef {
    FlowDef::validate_source(EXAMPLE_JSON, false, teams).expect("the doc example is valid")
}

fn base() -> FlowDef {
    FlowDef::validate_source(BASE, false, teams).expect("the base flow is valid")
}

/// `BASE` with one edit (which must apply), validated from source.
fn base_error(from: &str, to: &str) -> FlowError {
    assert!(BASE.contains(from), "edit `{from}` does not apply");
    let text = BASE.replacen(from, to, 1);
    FlowDef::validate_source(&text, false, teams).expect_err("the edited flow is invalid")
}

fn toml_error(from: &str, to: &str) -> FlowError {
    assert!(BASE_TOML.contains(from), "edit `{from}` does not apply");
    let text = BASE_TOML.replacen(from, to, 1);
    FlowDef::validate_source(&text, true, teams).expect_err("the edited flow is invalid")
}

#[track_caller]
fn assert_error(err: &FlowError, code: &str, path: &str, line: Option<usize>) {
    assert_eq!(
        (err.code, err.path.as_str(), err.line),
        (code, path, line),
        "{err:?}"
    );
    assert!(!err.detail.is_empty());
}

fn wait(step: &str) -> BotNext {
    BotNext::Wait {
        step: step.to_string(),
    }
}

// ---------------------------------------------------------------- parsing

#[test]
fn json_and_toml_examples_parse_to_the_same_flow() {
    let json = example();
    let toml = FlowDef::validate_source(EXAMPLE_TOML, true, teams).expect("valid TOML");
    assert_eq!(json, toml);
    assert_eq!(json.steps.len(), 6);
    assert_eq!(
        json.steps["cpf"],
        Step::Collect {
            text: "Qual é o seu CPF?".into(),
            field: "cpf".into(),
            format: Some(FieldFormat::Digits),
            next: "financeiro".into(),
        }
    );
    let base_toml = FlowDef::validate_source(BASE_TOML, true, teams).expect("valid TOML");
    assert_eq!(base(), base_toml);
}

/// The examples of the module doc, as written there.
fn doc_example(lang: &str) -> String {
    let source = include_str!("../flow.rs");
    let mut lines = source.lines().map(|l| l.strip_prefix("//!").unwrap_or(l));
    let fence = format!(" ```{lang}");
    lines
        .by_ref()
        .find(|l| *l == fence)
        .expect("the doc has the example");
    let body: Vec<&str> = lines
        .take_while(|l| *l != " ```")
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    body.join("\n")
}

#[test]
fn module_doc_examples_are_the_tested_ones() {
    assert_eq!(doc_example("json"), EXAMPLE_JSON);
    assert_eq!(doc_example("toml"), EXAMPLE_TOML.trim_end());
}

#[test]
fn json_round_trips_through_serde() {
    let flow = example();
    let text = serde_json::to_string_pretty(&flow).expect("serializes");
    assert_eq!(FlowDef::from_json(&text), Ok(flow));
}

#[test]
fn json_syntax_error_has_line_and_column() {
    // Line 5 loses its trailing comma: serde_json stops at the next key, line 6 column 5.
    let text = BASE.replacen(r#""next": "m" },"#, r#""next": "m" }"#, 1);
    let err = FlowDef::from_json(&text).expect_err("syntax error");
    assert_error(&err, "flow_syntax", "", Some(6));
    assert_eq!(err.column, Some(5));
    assert!(!err.detail.contains(" at line "), "{}", err.detail);
    assert!(
        err.message(Lang::En).contains("line 6, column 5"),
        "{}",
        err.message(Lang::En)
    );
    assert!(err.message(Lang::PtBr).contains("linha 6, coluna 5"));
}

#[test]
fn json_shape_errors_are_syntax_errors_with_a_line() {
    let err = FlowDef::from_json(&BASE.replacen(r#""kind": "finish""#, r#""kind": "end""#, 1))
        .expect_err("unknown kind");
    assert_error(&err, "flow_syntax", "", Some(16));
    assert!(
        err.detail.contains("unknown variant `end`"),
        "{}",
        err.detail
    );

    let err = FlowDef::from_json(&BASE.replacen(r#""team": 1"#, r#""team": 1, "color": "red""#, 1))
        .expect_err("unknown field");
    assert_error(&err, "flow_syntax", "", Some(15));
    assert!(err.detail.contains("color"), "{}", err.detail);

    let err =
        FlowDef::from_json(&BASE.replacen(r#""name": "Teste","#, "", 1)).expect_err("no name");
    assert_eq!(err.code, "flow_syntax");
    assert!(
        err.detail.contains("missing field `name`"),
        "{}",
        err.detail
    );

    let err = FlowDef::from_json(&BASE.replacen(r#""team": 1"#, r#""team": -1"#, 1))
        .expect_err("negative team");
    assert_eq!(err.code, "flow_syntax");
}

#[test]
fn json_duplicate_step_id_is_refused_with_its_line() {
    let text = BASE.replacen(
        r#"    "f": { "kind": "finish" }"#,
        "    \"f\": { \"kind\": \"finish\" },\n    \"a\": { \"kind\": \"finish\" }",
        1,
    );
    let err = FlowDef::from_json(&text).expect_err("duplicate step");
    assert_error(&err, "flow_syntax", "", Some(17));
    assert_eq!(err.column, Some(5));
    assert_eq!(err.detail, "duplicate key `a`");
}

#[test]
fn toml_syntax_and_shape_errors_have_line_and_column() {
    let err = FlowDef::from_toml(&BASE_TOML.replacen("text = \"Oi\"", "text = \"Oi", 1))
        .expect_err("unterminated string");
    assert_error(&err, "flow_syntax", "", Some(6));
    assert!(err.column.is_some());

    let err = FlowDef::from_toml(&BASE_TOML.replacen("kind = \"finish\"", "kind = \"fim\"", 1))
        .expect_err("unknown kind");
    assert_eq!(err.code, "flow_syntax");
    assert!(err.detail.contains("fim"), "{}", err.detail);
    assert!(err.line.is_some_and(|l| l >= 35), "{err:?}");

    let err = FlowDef::from_toml(&BASE_TOML.replacen("team = 1", "team = 1\ncolor = \"red\"", 1))
        .expect_err("unknown field");
    assert_eq!(err.code, "flow_syntax");
    assert!(err.detail.contains("color"), "{}", err.detail);
    assert!(err.line.is_some_and(|l| (31..=33).contains(&l)), "{err:?}");
}

#[test]
fn toml_duplicate_step_table_is_refused() {
    let text = format!("{BASE_TOML}\n[steps.a]\nkind = \"finish\"\n");
    let err = FlowDef::from_toml(&text).expect_err("duplicate table");
    assert_error(&err, "flow_syntax", "", Some(38));
}

// ---------------------------------------------------------------- validation

#[test]
fn flow_empty() {
    assert_error(
        &base_error(r#""name": "Teste""#, r#""name": " ""#),
        "flow_empty",
        "name",
        Some(2),
    );
    let err = FlowDef::validate_source(r#"{"name": "X", "start": "a", "steps": {}}"#, false, teams)
        .expect_err("no steps");
    assert_error(&err, "flow_empty", "steps", Some(1));
    assert_eq!(err.column, Some(29));
}

#[test]
fn flow_unknown_step() {
    assert_error(
        &base_error(r#""start": "a""#, r#""start": "z""#),
        "flow_unknown_step",
        "start",
        Some(3),
    );
    assert_error(
        &base_error(r#""next": "m""#, r#""next": "z""#),
        "flow_unknown_step",
        "steps.a.next",
        Some(5),
    );
    let err = base_error(r#""next": "r""#, r#""next": "z""#);
    assert_error(
        &err,
        "flow_unknown_step",
        "steps.m.options[1].next",
        Some(11),
    );
    assert_eq!(err.column, Some(65), "points at the `next` key");
    assert!(err.detail.contains("`z`"));
    assert_error(
        &base_error(r#""next": "f""#, r#""next": "z""#),
        "flow_unknown_step",
        "steps.c.next",
        Some(14),
    );
    assert_error(
        &toml_error("next = \"r\"", "next = \"z\""),
        "flow_unknown_step",
        "steps.m.options[1].next",
        Some(22),
    );
}

#[test]
fn flow_unknown_team() {
    let err = base_error(r#""team": 1"#, r#""team": 7"#);
    assert_error(&err, "flow_unknown_team", "steps.r.team", Some(15));
    assert!(err.detail.contains('7'));
    assert_error(
        &toml_error("team = 1", "team = 7"),
        "flow_unknown_team",
        "steps.r.team",
        Some(33),
    );
}

#[test]
fn flow_duplicate_option() {
    // Same key.
    assert_error(
        &base_error(r#""key": "2""#, r#""key": "1""#),
        "flow_duplicate_option",
        "steps.m.options[1].key",
        Some(11),
    );
    // A synonym equal to another option's label, after case folding.
    assert_error(
        &base_error(r#"["segundo"]"#, r#"["dois", "UM"]"#),
        "flow_duplicate_option",
        "steps.m.options[1].synonyms[1]",
        Some(11),
    );
    // A label equal to another option's label, after accent folding and spaces.
    assert_error(
        &base_error(r#""label": "Dois""#, r#""label": "  úm ""#),
        "flow_duplicate_option",
        "steps.m.options[1].label",
        Some(11),
    );
    // A synonym equal to another option's key.
    assert_error(
        &base_error(r#"["segundo"]"#, r#"["1"]"#),
        "flow_duplicate_option",
        "steps.m.options[1].synonyms[0]",
        Some(11),
    );
    assert_error(
        &toml_error("synonyms = [\"segundo\"]", "synonyms = [\"Um!\"]"),
        "flow_duplicate_option",
        "steps.m.options[1].synonyms[0]",
        Some(21),
    );
    // Within one option, a synonym repeating its own label is harmless.
    let text = BASE.replacen(r#"["segundo"]"#, r#"["DOIS", "dois"]"#, 1);
    assert!(FlowDef::validate_source(&text, false, teams).is_ok());
}

#[test]
fn flow_unreachable_step() {
    let err = base_error(
        r#"    "r": { "kind": "route", "team": 1 },"#,
        "    \"r\": { \"kind\": \"route\", \"team\": 1 },\n    \"lost\": { \"kind\": \"finish\" },",
    );
    assert_error(&err, "flow_unreachable_step", "steps.lost", Some(16));
    assert_eq!(err.column, Some(5));
    let text = format!("{BASE_TOML}\n[steps.lost]\nkind = \"finish\"\n");
    let err = FlowDef::validate_source(&text, true, teams).expect_err("unreachable");
    assert_error(&err, "flow_unreachable_step", "steps.lost", Some(38));
    assert_eq!(err.column, Some(8), "points at the id in the header");
}

#[test]
fn flow_loop_without_input() {
    let text = r#"{
  "name": "Loop",
  "start": "b",
  "steps": {
    "a": { "kind": "message", "text": "A", "next": "b" },
    "b": { "kind": "message", "text": "B", "next": "a" }
  }
}"#;
    let err = FlowDef::validate_source(text, false, teams).expect_err("loop");
    assert_error(&err, "flow_loop_without_input", "steps.a", Some(5));
    assert_eq!(
        err.detail,
        "messages `a` → `b` → `a` loop forever without waiting for the customer"
    );
    // A self loop, entered from a menu (option 0 now leads to `x`, option 2 keeps `c`).
    let mut flow = base();
    let x = Step::Message {
        text: "X".into(),
        next: "x".into(),
    };
    flow.steps.insert("x".into(), x);
    if let Some(Step::Menu { options, .. }) = flow.steps.get_mut("m") {
        options[0].next = "x".into();
        let next = "c".into();
        options.push(MenuOption {
            key: "3".into(),
            label: "Três".into(),
            synonyms: vec![],
            next,
        });
    }
    let err = flow.validate(teams).expect_err("self loop");
    assert_error(&err, "flow_loop_without_input", "steps.x", None);
    assert_eq!(
        err.detail,
        "messages `x` → `x` loop forever without waiting for the customer"
    );
    // A cycle through a menu or a collect waits for input: fine.
    let cycle = BASE.replacen(
        r#""format": "email", "next": "f""#,
        r#""format": "email", "next": "a""#,
        1,
    );
    let cycle = cycle.replacen(r#""team": 1 },"#, r#""team": 1 }"#, 1);
    let cycle = cycle.replacen("    \"f\": { \"kind\": \"finish\" }\n", "", 1);
    let flow = FlowDef::validate_source(&cycle, false, teams).expect("cycle with input");
    assert_eq!(flow.input("c", "a@b.co").next, wait("m"));
}

#[test]
fn flow_invalid_step() {
    assert_error(
        &base_error(r#""text": "Oi""#, r#""text": """#),
        "flow_invalid_step",
        "steps.a.text",
        Some(5),
    );
    let err = base_error(
        "\"options\": [\n        { \"key\": \"1\", \"label\": \"Um\", \"next\": \"c\" },\n        { \"key\": \"2\", \"label\": \"Dois\", \"synonyms\": [\"segundo\"], \"next\": \"r\" }\n      ]",
        "\"options\": []",
    );
    // Without options, c and r are unreachable too, but the step itself is reported first.
    assert_error(&err, "flow_invalid_step", "steps.m.options", Some(9));
    assert_error(
        &base_error(r#""key": "1""#, r#""key": " ""#),
        "flow_invalid_step",
        "steps.m.options[0].key",
        Some(10),
    );
    assert_error(
        &base_error(r#""label": "Um""#, r#""label": "?!""#),
        "flow_invalid_step",
        "steps.m.options[0].label",
        Some(10),
    );
    assert_error(
        &base_error(r#"["segundo"]"#, r#"["ok", "  "]"#),
        "flow_invalid_step",
        "steps.m.options[1].synonyms[1]",
        Some(11),
    );
    assert_error(
        &base_error(r#""field": "email""#, r#""field": """#),
        "flow_invalid_step",
        "steps.c.field",
        Some(14),
    );
    assert_error(
        &base_error(r#""field": "email""#, r#""field": "e mail""#),
        "flow_invalid_step",
        "steps.c.field",
        Some(14),
    );
    assert_error(
        &base_error(r#""text": "E-mail?""#, r#""text": "\n""#),
        "flow_invalid_step",
        "steps.c.text",
        Some(14),
    );
    assert_error(
        &base_error(r#""kind": "finish""#, r#""kind": "finish", "text": """#),
        "flow_invalid_step",
        "steps.f.text",
        Some(16),
    );
    assert_error(
        &base_error(
            r#""text": "Escolha","#,
            r#""text": "Escolha", "invalid_text": " ","#,
        ),
        "flow_invalid_step",
        "steps.m.invalid_text",
        Some(8),
    );
    assert_error(
        &toml_error("text = \"Escolha\"", "text = \"\""),
        "flow_invalid_step",
        "steps.m.text",
        Some(11),
    );
}

#[test]
fn limits_on_steps_and_options() {
    let finish = |n: usize| (format!("s{n:04}"), Step::Finish { text: None });
    let option = |i: usize| MenuOption {
        key: i.to_string(),
        label: format!("Opção {i}"),
        synonyms: vec![],
        next: "s0001".into(),
    };
    let menu = |n: usize| Step::Menu {
        text: "Escolha".into(),
        options: (1..=n).map(option).collect(),
        invalid_text: None,
    };
    let mut flow = FlowDef {
        name: "Big".into(),
        start: "s0000".into(),
        steps: (0..MAX_STEPS).map(finish).collect(),
    };
    flow.steps.insert("s0000".into(), menu(MAX_OPTIONS));
    let err = flow.validate(teams).expect_err("unreachable steps");
    assert_error(&err, "flow_unreachable_step", "steps.s0002", None);

    flow.steps.insert("s0000".into(), menu(MAX_OPTIONS + 1));
    assert_error(
        &flow.validate(teams).expect_err("51 options"),
        "flow_invalid_step",
        "steps.s0000.options",
        None,
    );

    flow.steps.insert("zzz".into(), Step::Finish { text: None });
    assert_error(
        &flow.validate(teams).expect_err("1001 steps"),
        "flow_invalid_step",
        "steps",
        None,
    );

    // 1000 steps in a chain of messages ending in a finish: fine, and runs to the end.
    let chain: BTreeMap<String, Step> = (0..MAX_STEPS)
        .map(|i| {
            let step = if i + 1 == MAX_STEPS {
                Step::Finish {
                    text: Some("fim".into()),
                }
            } else {
                Step::Message {
                    text: format!("m{i}"),
                    next: format!("s{:04}", i + 1),
                }
            };
            (format!("s{i:04}"), step)
        })
        .collect();
    let flow = FlowDef {
        name: "Chain".into(),
        start: "s0000".into(),
        steps: chain,
    };
    assert_eq!(flow.validate(teams), Ok(()));
    let turn = flow.start();
    assert_eq!(turn.replies.len(), MAX_STEPS);
    assert_eq!(turn.next, BotNext::Finish);
}

#[test]
fn first_error_in_step_order() {
    // Both `c` and `r` are wrong: `c` comes first in id order.
    let text = BASE.replacen(r#""team": 1"#, r#""team": 9"#, 1).replacen(
        r#""next": "f""#,
        r#""next": "z""#,
        1,
    );
    let err = FlowDef::validate_source(&text, false, teams).expect_err("two errors");
    assert_error(&err, "flow_unknown_step", "steps.c.next", Some(14));
}

// ---------------------------------------------------------------- execution

#[test]
fn start_runs_messages_until_the_menu() {
    let turn = example().start();
    assert_eq!(
        turn,
        BotTurn {
            replies: vec![
                "Olá! Sou a assistente virtual.".into(),
                "Como posso ajudar?\n1 - Segunda via de boleto\n2 - Suporte técnico\n3 - Encerrar"
                    .into(),
            ],
            collected: vec![],
            next: wait("menu"),
            invalid: false,
        }
    );
}

#[test]
fn menu_matches_key_label_synonym_case_and_accents() {
    let flow = example();
    for answer in [
        "1",
        " 1 ",
        "1.",
        "1️⃣",
        "segunda via de boleto",
        "  SEGUNDA-VIA   de  Boleto! ",
        "Boleto",
        "FATURA",
        "fatura?",
    ] {
        let turn = flow.input("menu", answer);
        assert_eq!(turn.next, wait("cpf"), "answer {answer:?}");
        assert_eq!(turn.replies, vec!["Qual é o seu CPF?".to_string()]);
        assert!(!turn.invalid);
    }
    for answer in [
        "2",
        "suporte tecnico",
        "SUPORTE TÉCNICO",
        "Suporte Te\u{301}cnico",
        "internet",
    ] {
        assert_eq!(
            flow.input("menu", answer).next,
            BotNext::Route { team: TeamId(2) },
            "answer {answer:?}"
        );
    }
    let turn = flow.input("menu", "encerrar");
    assert_eq!(turn.next, BotNext::Finish);
    assert_eq!(turn.replies, vec!["Até logo!".to_string()]);
}

#[test]
fn invalid_menu_answer_repeats_with_hint() {
    let flow = example();
    for answer in ["4", "", "   ", "boletos", "!!", "1 2"] {
        let turn = flow.input("menu", answer);
        assert!(turn.invalid, "answer {answer:?}");
        assert_eq!(turn.next, wait("menu"));
        assert_eq!(turn.replies.len(), 2);
        assert_eq!(turn.replies[0], "Não entendi sua resposta.");
        assert!(turn.replies[1].starts_with("Como posso ajudar?\n1 - "));
        assert!(turn.collected.is_empty());
    }
    // Without invalid_text, the default hint.
    let turn = base().input("m", "três");
    assert_eq!(
        turn.replies,
        vec![
            DEFAULT_INVALID_OPTION.to_string(),
            "Escolha\n1 - Um\n2 - Dois".to_string()
        ]
    );
    assert_eq!(
        DEFAULT_INVALID_OPTION,
        "Opção inválida. Responda com o número de uma das opções."
    );
}

#[test]
fn collect_digits() {
    let flow = example();
    let turn = flow.input("cpf", " 123.456.789-09 ");
    assert_eq!(
        turn,
        BotTurn {
            replies: vec!["Obrigado! CPF {{cpf}} recebido, já vamos atender.".into()],
            collected: vec![("cpf".into(), "12345678909".into())],
            next: BotNext::Route { team: TeamId(1) },
            invalid: false,
        }
    );
    assert_eq!(
        flow.input("cpf", "+55 (35) 99876-5432").collected,
        vec![("cpf".into(), "5535998765432".into())]
    );
    for bad in ["abc", "12a3", "", "(-)", "１２３"] {
        let turn = flow.input("cpf", bad);
        assert!(turn.invalid, "{bad:?}");
        assert_eq!(turn.next, wait("cpf"));
        assert_eq!(
            turn.replies,
            vec![HINT_DIGITS.to_string(), "Qual é o seu CPF?".to_string()]
        );
        assert!(turn.collected.is_empty());
    }
}

#[test]
fn collect_email() {
    let flow = base();
    let turn = flow.input("c", " Ana.Souza@exemplo.com.br ");
    assert_eq!(
        turn.collected,
        vec![("email".into(), "Ana.Souza@exemplo.com.br".into())]
    );
    assert_eq!(turn.next, BotNext::Finish);
    assert!(turn.replies.is_empty());
    for bad in [
        "ana",
        "ana@",
        "@exemplo.com",
        "ana@exemplo",
        "ana@exemplo.",
        "ana@.com",
        "a@b@c.com",
        "ana souza@x.com",
    ] {
        let turn = flow.input("c", bad);
        assert!(turn.invalid, "{bad:?}");
        assert_eq!(
            turn.replies,
            vec![HINT_EMAIL.to_string(), "E-mail?".to_string()]
        );
        assert_eq!(turn.next, wait("c"));
    }
}

#[test]
fn collect_text_and_no_format() {
    for format in [Some(FieldFormat::Text), None] {
        let mut flow = base();
        if let Some(Step::Collect { format: f, .. }) = flow.steps.get_mut("c") {
            *f = format;
        }
        let turn = flow.input("c", "  Maria da Silva ");
        assert_eq!(
            turn.collected,
            vec![("email".into(), "Maria da Silva".into())]
        );
        let turn = flow.input("c", " \n ");
        assert!(turn.invalid);
        assert_eq!(
            turn.replies,
            vec![HINT_TEXT.to_string(), "E-mail?".to_string()]
        );
    }
}

#[test]
fn message_chains_route_and_finish() {
    let text = r#"{
  "name": "Chain",
  "start": "a",
  "steps": {
    "a": { "kind": "message", "text": "A", "next": "b" },
    "b": { "kind": "message", "text": "B", "next": "c" },
    "c": { "kind": "message", "text": "C", "next": "m" },
    "m": { "kind": "menu", "text": "M", "options": [
      { "key": "1", "label": "Rota", "next": "d" },
      { "key": "2", "label": "Rota muda", "next": "r2" },
      { "key": "3", "label": "Fim mudo", "next": "f" }
    ] },
    "d": { "kind": "message", "text": "D", "next": "r" },
    "r": { "kind": "route", "team": 2, "text": "R" },
    "r2": { "kind": "route", "team": 1 },
    "f": { "kind": "finish" }
  }
}"#;
    let flow = FlowDef::validate_source(text, false, teams).expect("valid");
    let turn = flow.start();
    assert_eq!(
        turn.replies,
        vec!["A", "B", "C", "M\n1 - Rota\n2 - Rota muda\n3 - Fim mudo"]
    );
    assert_eq!(turn.next, wait("m"));
    let turn = flow.input("m", "1");
    assert_eq!(
        (turn.replies, turn.next),
        (
            vec!["D".to_string(), "R".to_string()],
            BotNext::Route { team: TeamId(2) }
        )
    );
    let turn = flow.input("m", "rota muda");
    assert_eq!(
        (turn.replies, turn.next),
        (vec![], BotNext::Route { team: TeamId(1) })
    );
    let turn = flow.input("m", "3");
    assert_eq!((turn.replies, turn.next), (vec![], BotNext::Finish));
}

#[test]
fn input_at_a_missing_or_non_waiting_step_restarts() {
    let flow = example();
    for at in ["gone", "boas_vindas", "financeiro", "tchau", ""] {
        assert_eq!(flow.input(at, "1"), flow.start(), "at {at:?}");
    }
}

#[test]
fn unvalidated_flows_never_loop_or_panic() {
    let mut flow = base();
    flow.steps.insert(
        "a".into(),
        Step::Message {
            text: "A".into(),
            next: "a".into(),
        },
    );
    let turn = flow.start();
    assert_eq!(turn.next, BotNext::Finish);
    assert_eq!(turn.replies.len(), flow.steps.len() + 1);
    flow.start = "nowhere".into();
    assert_eq!(flow.start().next, BotNext::Finish);
}

#[test]
fn render_fields() {
    let fields: BTreeMap<String, String> = [
        ("cpf".to_string(), "123".to_string()),
        ("nome".to_string(), "{{cpf}}".to_string()),
    ]
    .into();
    assert_eq!(render("CPF {{cpf}} ok", &fields), "CPF 123 ok");
    assert_eq!(render("{{ cpf }}{{cpf}}", &fields), "123123");
    assert_eq!(
        render("Olá {{nome}}!", &fields),
        "Olá {{cpf}}!",
        "values are not rendered again"
    );
    assert_eq!(render("{{x}} e {{cpf", &fields), "{{x}} e {{cpf");
    assert_eq!(render("{{ a {{cpf}} }}", &fields), "{{ a 123 }}");
    assert_eq!(render("sem campos", &BTreeMap::new()), "sem campos");
    assert_eq!(render("ção {{}} }}{{", &fields), "ção {{}} }}{{");
}

#[test]
fn fold_folds() {
    assert_eq!(fold("  Ação  RÁPIDA, já! "), "acao rapida ja");
    assert_eq!(fold("Çãõ Ñ ü ß Œ"), "cao n u ss oe");
    assert_eq!(fold("?!"), "");
}

// ---------------------------------------------------------------- properties

fn arb_step(ids: usize) -> impl Strategy<Value = Step> {
    let id = move || (0..ids + 1).prop_map(|i| format!("s{i}"));
    let text = || prop::sample::select(vec!["", " ", "Oi", "Olá {{x}}"]).prop_map(String::from);
    let word = || {
        prop::sample::select(vec!["", "1", "2", "Um", "um", "ÚM", "?", "dois"])
            .prop_map(String::from)
    };
    let option = (word(), word(), prop::collection::vec(word(), 0..3), id()).prop_map(
        |(key, label, synonyms, next)| MenuOption {
            key,
            label,
            synonyms,
            next,
        },
    );
    prop_oneof![
        (text(), id()).prop_map(|(text, next)| Step::Message { text, next }),
        (
            text(),
            prop::collection::vec(option, 0..5),
            prop::option::of(text())
        )
            .prop_map(|(text, options, invalid_text)| Step::Menu {
                text,
                options,
                invalid_text
            }),
        (
            text(),
            prop::sample::select(vec!["", "f", "a b"]),
            prop::option::of(prop::sample::select(vec![
                FieldFormat::Text,
                FieldFormat::Digits,
                FieldFormat::Email,
            ])),
            id()
        )
            .prop_map(|(text, field, format, next)| Step::Collect {
                text,
                field: field.into(),
                format,
                next
            }),
        (0u64..4, prop::option::of(text())).prop_map(|(team, text)| Step::Route {
            team: TeamId(team),
            text
        }),
        prop::option::of(text()).prop_map(|text| Step::Finish { text }),
    ]
}

fn arb_flow() -> impl Strategy<Value = FlowDef> {
    (1usize..8)
        .prop_flat_map(|n| {
            (
                prop::collection::vec(arb_step(n), n),
                0..n + 1,
                prop::bool::ANY,
            )
        })
        .prop_map(|(steps, start, named)| FlowDef {
            name: if named { "F".into() } else { String::new() },
            start: format!("s{start}"),
            steps: steps
                .into_iter()
                .enumerate()
                .map(|(i, s)| (format!("s{i}"), s))
                .collect(),
        })
}

proptest! {
    #[test]
    fn validate_and_run_never_panic(flow in arb_flow(), input in any::<String>(), at in 0usize..9) {
        let verdict = flow.validate(teams);
        let turn = flow.start();
        let turn2 = flow.input(&format!("s{at}"), &input);
        for t in [&turn, &turn2] {
            if let BotNext::Wait { step } = &t.next {
                prop_assert!(matches!(flow.steps.get(step), Some(Step::Menu { .. } | Step::Collect { .. })), "waits at a step that waits");
            }
        }
        if verdict.is_ok() {
            // A valid flow always ends its turns somewhere meaningful, never by running off.
            prop_assert!(!turn.replies.is_empty() || !matches!(turn.next, BotNext::Wait { .. }), "a wait always comes with a prompt");
            let text = serde_json::to_string(&flow).expect("serializes");
            prop_assert_eq!(FlowDef::validate_source(&text, false, teams), Ok(flow.clone()));
        } else {
            let err = verdict.expect_err("invalid");
            let text = serde_json::to_string_pretty(&flow).expect("serializes");
            let located = FlowDef::validate_source(&text, false, teams).expect_err("still invalid");
            prop_assert_eq!((located.code, &located.path), (err.code, &err.path));
        }
    }

    #[test]
    fn input_never_panics(input in any::<String>(), at in prop::sample::select(vec!["menu", "cpf", "x", "tchau"])) {
        let flow = example();
        let turn = flow.input(at, &input);
        if turn.invalid {
            prop_assert_eq!(turn.replies.len(), 2);
            prop_assert_eq!(turn.next, wait(at));
        }
    }

    #[test]
    fn parsers_never_panic(text in any::<String>()) {
        let _ = FlowDef::validate_source(&text, false, teams);
        let _ = FlowDef::validate_source(&text, true, teams);
    }

    #[test]
    fn render_without_placeholders_is_identity(text in "[^{]*") {
        prop_assert_eq!(render(&text, &BTreeMap::new()), text);
    }
}
