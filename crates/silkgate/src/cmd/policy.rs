//! `silkgate policy check|explain|packs|test`: the compliance decision from the command line.
//!
//! The packs compiled into the binary are used unless `--packs DIR` names a rule-pack
//! directory (laid out as the repository's `rulepacks/`). `check` and `explain` exit with 0 for
//! `allow` and `conditional`, 1 for `deny`, and 2 on bad input; `test` exits 1 if a case fails.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use silkgate_model::agreement::Date;
use silkgate_policy::{Citation, Outcome, PackKind, PolicyEngine, Ruling, TransferFacts};

/// Subcommands of `silkgate policy`.
#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// Decide a transfer described by a facts document (JSON; `-` reads standard input).
    Check {
        /// The facts document.
        facts: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Rule-pack directory instead of the embedded packs.
        #[arg(long)]
        packs: Option<PathBuf>,
    },
    /// Decide and explain, with every citation, in English, Russian or Chinese.
    Explain {
        /// The facts document.
        facts: PathBuf,
        /// Language of the explanation.
        #[arg(long, value_enum, default_value_t = Lang::En)]
        lang: Lang,
        /// Rule-pack directory instead of the embedded packs.
        #[arg(long)]
        packs: Option<PathBuf>,
    },
    /// List the loaded packs with versions and how many rules rest on UNVERIFIED facts.
    Packs {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Rule-pack directory instead of the embedded packs.
        #[arg(long)]
        packs: Option<PathBuf>,
    },
    /// Run the case tables (`<STATE>/cases.toml`) against the packs.
    Test {
        /// Rule-pack directory instead of the embedded packs.
        #[arg(long)]
        packs: Option<PathBuf>,
    },
}

/// Output format of `check` and `packs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A short human-readable summary.
    Text,
    /// The decision (or pack list) as JSON.
    Json,
}

/// Language of `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// English.
    En,
    /// Russian.
    Ru,
    /// Chinese.
    Zh,
}

impl Lang {
    fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
            Lang::Zh => "zh",
        }
    }
}

/// Runs the subcommand.
///
/// # Errors
/// Unreadable or invalid facts, or a rule pack that fails validation.
pub fn run(command: PolicyCommand) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::Check {
            facts,
            format,
            packs,
        } => {
            let engine = load(packs.as_deref())?;
            let decision = decide(&engine, &facts, today())?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&decision)?),
                Format::Text => print!("{}", summary(&decision)),
            }
            Ok(exit_for(&decision))
        }
        PolicyCommand::Explain { facts, lang, packs } => {
            let engine = load(packs.as_deref())?;
            let decision = decide(&engine, &facts, today())?;
            print!("{}", explain(&engine, &decision, lang));
            Ok(exit_for(&decision))
        }
        PolicyCommand::Packs { format, packs } => {
            let engine = load(packs.as_deref())?;
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&engine.packs().collect::<Vec<_>>())?
                ),
                Format::Text => print!("{}", pack_list(&engine)),
            }
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Test { packs } => {
            let engine = load(packs.as_deref())?;
            let results = silkgate_policy::run_all(&engine)?;
            let mut out = String::new();
            let mut failed = 0;
            for r in &results {
                if !r.passed() {
                    failed += 1;
                    let _ = writeln!(out, "FAIL {} case {} \"{}\"", r.file, r.number, r.name);
                    for f in &r.failures {
                        let _ = writeln!(out, "     {f}");
                    }
                }
            }
            for (file, _) in engine.case_tables() {
                let n = results.iter().filter(|r| &r.file == file).count();
                let bad = results
                    .iter()
                    .filter(|r| &r.file == file && !r.passed())
                    .count();
                let _ = writeln!(out, "{file}: {n} cases, {} passed, {bad} failed", n - bad);
            }
            let _ = writeln!(
                out,
                "{} cases in {} tables: {} passed, {failed} failed",
                results.len(),
                engine.case_tables().len(),
                results.len() - failed
            );
            print!("{out}");
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn load(dir: Option<&Path>) -> anyhow::Result<PolicyEngine> {
    Ok(match dir {
        Some(dir) => PolicyEngine::load_dir(dir)
            .with_context(|| format!("loading rule packs from {}", dir.display()))?,
        None => PolicyEngine::embedded().context("loading the embedded rule packs")?,
    })
}

/// Today's UTC date: the day a facts document without `date` is decided on.
fn today() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Date::from_unix_seconds(secs)
}

