//! `sluice init`: the configuration a Django project needs beyond what sluice finds by itself,
//! as TOML text with comments, and where it goes (`[tool.sluice]` in `pyproject.toml`, else
//! `sluice.toml`).
//!
//! sluice reads `STATICFILES_DIRS`, the apps' `static/` folders, `STATIC_ROOT`, `STATIC_URL` and
//! `PIPELINE` from Django on every run, so repeating them in a file would only let the two drift
//! apart. What it cannot find by itself is written as keys: a settings module that `manage.py`
//! does not name (`--django-settings`, or `DJANGO_SETTINGS_MODULE` in a project without
//! `manage.py`), a Python it would not pick (`--python`, or an active virtualenv inside the
//! project that is not `.venv`), an output folder when `STATIC_ROOT` is unset. What it found is
//! written as comments, and the django-pipeline development settings to set are returned as
//! advice for the terminal.
//!
//! Everything here is pure: the caller reads the settings and the files, and writes.

use std::path::Path;

use crate::config::{DjangoProject, Origin, Value};

/// Where the configuration goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    SluiceToml,
    /// `[tool.sluice]` in the project's `pyproject.toml`.
    Pyproject,
}

impl Target {
    pub fn file_name(self) -> &'static str {
        match self {
            Target::SluiceToml => "sluice.toml",
            Target::Pyproject => "pyproject.toml",
        }
    }
}

/// What `sluice init` knows about the project.
#[derive(Debug, Clone)]
pub struct InitInput<'a> {
    pub project_dir: &'a Path,
    pub python: &'a Value<String>,
    /// The module `manage.py` names (what sluice uses with no flag, file or variable).
    pub manage_py_module: Option<&'a str>,
    pub django: Option<&'a DjangoProject>,
    /// `static-bundles.json` files at the top of a source folder, relative to the project.
    pub static_bundles: &'a [String],
    pub target: Target,
}

/// The configuration to write and what to tell the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitPlan {
    /// The text for the target: a whole `sluice.toml`, or the `[tool.sluice]` table.
    pub text: String,
    /// Keys set (beyond comments), for messages.
    pub keys: Vec<String>,
    /// Django settings to set, one Python line each, for the terminal.
    pub advice: Vec<String>,
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `path` relative to `base` when inside it (`/`-separated), else as it is.
fn shown(path: &Path, base: &Path) -> String {
    match path.strip_prefix(base) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
        Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
        Err(_) => path.display().to_string(),
    }
}

/// Whether a django-pipeline compiler binary setting does nothing (`true`, `/bin/true`, `:`),
/// the same rule as the Django app's check sluice.W002.
pub fn is_no_op(binary: &serde_json::Value) -> bool {
    let words: Vec<String> = match binary {
        serde_json::Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect(),
        _ => return false,
    };
    let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
    let mut words = words.iter().map(|w| base(w)).peekable();
    if words.peek().is_some_and(|w| w == "env") {
        words.next();
    }
    words.next().is_none_or(|w| w == "true" || w == ":")
}

/// django-pipeline's compilers whose binary runs on each render: class, setting, default.
const COMPILER_BINARIES: &[(&str, &str, &str)] = &[
    (
        "pipeline.compilers.sass.SASSCompiler",
        "SASS_BINARY",
        "/usr/bin/env sass",
    ),
    (
        "pipeline.compilers.less.LessCompiler",
        "LESS_BINARY",
        "/usr/bin/env lessc",
    ),
    (
        "pipeline.compilers.typescript.TypeScriptCompiler",
        "TYPE_SCRIPT_BINARY",
        "/usr/bin/env tsc",
    ),
];

