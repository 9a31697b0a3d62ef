//! Size budgets and the build report on the terminal: the table of outputs over budget
//! (or one JSON error listing them), a verdict as JSON, and what `sluice report` opened.

use std::path::Path;

use owo_colors::OwoColorize;
use serde_json::json;
use sluice_engine::build::Verdict;

use super::{Printer, count, lossy, plural, shown, size};

/// What a budget verdict is about: the file, or the budget's pattern.
pub(super) fn budget_subject(v: &Verdict) -> String {
    match &v.file {
        Some((logical, _)) => logical.clone(),
        None => v.budget.pattern.as_str().to_string(),
    }
}

/// A budget verdict for `--format json`.
pub(super) fn budget_json(v: &Verdict) -> serde_json::Value {
    json!({
        "budget": v.budget.pattern.as_str(),
        "limit": v.budget.limit.text,
        "limit_bytes": v.budget.limit.bytes,
        "measure": v.budget.limit.measure.as_str(),
        "total": v.budget.limit.total,
        "origin": v.budget.origin.to_string(),
        "file": v.file.as_ref().map(|(logical, _)| logical),
        "served": v.file.as_ref().map(|(_, served)| served),
        "files": v.files,
        "size": v.size,
        "over": v.over(),
        "unmatched": v.unmatched(),
    })
}

impl Printer {
    /// Outputs over their budget (and budgets that cover nothing): one table, or one JSON
    /// error listing them.
    pub(super) fn budgets_failed(&self, verdicts: &[Verdict], base: &Path, page: Option<&Path>) {
        let failed: Vec<&Verdict> = verdicts.iter().filter(|v| v.failed()).collect();
        let over = failed.iter().filter(|v| !v.unmatched()).count();
        let unmatched = failed.len() - over;
        let mut parts = Vec::new();
        if over > 0 {
            parts.push(format!(
                "{} over {} size budget",
                plural(over, "output", "outputs"),
                if over == 1 { "its" } else { "their" }
            ));
        }
        if unmatched > 0 {
            parts.push(format!(
                "{} no output",
                plural(unmatched, "budget matches", "budgets match")
            ));
        }
        let message = parts.join("; ");
        let hint = "make them smaller or raise their limits in [build.budgets] \
                    (`sluice build --report` shows what is in them); nothing in the output \
                    was changed";
        if !self.text() {
            return self.json(&json!({
                "event": "error",
                "message": message,
                "hint": hint,
                "budgets": failed.iter().map(|v| budget_json(v)).collect::<Vec<_>>(),
                "report": page.map(lossy),
            }));
        }
        say!(self, "{} {message}", "error:".red().bold());
        let rows: Vec<[String; 6]> = failed
            .iter()
            .map(|v| {
                let (measured, result) = if v.unmatched() {
                    ("-".to_string(), "matches no output".to_string())
                } else {
                    let of = if v.budget.limit.total {
                        format!(" ({} files)", count(v.files))
                    } else {
                        String::new()
                    };
                    (
                        format!("{}{of}", size(v.size)),
                        format!("over by {}", size(v.over().unwrap_or(0))),
                    )
                };
                [
                    budget_subject(v),
                    v.budget.limit.measure.to_string(),
                    measured,
                    size(v.budget.limit.bytes),
                    result,
                    shown(Path::new(&v.budget.origin.to_string()), base),
                ]
            })
            .collect();
        let header = ["output", "measure", "size", "limit", "", "budget set in"];
        let widths: Vec<usize> = (0..6)
            .map(|i| {
                rows.iter()
                    .map(|r| r[i].chars().count())
                    .chain([header[i].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: [&str; 6]| {
            format!(
                "  {:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {:<w4$}  {}",
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                cells[4],
                cells[5],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3],
                w4 = widths[4],
            )
        };
        say!(self, "{}", line(header).trim_end().dimmed());
        for r in &rows {
            let text = line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]]);
            say!(self, "{}", text.trim_end());
        }
        if let Some(page) = page {
            say!(
                self,
                "  {} {} (what would have shipped)",
                "report:".bold(),
                shown(page, base)
            );
        }
        say!(self, "  {} {hint}", "hint:".cyan().bold());
    }

    /// `sluice report`: the page, and what opened it.
    pub fn report_opened(&self, page: &Path, opened_with: Option<&str>) {
        if !self.text() {
            return self.json(&json!({
                "event": "report",
                "path": lossy(page),
                "opened_with": opened_with,
            }));
        }
        match opened_with {
            Some(program) => say!(self, "report: {} (opened with {program})", page.display()),
            None => say!(
                self,
                "report: {} (no browser here: open it in one)",
                page.display()
            ),
        }
    }
}