fn decide(engine: &PolicyEngine, path: &Path, today: Date) -> anyhow::Result<Ruling> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("reading facts from standard input")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    let facts =
        TransferFacts::from_json(&text).with_context(|| format!("in {}", path.display()))?;
    engine
        .decide_on(&facts, today)
        .with_context(|| format!("in {}", path.display()))
}

fn exit_for(decision: &Ruling) -> ExitCode {
    match decision.decision.outcome {
        Outcome::Deny => ExitCode::from(1),
        Outcome::Allow | Outcome::Conditional => ExitCode::SUCCESS,
    }
}

fn unverified_mark(c: &Citation, lang: Lang) -> &'static str {
    match (c.verified, lang) {
        (true, _) => "",
        (false, Lang::En) => " [UNVERIFIED]",
        (false, Lang::Ru) => " [НЕ ПРОВЕРЕНО]",
        (false, Lang::Zh) => " [未核实]",
    }
}

/// A citation with the law's English name: `CN PIPL art. 40 (Personal Information ...)`.
fn short(c: &Citation) -> String {
    if c.instrument_en.is_empty() {
        format!("{} {} {}", c.state, c.instrument, c.article)
    } else {
        format!(
            "{} {} {} ({})",
            c.state, c.instrument, c.article, c.instrument_en
        )
    }
}