/// The django-pipeline development settings sluice needs that `pipeline` does not have yet,
/// and `sluice.django` in `INSTALLED_APPS`.
fn advice(django: &DjangoProject) -> Vec<String> {
    let settings = &django.settings;
    let mut lines = Vec::new();
    if let Some(conf) = settings.pipeline.as_ref().and_then(|p| p.as_object()) {
        let off = |key: &str| conf.get(key).and_then(|v| v.as_bool()) == Some(false);
        let enabled = conf
            .get("PIPELINE_ENABLED")
            .and_then(|v| v.as_bool())
            .unwrap_or(!settings.debug.unwrap_or(false));
        if enabled {
            lines.push("PIPELINE[\"PIPELINE_ENABLED\"] = False  # member tags; sluice keeps each file fresh".into());
        }
        if !off("PIPELINE_COLLECTOR_ENABLED") {
            lines.push("PIPELINE[\"PIPELINE_COLLECTOR_ENABLED\"] = False  # sluice fills STATIC_ROOT, not each render".into());
        }
        let compilers = conf.get("COMPILERS").and_then(|c| c.as_array());
        for class in compilers.into_iter().flatten().filter_map(|c| c.as_str()) {
            let Some((_, key, default)) = COMPILER_BINARIES.iter().find(|(c, ..)| *c == class)
            else {
                continue;
            };
            let binary = conf
                .get(*key)
                .cloned()
                .unwrap_or_else(|| serde_json::Value::String((*default).into()));
            if !is_no_op(&binary) {
                lines.push(format!(
                    "PIPELINE[\"{key}\"] = \"true\"  # a no-op: sluice compiles, pipeline's tags link the output"
                ));
            }
        }
    }
    if !settings.installed_apps.iter().any(|a| a == "sluice.django") {
        lines.push(
            "INSTALLED_APPS += [\"sluice.django\"]  # checks, {% sluice_css %} / {% sluice_js %}, manage.py sluice"
                .into(),
        );
    }
    lines
}

/// The configuration for `input`.
pub fn plan(input: &InitInput) -> InitPlan {
    let base = input.project_dir;
    let mut comments: Vec<String> = Vec::new();
    let mut keys: Vec<(String, String, String)> = Vec::new(); // key, value, comment
    let mut advice_lines = Vec::new();
    match input.django {
        Some(django) => {
            let s = &django.settings;
            let module = &django.module;
            comments.push(format!(
                "Written by `sluice init` from the Django settings {} (Django {}).",
                module.value, s.django_version
            ));
            comments.push(
                "sluice reads these from Django itself on every run; set a key below to override it:"
                    .into(),
            );
            let mut sources: Vec<String> = s
                .staticfiles_dirs
                .iter()
                .map(|(prefix, path)| match prefix {
                    Some(p) => format!("{} (as {p}/)", shown(path, base)),
                    None => shown(path, base),
                })
                .collect();
            let (inside, outside): (Vec<_>, Vec<_>) = s
                .app_static_dirs
                .iter()
                .partition(|(_, path)| path.starts_with(base));
            sources.extend(inside.iter().map(|(_, path)| shown(path, base)));
            if !outside.is_empty() {
                let labels: Vec<&str> = outside.iter().map(|(l, _)| l.as_str()).collect();
                sources.push(format!("the static/ of {}", labels.join(", ")));
            }
            comments.push(format!(
                "  sources     {}  (STATICFILES_DIRS, then each app's static/)",
                if sources.is_empty() {
                    "none".to_string()
                } else {
                    sources.join(", ")
                }
            ));
            match &s.static_root {
                Some(root) => comments.push(format!("  output      {}  (STATIC_ROOT)", shown(root, base))),
                None => keys.push((
                    "output".into(),
                    toml_string("static"),
                    "STATIC_ROOT is not set: sluice writes here (set STATIC_ROOT to the same folder for whitenoise)".into(),
                )),
            }
            if let Some(url) = &s.static_url {
                comments.push(format!("  static_url  {url}  (STATIC_URL)"));
            }
            if let Some(conf) = s.pipeline.as_ref().and_then(|p| p.as_object()) {
                let count = |key: &str| {
                    conf.get(key)
                        .and_then(|v| v.as_object())
                        .map_or(0, |o| o.len())
                };
                comments.push(format!(
                    "  bundles     {} css, {} js  (PIPELINE[\"STYLESHEETS\"], PIPELINE[\"JAVASCRIPT\"])",
                    count("STYLESHEETS"),
                    count("JAVASCRIPT")
                ));
                if let Some(compilers) = conf.get("COMPILERS").and_then(|c| c.as_array()) {
                    let names: Vec<&str> = compilers
                        .iter()
                        .filter_map(|c| c.as_str())
                        .map(|c| c.rsplit('.').next().unwrap_or(c))
                        .collect();
                    comments.push(format!(
                        "  compilers   {}  (PIPELINE[\"COMPILERS\"])",
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ));
                }
            }
            let found_by_itself = input.manage_py_module == Some(module.value.as_str());
            match &module.origin {
                _ if found_by_itself => comments.push(format!(
                    "  django_settings  {}  (named in manage.py)",
                    module.value
                )),
                Origin::Env(_) if input.manage_py_module.is_some() => comments.push(format!(
                    "  django_settings  {}  ($DJANGO_SETTINGS_MODULE in this shell; manage.py names {})",
                    module.value,
                    input.manage_py_module.unwrap_or_default()
                )),
                _ => keys.push((
                    "django_settings".into(),
                    toml_string(&module.value),
                    match input.manage_py_module {
                        Some(other) => format!("manage.py names {other}"),
                        None => "no manage.py names a settings module here".into(),
                    },
                )),
            }
            advice_lines = advice(django);
        }
        None => {
            comments.push("Written by `sluice init`: no Django settings found (no manage.py, no DJANGO_SETTINGS_MODULE).".into());
            comments.push(
                "With no keys, sluice mirrors media/ into static/ at /static/; for example:".into(),
            );
            comments.push(
                "  sources = [\"media\", { path = \"vendor/static\", prefix = \"vendor\" }]".into(),
            );
            comments.push("  output = \"static\"".into());
            comments.push(
                "  django_settings = \"mysite.settings\"   # read all of it from Django instead"
                    .into(),
            );
        }
    }
    // The Python: written only when sluice would not pick it by itself.
    let python = &input.python;
    let in_project = Path::new(&python.value)
        .strip_prefix(base)
        .ok()
        .map(|p| p.to_string_lossy().replace('\\', "/"));
    match (&python.origin, &in_project) {
        (Origin::Flag(_), Some(rel)) => keys.push(("python".into(), toml_string(rel), "--python".into())),
        (Origin::Flag(_), None) => keys.push(("python".into(), toml_string(&python.value), "--python".into())),
        (Origin::Env(_), Some(rel)) if !rel.starts_with(".venv/") => keys.push((
            "python".into(),
            toml_string(rel),
            "the virtualenv active when `sluice init` ran (not ./.venv, which sluice finds by itself)".into(),
        )),
        (Origin::Env(_), _) => comments.push(format!(
            "  python      {}  (the active virtualenv; sluice uses $VIRTUAL_ENV, else ./.venv, else python3)",
            python.value
        )),
        _ => comments.push(format!("  python      {}", python.value)),
    }
    for found in input.static_bundles {
        comments.push(format!(
            "A bedrock-style bundle list is at {found}; to build its bundles, uncomment:"
        ));
        comments.push(format!("static_bundles = {}", toml_string(found)));
    }
    comments.push(
        "`sluice config` shows the resolved configuration and where each value comes from.".into(),
    );

    // In pyproject.toml the comments go inside the table, so `--force` replaces them with it.
    let mut text = match input.target {
        Target::Pyproject => "[tool.sluice]\n".to_string(),
        Target::SluiceToml => String::new(),
    };
    for c in &comments {
        text.push_str(&format!("# {c}\n"));
    }
    for (key, value, comment) in &keys {
        text.push_str(&format!("# {comment}\n{key} = {value}\n"));
    }
    InitPlan {
        text,
        keys: keys.into_iter().map(|(k, ..)| k).collect(),
        advice: advice_lines,
    }
}

