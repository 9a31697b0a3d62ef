//! What `sluice publish` says: the plan (`--dry-run`, or `-v`), then what it uploaded,
//! skipped and deleted, in how many requests and how long.

use owo_colors::OwoColorize;
use serde_json::json;
use sluice_publish::Report;

use super::{Printer, SHORT_LIST, count, duration, size};

impl Printer {
    pub fn publish_report(&self, report: &Report) {
        let r = &report.requests;
        if !self.text() {
            self.json(&json!({
                "event": "publish",
                "url": report.url,
                "dry_run": report.dry_run,
                "uploaded": report.uploads.len(),
                "skipped": report.skipped,
                "deleted": report.deleted.len(),
                "bytes": report.bytes,
                "uploads": report.uploads.iter().map(|u| json!({
                    "key": u.key, "bytes": u.bytes, "why": u.why,
                })).collect::<Vec<_>>(),
                "deletions": report.deleted,
                "requests": {
                    "list": r.list, "get": r.get, "head": r.head, "put": r.put,
                    "delete": r.delete, "total": r.total(),
                },
                "elapsed_ms": report.elapsed.as_secs_f64() * 1000.0,
            }));
            return;
        }
        if self.quiet {
            return;
        }
        let all = report.dry_run || self.verbose;
        let shown = if all { usize::MAX } else { SHORT_LIST };
        let verb = if report.dry_run {
            "would upload"
        } else {
            "uploaded"
        };
        for upload in report.uploads.iter().take(shown) {
            say!(
                self,
                "  {} {} ({}, {})",
                verb,
                upload.key,
                upload.why,
                size(upload.bytes)
            );
        }
        if report.uploads.len() > shown {
            say!(
                self,
                "  … and {} more (-v lists them)",
                count(report.uploads.len() - shown)
            );
        }
        let verb = if report.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        for key in report.deleted.iter().take(shown) {
            say!(self, "  {verb} {key}");
        }
        if report.deleted.len() > shown {
            say!(
                self,
                "  … and {} more deletions",
                count(report.deleted.len() - shown)
            );
        }
        let mark = if report.dry_run {
            "dry run:".yellow().bold().to_string()
        } else {
            "✓".green().bold().to_string()
        };
        say!(
            self,
            "{mark} {} uploaded ({}), {} skipped, {} deleted in {} → {} ({} requests)",
            count(report.uploads.len()),
            size(report.bytes),
            count(report.skipped),
            count(report.deleted.len()),
            duration(report.elapsed),
            report.url.bold(),
            count(r.total() as usize)
        );
    }

    /// What a build took from and gave to the shared cache.
    pub fn cache_summary(&self, hits: u64, written: u64, raced: u64) {
        if !self.text() {
            self.json(&json!({
                "event": "remote_cache", "hits": hits, "written": written, "raced": raced,
            }));
        } else if !self.quiet {
            say!(
                self,
                "  shared cache: {} taken, {} written ({} already there)",
                count(hits as usize),
                count(written as usize),
                count(raced as usize)
            );
        }
    }
}