fn cited(citations: &[Citation]) -> String {
    citations
        .iter()
        .map(|c| format!("{}{}", short(c), unverified_mark(c, Lang::En)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The `check --format text` summary: outcome, the day decided, obligations (marked where
/// they rest on UNVERIFIED facts), the bases that make it lawful and every reason, each with
/// the law's name.
fn summary(ruling: &Ruling) -> String {
    let d = &ruling.decision;
    let mut out = format!("outcome: {}\n", d.outcome);
    let _ = writeln!(out, "decided on: {}", ruling.date);
    if d.has_unverified() {
        let _ = writeln!(
            out,
            "UNVERIFIED: some citations rest on facts the research could not confirm"
        );
    }
    for o in &d.obligations {
        let mark = if o.citations.iter().any(|c| !c.verified) {
            " [UNVERIFIED]"
        } else {
            ""
        };
        let _ = writeln!(out, "obligation{mark}: {} ({})", o.id, cited(&o.citations));
    }
    for b in &ruling.bases {
        let met = match &b.meets {
            Some(ob) => format!(" meets {ob} by {}", b.grounds.join(" or ")),
            None => String::new(),
        };
        let _ = writeln!(out, "basis: {}{met} ({})", b.rule, cited(&b.citations));
    }
    for r in &d.reasons {
        if r.citations.is_empty() {
            let _ = writeln!(out, "reason: {}", r.rule);
        } else {
            let _ = writeln!(out, "reason: {} ({})", r.rule, cited(&r.citations));
        }
    }
    let packs: Vec<String> = d
        .rulepacks
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(out, "rule packs: {}", packs.join(", "));
    out
}

struct Labels {
    outcome: &'static str,
    allow: &'static str,
    conditional: &'static str,
    deny: &'static str,
    obligations: &'static str,
    bases: &'static str,
    date: &'static str,
    none: &'static str,
    reasons: &'static str,
    packs: &'static str,
    caution: &'static str,
}

fn labels(lang: Lang) -> Labels {
    match lang {
        Lang::En => Labels {
            outcome: "Outcome",
            allow: "allow: lawful on these facts, nothing left to do",
            conditional: "conditional: lawful once the obligations below are met",
            deny: "deny: not lawful on these facts",
            obligations: "Obligations still to meet",
            bases: "What makes it lawful",
            date: "Law in force on",
            none: "none",
            reasons: "Reasons",
            packs: "Rule packs used",
            caution: "Citations marked UNVERIFIED rest on facts the research could not confirm: check with counsel.",
        },
        Lang::Ru => Labels {
            outcome: "Решение",
            allow: "разрешено: передача законна, ничего не требуется",
            conditional: "разрешено при условиях: законно после выполнения обязательств ниже",
            deny: "запрещено: при этих фактах передача незаконна",
            obligations: "Обязательства, которые нужно выполнить",
            bases: "Правовые основания передачи",
            date: "Право, действующее на",
            none: "нет",
            reasons: "Основания",
            packs: "Использованные пакеты правил",
            caution: "Ссылки с пометкой НЕ ПРОВЕРЕНО основаны на фактах, которые исследование не подтвердило: проконсультируйтесь с юристом.",
        },
        Lang::Zh => Labels {
            outcome: "结论",
            allow: "允许：依据上述事实合法，无需其他步骤",
            conditional: "附条件允许：履行下列义务后合法",
            deny: "拒绝：依据上述事实不合法",
            obligations: "尚需履行的义务",
            bases: "传输的合法依据",
            date: "适用法律的日期",
            none: "无",
            reasons: "理由",
            packs: "所用规则包",
            caution: "标注“未核实”的引用所依据的事实未经研究确认：请咨询法律顾问。",
        },
    }
}

/// The `explain` text: every obligation and reason with its full citations, in one language.
fn explain(engine: &PolicyEngine, ruling: &Ruling, lang: Lang) -> String {
    let d = &ruling.decision;
    let l = labels(lang);
    let code = lang.code();
    let mut out = String::new();
    let verdict = match d.outcome {
        Outcome::Allow => l.allow,
        Outcome::Conditional => l.conditional,
        Outcome::Deny => l.deny,
    };
    let _ = writeln!(out, "{}: {verdict}", l.outcome);
    let _ = writeln!(out, "{}: {}\n", l.date, ruling.date);
    let _ = writeln!(out, "{}:", l.obligations);
    if d.obligations.is_empty() {
        let _ = writeln!(out, "  {}", l.none);
    }
    for o in &d.obligations {
        let _ = writeln!(out, "  * [{}] {}", o.id, o.text.get(code));
        write_citations(&mut out, engine, &o.citations, lang);
    }
    let _ = writeln!(out, "\n{}:", l.bases);
    if ruling.bases.is_empty() {
        let _ = writeln!(out, "  {}", l.none);
    }
    for b in &ruling.bases {
        let _ = writeln!(out, "  * [{}] {}", b.rule, b.text.get(code));
        write_citations(&mut out, engine, &b.citations, lang);
    }
    let _ = writeln!(out, "\n{}:", l.reasons);
    for r in &d.reasons {
        let _ = writeln!(out, "  * [{}] {}", r.rule, r.text.get(code));
        write_citations(&mut out, engine, &r.citations, lang);
    }
    let packs: Vec<String> = d
        .rulepacks
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(out, "\n{}: {}", l.packs, packs.join(", "));
    if d.has_unverified() {
        let _ = writeln!(out, "\n{}", l.caution);
    }
    out
}

fn write_citations(out: &mut String, engine: &PolicyEngine, citations: &[Citation], lang: Lang) {
    for c in citations {
        let instrument = engine
            .packs()
            .find(|p| p.id == c.state)
            .and_then(|p| p.instruments.get(&c.instrument));
        let name = match instrument {
            Some(i) if lang == Lang::En => format!("{} ({})", i.en, i.original),
            Some(i) => format!("{} / {}", i.original, i.en),
            None => c.instrument.clone(),
        };
        let _ = writeln!(
            out,
            "      - {} {}, {}: {}{}\n        {}",
            c.state,
            c.instrument,
            c.article,
            name,
            unverified_mark(c, lang),
            c.source
        );
        if let Some(note) = c.note.as_ref().or(instrument.and_then(|i| i.note.as_ref())) {
            let _ = writeln!(out, "        ({note})");
        }
    }
}

/// The `packs` table.
fn pack_list(engine: &PolicyEngine) -> String {
    let mut out = format!(
        "{:<12} {:<17} {:<11} {:<10} {:>5} {:>10}\n",
        "pack", "kind", "version", "effective", "rules", "unverified"
    );
    for p in engine.packs() {
        let kind = match &p.kind {
            PackKind::State { .. } => "state".to_owned(),
            PackKind::Treaty { parties, .. } => format!(
                "treaty({})",
                parties
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            _ => "other".to_owned(),
        };
        let _ = writeln!(
            out,
            "{:<12} {:<17} {:<11} {:<10} {:>5} {:>10}",
            p.id, kind, p.version, p.effective, p.rules, p.unverified_rules
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> PolicyEngine {
        PolicyEngine::embedded().expect("embedded packs load")
    }

    fn decision(json: &str) -> Ruling {
        let day: Date = "2026-12-07".parse().unwrap();
        engine()
            .decide_on(&TransferFacts::from_json(json).unwrap(), day)
            .unwrap()
    }

    const DENIED: &str = r#"{"from":"CN","to":"KZ","exporter":{"sector":"trade"},
        "recipient":{"kind":"foreign-authority"},"data":{"categories":["personal"],"subjects":5}}"#;

    #[test]
    fn explain_speaks_each_language_with_every_citation() {
        let engine = engine();
        let d = decision(DENIED);
        let en = explain(&engine, &d, Lang::En);
        assert!(en.contains("deny: not lawful"), "{en}");
        assert!(
            en.contains("DSL, art. 36") && en.contains("ICJAL, art. 4"),
            "{en}"
        );
        assert!(en.contains("Data Security Law"), "{en}");
        let ru = explain(&engine, &d, Lang::Ru);
        assert!(
            ru.contains("запрещено") && ru.contains("иностранным судебным"),
            "{ru}"
        );
        let zh = explain(&engine, &d, Lang::Zh);
        assert!(zh.contains("拒绝") && zh.contains("数据安全法"), "{zh}");
        assert_eq!(exit_for(&d), ExitCode::from(1));
    }

    #[test]
    fn unverified_citations_are_marked_in_output() {
        let engine = engine();
        let d = decision(
            r#"{"from":"KZ","to":"CN","exporter":{"sector":"trade"},
            "recipient":{"kind":"enterprise"},"data":{"categories":["personal"],"subjects":5}}"#,
        );
        assert!(summary(&d).contains("[UNVERIFIED]"), "{}", summary(&d));
        assert!(explain(&engine, &d, Lang::Ru).contains("НЕ ПРОВЕРЕНО"));
        assert!(explain(&engine, &d, Lang::Zh).contains("未核实"));
    }

    #[test]
    fn check_text_names_the_law_marks_obligations_and_explain_shows_notes() {
        let engine = engine();
        let d = decision(
            r#"{"from":"CN","to":"KZ","exporter":{"sector":"trade"},"recipient":{"kind":"enterprise"},
            "data":{"categories":["personal"],"subjects":5},
            "year_to_date":{"subjects":20000,"sensitive_subjects":20000}}"#,
        );
        let text = summary(&d);
        assert!(
            text.contains("obligation [UNVERIFIED]: cn.security-assessment"),
            "{text}"
        );
        assert!(
            text.contains("Provisions on Promoting and Regulating"),
            "{text}"
        );
        assert!(text.contains("decided on: 2026-12-07"), "{text}");
        let en = explain(&engine, &d, Lang::En);
        assert!(
            en.contains("read in a copy of the official CAC text"),
            "{en}"
        );
        assert!(en.contains("What makes it lawful"), "{en}");
    }

    #[test]
    fn pack_list_names_every_pack() {
        let list = pack_list(&engine());
        for state in silkgate_model::MEMBER_STATES {
            assert!(
                list.lines().any(|l| l.starts_with(state.as_str())),
                "{list}"
            );
        }
        assert!(list.contains("treaty(RU,KZ,KG)"), "{list}");
    }
}