/// Why the configuration cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeError {
    /// The file has sluice configuration already (`--force` replaces it).
    Exists,
    /// `pyproject.toml` could not be rewritten without touching other tables.
    Unsafe(String),
}

/// Whether a table header line is `[tool.sluice]` or one of its sub-tables.
fn is_sluice_header(line: &str) -> Option<bool> {
    let t = line.trim();
    if !t.starts_with('[') {
        return None;
    }
    let name: String = t
        .trim_start_matches('[')
        .split(']')
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    Some(name == "tool.sluice" || name.starts_with("tool.sluice."))
}

fn without_sluice(mut table: toml::Table) -> toml::Table {
    if let Some(toml::Value::Table(tool)) = table.get_mut("tool") {
        tool.remove("sluice");
        if tool.is_empty() {
            table.remove("tool");
        }
    }
    table
}

fn sluice_table(table: &toml::Table) -> Option<&toml::Value> {
    table.get("tool")?.as_table()?.get("sluice")
}

/// The new text of the target file: `existing` (its text, `None` when there is no such file)
/// with `plan_text` in place of its sluice configuration (`replace`) or added to it.
pub fn merge(
    existing: Option<&str>,
    target: Target,
    plan_text: &str,
    replace: bool,
) -> Result<String, MergeError> {
    match (target, existing) {
        (_, None) => Ok(plan_text.to_string()),
        (Target::SluiceToml, Some(_)) if !replace => Err(MergeError::Exists),
        (Target::SluiceToml, Some(_)) => Ok(plan_text.to_string()),
        (Target::Pyproject, Some(text)) => {
            let unsafe_ = |why: &str| MergeError::Unsafe(why.to_string());
            let old: toml::Table = toml::from_str(text).map_err(|e| {
                unsafe_(&format!(
                    "pyproject.toml is not valid TOML: {}",
                    e.message()
                ))
            })?;
            if sluice_table(&old).is_some() && !replace {
                return Err(MergeError::Exists);
            }
            // Drop [tool.sluice] and its sub-tables, keep everything else byte for byte; the
            // new table goes where the old one was, else at the end.
            let mut kept = String::new();
            let mut at = None;
            let mut inside = false;
            for line in text.split_inclusive('\n') {
                if let Some(sluice) = is_sluice_header(line) {
                    if sluice && at.is_none() {
                        at = Some(kept.len());
                    }
                    inside = sluice;
                }
                if !inside {
                    kept.push_str(line);
                }
            }
            let new = match at {
                Some(i) if i == kept.len() => format!("{kept}{plan_text}"),
                Some(i) => format!("{}{plan_text}\n{}", &kept[..i], &kept[i..]),
                None => {
                    let sep = if kept.is_empty() || kept.ends_with("\n\n") {
                        ""
                    } else if kept.ends_with('\n') {
                        "\n"
                    } else {
                        "\n\n"
                    };
                    format!("{kept}{sep}{plan_text}")
                }
            };
            let parsed: toml::Table = toml::from_str(&new)
                .map_err(|_| unsafe_("the rewritten pyproject.toml would not parse"))?;
            let wanted: toml::Table =
                toml::from_str(plan_text).map_err(|_| unsafe_("the new table does not parse"))?;
            if without_sluice(parsed.clone()) != without_sluice(old)
                || sluice_table(&parsed) != sluice_table(&wanted)
            {
                return Err(unsafe_(
                    "[tool.sluice] is written in a form sluice cannot replace alone (dotted keys, or inline tables)",
                ));
            }
            Ok(new)
        }
    }
}

