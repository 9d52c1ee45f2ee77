//! A plan as text, in Terraform's shape: one block per change with `+`, `~`, `-/+`, `-`,
//! a summary line, notes, then the cost table and each budget's runway. Pure text (colour
//! only when asked), so snapshots can pin it; `src/` decides when to colour.

use super::cost::Cost;
use super::{Action, Change, Mode, Plan};
use std::fmt::Write;

/// The human form of `plan`.
pub fn human(plan: &Plan, colour: bool) -> String {
    let paint =
        |code: &str, text: &str| if colour { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() };
    let mut out = String::new();
    if plan.is_empty() {
        out.push_str(&paint("1;32", "No changes."));
        out.push_str(match plan.mode {
            Mode::Plan => " The live state matches the file.\n",
            Mode::Destroy => " Nothing to destroy.\n",
        });
    } else {
        out.push_str("gaform will perform the following actions:\n");
        for c in &plan.resource_changes {
            out.push('\n');
            change(&mut out, c, &paint);
        }
        let s = plan.summary;
        let _ = writeln!(
            out,
            "\n{} {} to add, {} to change, {} to destroy.",
            paint("1", "Plan:"),
            s.add,
            s.change,
            s.destroy
        );
    }
    if !plan.notes.is_empty() {
        out.push_str("\nNotes:\n");
        for n in &plan.notes {
            let _ = writeln!(out, "  - {n}");
        }
    }
    if plan.mode == Mode::Plan {
        cost(&mut out, &plan.cost);
    }
    out
}

fn change(out: &mut String, c: &Change, paint: &dyn Fn(&str, &str) -> String) {
    let (colour, what) = match c.action {
        Action::Create => ("32", "will be created"),
        Action::Update => ("33", "will be updated in place"),
        Action::Scale => ("33", "will be scaled"),
        Action::Replace => ("31", "must be replaced"),
        Action::Delete => ("31", "will be destroyed"),
    };
    let _ = writeln!(out, "  {} {what} ({})", paint("1", &format!("# {}", c.address)), c.reason);
    let symbol = format!("{:>3}", c.action.symbol());
    let _ = writeln!(out, "{} {} {{", paint(colour, &symbol), c.address);
    let empty = Default::default();
    let before = c.before.as_ref().unwrap_or(&empty);
    let after = c.after.as_ref().unwrap_or(&empty);
    let mut rows: Vec<(String, String, String)> = Vec::new();
    if let Some(n) = &c.count {
        let row = match c.action {
            Action::Create => ("+".into(), "count".into(), format!("{} ({})", n.after, n.reason)),
            Action::Delete => ("-".into(), "count".into(), format!("{} -> 0 ({})", n.before, n.reason)),
            _ if n.before != n.after => {
                ("~".into(), "count".into(), format!("{} -> {} ({})", n.before, n.after, n.reason))
            }
            _ => (" ".into(), "count".into(), format!("{} ({})", n.after, n.reason)),
        };
        rows.push(row);
    }
    let mut hidden = 0;
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for k in keys {
        let forced = if c.forced_by.contains(k) { " # forces replacement" } else { "" };
        match (before.get(k), after.get(k), c.action) {
            (_, Some(a), Action::Create) => rows.push(("+".into(), k.clone(), quote(a))),
            (Some(b), _, Action::Delete) => rows.push(("-".into(), k.clone(), quote(b))),
            (Some(b), Some(a), _) if b != a => {
                rows.push(("~".into(), k.clone(), format!("{} -> {}{forced}", quote(b), quote(a))))
            }
            (None, Some(a), _) => rows.push(("+".into(), k.clone(), format!("{}{forced}", quote(a)))),
            (Some(b), None, _) => rows.push(("-".into(), k.clone(), format!("{}{forced}", quote(b)))),
            _ => hidden += 1,
        }
    }
    let width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    for (sym, key, value) in rows {
        let sym = match sym.as_str() {
            "+" => paint("32", "+"),
            "-" => paint("31", "-"),
            "~" => paint("33", "~"),
            _ => " ".into(),
        };
        let _ = writeln!(out, "      {sym} {key:<width$} = {value}");
    }
    if !c.stop.is_empty() && c.action != Action::Create {
        let ids: Vec<String> = c.stop.iter().map(|i| format!("[{}] {}", i.index, i.id)).collect();
        let _ = writeln!(out, "        stop: {}", ids.join(", "));
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "        # ({hidden} unchanged attribute{} hidden)",
            if hidden == 1 { "" } else { "s" }
        );
    }
    out.push_str("    }\n");
}

fn quote(v: &str) -> String {
    let bare = v.parse::<f64>().is_ok() || v == "true" || v == "false";
    if bare {
        v.to_string()
    } else {
        format!("{v:?}")
    }
}

