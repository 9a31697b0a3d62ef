//! Size budgets' verdicts: which shipped files each budget of `[build.budgets]` covers (its
//! pattern over logical paths), their size in the budget's measure, and whether they are
//! within the limit — one verdict per file, or one for all of them with `total`. A budget
//! that covers nothing fails too (a pattern that matches no output is a typo, or a bundle
//! that went). Pure: the sizes come from the caller.

use sluice_core::budget::{Budget, Measure};

use super::shipped::Shipped;

/// One budget applied to one file (or, with `total`, to all it covers).
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub budget: Budget,
    /// The file measured (its logical path and served name); `None` for a total, or for a
    /// budget that covers nothing.
    pub file: Option<(String, String)>,
    /// How many files the size is of.
    pub files: usize,
    /// Bytes, in the budget's measure.
    pub size: u64,
}

impl Verdict {
    /// By how many bytes the size is over the limit (`None` when within it).
    pub fn over(&self) -> Option<u64> {
        self.size
            .checked_sub(self.budget.limit.bytes)
            .filter(|&n| n > 0)
    }

    pub fn unmatched(&self) -> bool {
        self.files == 0
    }

    pub fn failed(&self) -> bool {
        self.unmatched() || self.over().is_some()
    }
}

/// The bytes a browser receives for `file` with the `measure` encoding, given its compressed
/// copies' sizes: the copy when there is one, else the file itself.
pub fn served_size(raw: u64, gzip: Option<u64>, brotli: Option<u64>, measure: Measure) -> u64 {
    match measure {
        Measure::Raw => raw,
        Measure::Gzip => gzip.unwrap_or(raw),
        Measure::Brotli => brotli.unwrap_or(raw),
    }
}

/// Every budget's verdicts, in the budgets' order (a file's in logical order). `size` gives
/// a file's bytes in a measure.
pub fn check(
    budgets: &[Budget],
    shipped: &[Shipped],
    size: &dyn Fn(&Shipped, Measure) -> u64,
) -> Vec<Verdict> {
    let mut out = Vec::new();
    for budget in budgets {
        let covered: Vec<&Shipped> = shipped
            .iter()
            .filter(|s| budget.pattern.matches(&s.logical))
            .collect();
        let measure = budget.limit.measure;
        if covered.is_empty() || budget.limit.total {
            out.push(Verdict {
                budget: budget.clone(),
                file: None,
                files: covered.len(),
                size: covered.iter().map(|s| size(s, measure)).sum(),
            });
            continue;
        }
        for s in covered {
            out.push(Verdict {
                budget: budget.clone(),
                file: Some((s.logical.clone(), s.served.clone())),
                files: 1,
                size: size(s, measure),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Key;
    use sluice_core::budget::{OutputGlob, parse_limit};
    use sluice_core::origin::Origin;

    fn budget(pattern: &str, limit: &str) -> Budget {
        Budget {
            pattern: OutputGlob::new(pattern).unwrap(),
            limit: parse_limit(limit).unwrap(),
            origin: Origin::Default,
        }
    }

    fn file(logical: &str, raw: u64, gzip: Option<u64>, brotli: Option<u64>) -> Shipped {
        Shipped {
            logical: logical.into(),
            served: format!("{logical}!"),
            raw,
            gzip,
            brotli,
            key: Some(Key::of(logical.as_bytes())),
        }
    }

    fn sizes(s: &Shipped, m: Measure) -> u64 {
        served_size(s.raw, s.gzip, s.brotli, m)
    }

    #[test]
    fn under_exactly_at_and_over_in_each_measure() {
        let files = [file("css/site.css", 1000, Some(300), Some(250))];
        for (limit, over) in [
            ("1000 B", None),
            ("999 B raw", Some(1)),
            ("1 kB", None),
            ("300 B gzip", None),
            ("299 B gz", Some(1)),
            ("250 B br", None),
            ("200 B brotli", Some(50)),
            ("2 KiB", None),
        ] {
            let verdicts = check(&[budget("css/site.css", limit)], &files, &sizes);
            assert_eq!(verdicts.len(), 1);
            assert_eq!(verdicts[0].over(), over, "{limit}");
            assert_eq!(verdicts[0].failed(), over.is_some(), "{limit}");
            assert_eq!(
                verdicts[0].file,
                Some(("css/site.css".into(), "css/site.css!".into()))
            );
        }
    }

    #[test]
    fn a_missing_compressed_copy_counts_the_file_itself() {
        // Compressing did not pay (or the type is never compressed): browsers get the file.
        let files = [file("img/a.png", 700, None, None)];
        let verdicts = check(&[budget("img/*.png", "699 B br")], &files, &sizes);
        assert_eq!(verdicts[0].size, 700);
        assert_eq!(verdicts[0].over(), Some(1));
    }

    #[test]
    fn globs_cover_each_file_or_all_together() {
        let files = [
            file("css/a.css", 10, None, None),
            file("js/a.js", 100, Some(60), Some(50)),
            file("js/lib/b.js", 200, Some(90), Some(80)),
            file("js/lib/b.js.map", 900, None, None),
        ];
        let each = check(&[budget("js/**/*.js", "85 B br")], &files, &sizes);
        let seen: Vec<(&str, u64, Option<u64>)> = each
            .iter()
            .map(|v| (v.file.as_ref().unwrap().0.as_str(), v.size, v.over()))
            .collect();
        assert_eq!(seen, [("js/a.js", 50, None), ("js/lib/b.js", 80, None)]);
        let total = check(&[budget("js/**/*.js", "129 B br total")], &files, &sizes);
        assert_eq!((total.len(), total[0].files, total[0].size), (1, 2, 130));
        assert_eq!(total[0].over(), Some(1));
        assert_eq!(total[0].file, None);
        // One level only with `*`.
        let one = check(&[budget("js/*.js", "1 kB")], &files, &sizes);
        assert_eq!(one.len(), 1);
    }

    #[test]
    fn a_budget_that_covers_nothing_fails() {
        let files = [file("css/a.css", 10, None, None)];
        let verdicts = check(&[budget("css/typo.css", "1 MB")], &files, &sizes);
        assert!(verdicts[0].unmatched() && verdicts[0].failed());
        assert_eq!(verdicts[0].over(), None);
    }
}