/// The keys and tables of the old sluice configuration that the new one does not have
/// (`dev`, `build.minify`…), for the warning `--force` gives.
pub fn dropped_keys(old: &str, new: &str, target: Target) -> Vec<String> {
    let table = |text: &str| -> toml::Table {
        let parsed: toml::Table = toml::from_str(text).unwrap_or_default();
        match target {
            Target::SluiceToml => parsed,
            Target::Pyproject => match sluice_table(&parsed) {
                Some(toml::Value::Table(t)) => t.clone(),
                _ => toml::Table::new(),
            },
        }
    };
    fn leaves(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
        for (key, value) in table {
            let name = format!("{prefix}{key}");
            match value {
                toml::Value::Table(inner) => leaves(inner, &format!("{name}."), out),
                _ => out.push(name),
            }
        }
    }
    let (mut before, mut after) = (Vec::new(), Vec::new());
    leaves(&table(old), "", &mut before);
    leaves(&table(new), "", &mut after);
    before.retain(|k| !after.contains(k));
    before
}

/// A unified diff of two texts (`--- a`, `+++ b`, hunks with three lines of context).
pub fn unified_diff(old_label: &str, new_label: &str, old: &str, new: &str) -> String {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    // Longest common subsequence table, from the end.
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // The edit script: (' ' | '-' | '+', line).
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    if ops.iter().all(|(op, _)| *op == ' ') {
        return String::new();
    }
    const CONTEXT: usize = 3;
    let mut out = format!("--- {old_label}\n+++ {new_label}\n");
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(CONTEXT);
        let mut end = changed[k];
        while k < changed.len() && changed[k] <= end + 2 * CONTEXT {
            end = changed[k];
            k += 1;
        }
        let end = (end + CONTEXT + 1).min(ops.len());
        let before =
            |upto: usize, skip: char| ops[..upto].iter().filter(|(o, _)| *o != skip).count();
        let (a_start, b_start) = (before(start, '+'), before(start, '-'));
        let a_len = ops[start..end].iter().filter(|(o, _)| *o != '+').count();
        let b_len = ops[start..end].iter().filter(|(o, _)| *o != '-').count();
        let from = |s: usize, l: usize| if l == 0 { s } else { s + 1 };
        out.push_str(&format!(
            "@@ -{},{a_len} +{},{b_len} @@\n",
            from(a_start, a_len),
            from(b_start, b_len)
        ));
        for (op, line) in &ops[start..end] {
            out.push(*op);
            out.push_str(line);
            if !line.ends_with('\n') {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