fn cost(out: &mut String, cost: &Cost) {
    if cost.rows.is_empty() {
        return;
    }
    let all_local = cost.rows.iter().all(|r| r.simulated);
    out.push_str(if all_local {
        "\nCost (USD/hour, simulated at AWS on-demand prices, the rate budgets count; nothing is charged):\n"
    } else {
        "\nCost (on-demand USD/hour; spot is usually less):\n"
    });
    let width = cost.rows.iter().map(|r| r.address.len()).max().unwrap_or(8).max(8);
    let twidth = cost.rows.iter().map(|r| r.instance_type.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        out,
        "  {:<width$}  {:<twidth$}  {:>5}  {:>10}  {:>10}  {:>10}",
        "resource", "type", "count", "planned", "at min", "at max"
    );
    for r in &cost.rows {
        let _ = writeln!(
            out,
            "  {:<width$}  {:<twidth$}  {:>5}  {:>10}  {:>10}  {:>10}",
            r.address,
            r.instance_type,
            r.count,
            dollars(r.planned_per_hour),
            format!("{} ({})", dollars(r.min_per_hour), r.min),
            format!("{} ({})", dollars(r.max_per_hour), r.max),
        );
    }
    let _ = writeln!(
        out,
        "  {:<width$}  {:<twidth$}  {:>5}  {:>10}  {:>10}  {:>10}",
        "total",
        "",
        "",
        dollars(cost.planned_per_hour),
        dollars(cost.min_per_hour),
        dollars(cost.max_per_hour)
    );
    if all_local {
        out.push_str("  (local cloud: every instance is a process on this machine)\n");
    } else if cost.simulated {
        out.push_str("  (the local cloud's rows are simulated at AWS prices and charge nothing; the totals include them)\n");
    }
    if cost.estimated {
        out.push_str("  (some prices are us-east-1's, standing in for a region the catalog lacks)\n");
    }
    for r in cost.rows.iter().filter(|r| r.spot_each_per_hour.is_some()) {
        let spot = r.spot_each_per_hour.unwrap_or(0.0);
        let _ = writeln!(
            out,
            "  {}: spot ${spot:.4}/hour each now (${:.4} at the planned count), against {} on-demand",
            r.address,
            spot * r.count as f64,
            dollars(r.each_per_hour)
        );
    }
    for b in &cost.budgets {
        // With the ledger's spend, the runway is what is left, and only the rest of the period.
        let (period_hours, spent) = match &b.spent {
            Some(s) => {
                let simulated = if s.simulated { " (simulated)" } else { "" };
                let spent = format!(
                    "{} spent this {}{simulated}, {} left; ",
                    money(s.spent),
                    if b.period == "total" { "far" } else { b.period.as_str() },
                    money((b.amount - s.spent).max(0.0))
                );
                (s.hours_left.or(b.period_hours), spent)
            }
            None => (b.period_hours, String::new()),
        };
        let rest = if b.spent.as_ref().is_some_and(|s| s.period_end.is_some()) { "the rest of " } else { "" };
        let rate = if b.simulated {
            format!("{}/hour (simulated)", money(b.per_hour))
        } else {
            format!("{}/hour", dollars(b.per_hour))
        };
        let line = match (b.hours, period_hours) {
            _ if b.is_spent() => "spent: apply starts nothing that spends it until the period rolls over or the amount is raised".to_string(),
            (None, _) => "nothing is charged at the planned counts".to_string(),
            (Some(h), Some(p)) if h >= p => {
                format!(
                    "at {rate} it outlasts {rest}its {} ({h:.1} hours of {} needed)",
                    b.period,
                    hours(p)
                )
            }
            (Some(h), Some(p)) => format!(
                "at {rate} it runs out after {h:.1} hours ({:.1} days), before {rest}its {} of {} hours ends",
                h / 24.0,
                b.period,
                hours(p)
            ),
            (Some(h), None) => {
                format!("at {rate} it lasts {h:.1} hours ({:.1} days)", h / 24.0)
            }
        };
        let grown = match b.grown {
            Some((rate, h)) if !b.is_spent() => format!(
                "; if its heads grow their autoscaled groups to their ceilings, at {}/hour it lasts {h:.1} hours ({:.1} days)",
                dollars(rate),
                h / 24.0
            ),
            _ => String::new(),
        };
        let _ =
            writeln!(out, "Budget {} ({} per {}): {spent}{line}{grown}", b.budget, money(b.amount), b.period);
    }
}

/// A period's hours: whole ones as they are (`730`), what is left of one to a tenth.
fn hours(h: f64) -> String {
    if h.fract() == 0.0 {
        format!("{h}")
    } else {
        format!("{h:.1}")
    }
}

/// Dollars to the cent, and to a hundredth of a cent below one cent (a minute of a small
/// instance, a test's budget), so that a small amount never reads `$0.00`.
pub fn money(x: f64) -> String {
    let x = x + 0.0; // no `-0`
    if x != 0.0 && x.abs() < 0.01 {
        format!("${x:.4}")
    } else {
        dollars(x)
    }
}

fn dollars(x: f64) -> String {
    format!("${x:.2}")
}
