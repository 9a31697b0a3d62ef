//! Bundle definitions: what to join into which output, from the three places a project can
//! declare them — django-pipeline's `PIPELINE["STYLESHEETS"/"JAVASCRIPT"]`, a bedrock-style
//! `static-bundles.json`, and `[bundles.css.NAME]` / `[bundles.js.NAME]` tables — with where
//! each definition came from, plus the django-pipeline settings that shape a bundle's bytes
//! (wrapper, `.jst` templates, data-URI embedding, compilers).
//!
//! This module only parses and validates; `sluice-assets` builds the bundles.

use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::origin::Origin;

/// A stylesheet or a script bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BundleKind {
    Css,
    Js,
}

impl BundleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BundleKind::Css => "css",
            BundleKind::Js => "js",
        }
    }
}

impl fmt::Display for BundleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One bundle: ordered member patterns joined into `output`.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleDef {
    pub kind: BundleKind,
    pub name: String,
    /// Member patterns (django-pipeline globs over logical paths), in order.
    pub files: Vec<String>,
    /// The bundle's logical path in the output (`output_filename`).
    pub output: String,
    /// `variant: "datauri"`: small images under an `embed/` folder become data: URLs.
    pub datauri: bool,
    /// Whether a script bundle is bundled as an ES-module graph, and as what.
    pub modules: Modules,
    pub origin: Origin,
}

/// When a script bundle is an ES-module bundle (its members' imports followed, the graph
/// bundled into one file) rather than django-pipeline's concatenation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ModuleMode {
    /// When a member uses `import` / `export` (found by parsing it).
    #[default]
    Detect,
    /// Always: a `[bundles.js.NAME]` table with `entry` or `format`, or a `static-bundles.json`
    /// bundle of `.es6.js` files (as bedrock's webpack build takes them).
    Always,
}

/// What an ES-module bundle is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ModuleFormat {
    /// One immediately-invoked function, for a classic `<script>`.
    #[default]
    Iife,
    /// An ES module, for `<script type="module">` (a single entry's exports kept).
    Esm,
}

impl ModuleFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ModuleFormat::Iife => "iife",
            ModuleFormat::Esm => "esm",
        }
    }
}

/// A script bundle's module settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Modules {
    pub mode: ModuleMode,
    pub format: ModuleFormat,
}

impl BundleDef {
    /// `css bundle "site"`, for messages.
    pub fn label(&self) -> String {
        format!("{} bundle \"{}\"", self.kind, self.name)
    }
}

/// A compiler django-pipeline's `COMPILERS` can name (or sluice compiles by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CompilerKind {
    /// `.scss`, `.sass` → `.css` (`pipeline.compilers.sass.SASSCompiler`; grass in sluice).
    Sass,
    /// `.less` → `.css` (`pipeline.compilers.less.LessCompiler`; external `lessc`).
    Less,
    /// `.ts` → `.js` (`pipeline.compilers.typescript.TypeScriptCompiler`; oxc).
    TypeScript,
    /// `.es6` → `.js` (`pipeline.compilers.es6.ES6Compiler`).
    Es6,
    /// `.coffee`, `.litcoffee` → `.js` (not supported by sluice).
    CoffeeScript,
    /// `.styl` → `.css` (not supported by sluice).
    Stylus,
    /// `.ls` → `.js` (not supported by sluice).
    LiveScript,
}

impl CompilerKind {
    /// Every kind sluice compiles when nothing says otherwise.
    pub const DEFAULT: &'static [CompilerKind] = &[
        CompilerKind::Sass,
        CompilerKind::Less,
        CompilerKind::TypeScript,
    ];

    /// The kind behind a django-pipeline compiler class path.
    pub fn from_pipeline_class(class: &str) -> Option<CompilerKind> {
        Some(match class {
            "pipeline.compilers.sass.SASSCompiler" => CompilerKind::Sass,
            "pipeline.compilers.less.LessCompiler" => CompilerKind::Less,
            "pipeline.compilers.typescript.TypeScriptCompiler" => CompilerKind::TypeScript,
            "pipeline.compilers.es6.ES6Compiler" => CompilerKind::Es6,
            "pipeline.compilers.coffee.CoffeeScriptCompiler" => CompilerKind::CoffeeScript,
            "pipeline.compilers.stylus.StylusCompiler" => CompilerKind::Stylus,
            "pipeline.compilers.livescript.LiveScriptCompiler" => CompilerKind::LiveScript,
            _ => return None,
        })
    }

    /// The source suffixes it takes (django-pipeline's `match_file`).
    pub fn inputs(self) -> &'static [&'static str] {
        match self {
            CompilerKind::Sass => &[".scss", ".sass"],
            CompilerKind::Less => &[".less"],
            CompilerKind::TypeScript => &[".ts"],
            CompilerKind::Es6 => &[".es6"],
            CompilerKind::CoffeeScript => &[".coffee", ".litcoffee"],
            CompilerKind::Stylus => &[".styl"],
            CompilerKind::LiveScript => &[".ls"],
        }
    }

    /// The extension of what it writes (`output_extension`).
    pub fn output_extension(self) -> &'static str {
        match self {
            CompilerKind::Sass | CompilerKind::Less | CompilerKind::Stylus => "css",
            _ => "js",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CompilerKind::Sass => "sass",
            CompilerKind::Less => "less",
            CompilerKind::TypeScript => "typescript",
            CompilerKind::Es6 => "es6",
            CompilerKind::CoffeeScript => "coffeescript",
            CompilerKind::Stylus => "stylus",
            CompilerKind::LiveScript => "livescript",
        }
    }
}

/// The first of `compilers` that takes `logical`, and the compiled name it writes beside it
/// (django-pipeline: `splitext(path)[0] + "." + output_extension`): `css/a.scss` → `css/a.css`.
pub fn compiled_name(logical: &str, compilers: &[CompilerKind]) -> Option<(CompilerKind, String)> {
    let kind = compilers
        .iter()
        .copied()
        .find(|k| k.inputs().iter().any(|s| logical.ends_with(s)))?;
    let file_start = logical.rfind('/').map_or(0, |i| i + 1);
    // Python's splitext: the last dot of the file name, leading dots not counting.
    let name = &logical[file_start..];
    let stem_end = name
        .trim_start_matches('.')
        .rfind('.')
        .map(|i| file_start + i + (name.len() - name.trim_start_matches('.').len()))
        .unwrap_or(logical.len());
    Some((
        kind,
        format!("{}.{}", &logical[..stem_end], kind.output_extension()),
    ))
}

/// django-pipeline's settings that shape a bundle's bytes (defaults of `pipeline/conf.py`).
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineSettings {
    pub disable_wrapper: bool,
    /// `JS_WRAPPER`, with one `%s`.
    pub js_wrapper: String,
    pub template_namespace: String,
    pub template_ext: String,
    pub template_func: String,
    pub template_separator: String,
    pub embed_max_image_size: usize,
    /// `EMBED_PATH`, a Python regular expression searched in the asset's path.
    pub embed_path: String,
    /// `PIPELINE_ENABLED` (default `not DEBUG`); `None` outside django-pipeline.
    pub enabled: Option<bool>,
    /// `CSS_COMPRESSOR` / `JS_COMPRESSOR` class paths (`None`: compression off).
    pub css_compressor: Option<String>,
    pub js_compressor: Option<String>,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        Self {
            disable_wrapper: false,
            js_wrapper: "(function() {\n%s\n}).call(this);".into(),
            template_namespace: "window.JST".into(),
            template_ext: ".jst".into(),
            template_func: "template".into(),
            template_separator: "_".into(),
            embed_max_image_size: 32700,
            embed_path: r"[/]?embed/".into(),
            enabled: None,
            css_compressor: None,
            js_compressor: None,
        }
    }
}

/// What django-pipeline's `PIPELINE` setting says, as sluice uses it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PipelineConfig {
    pub bundles: Vec<BundleDef>,
    pub settings: PipelineSettings,
    /// `COMPILERS`, mapped to the kinds sluice knows.
    pub compilers: Vec<CompilerKind>,
    /// Compiler classes in `COMPILERS` that sluice does not know (custom ones).
    pub unknown_compilers: Vec<String>,
}

fn str_of(value: &serde_json::Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

/// Reads `PIPELINE` (as the Django query reports it, JSON) plus `DEBUG`.
pub fn from_pipeline(
    pipeline: &serde_json::Value,
    debug: Option<bool>,
    module: &str,
) -> Result<PipelineConfig> {
    let origin = || Origin::Django(module.to_owned());
    let bad = |what: String| {
        Error::config(format!("PIPELINE in {module}: {what}"))
            .with_hint("fix the setting; django-pipeline's documentation lists the group keys")
    };
    let Some(map) = pipeline.as_object() else {
        return Err(bad("not a dict".into()));
    };
    let mut out = PipelineConfig::default();
    let s = &mut out.settings;
    let get = |key: &str| map.get(key);
    if let Some(v) = get("DISABLE_WRAPPER") {
        // Python truthiness of what the setting holds.
        s.disable_wrapper = match v {
            serde_json::Value::Null => false,
            serde_json::Value::Bool(b) => *b,
            serde_json::Value::Number(n) => n.as_f64() != Some(0.0),
            serde_json::Value::String(t) => !t.is_empty(),
            serde_json::Value::Array(a) => !a.is_empty(),
            serde_json::Value::Object(o) => !o.is_empty(),
        };
    }
    if let Some(v) = get("JS_WRAPPER").and_then(str_of) {
        s.js_wrapper = v;
    }
    for (key, field) in [
        ("TEMPLATE_NAMESPACE", &mut s.template_namespace),
        ("TEMPLATE_EXT", &mut s.template_ext),
        ("TEMPLATE_FUNC", &mut s.template_func),
        ("TEMPLATE_SEPARATOR", &mut s.template_separator),
        ("EMBED_PATH", &mut s.embed_path),
    ] {
        if let Some(v) = get(key).and_then(str_of) {
            *field = v;
        }
    }
    if let Some(v) = get("EMBED_MAX_IMAGE_SIZE").and_then(|v| v.as_u64()) {
        s.embed_max_image_size = v as usize;
    }
    s.enabled = Some(
        get("PIPELINE_ENABLED")
            .and_then(|v| v.as_bool())
            .unwrap_or(!debug.unwrap_or(false)),
    );
    let compressor = |key: &str| match get(key) {
        None => Some("pipeline.compressors.yuglify.YuglifyCompressor".to_string()),
        Some(v) => str_of(v),
    };
    s.css_compressor = compressor("CSS_COMPRESSOR");
    s.js_compressor = compressor("JS_COMPRESSOR");
    if let Some(list) = get("COMPILERS") {
        for class in list.as_array().into_iter().flatten().filter_map(str_of) {
            match CompilerKind::from_pipeline_class(&class) {
                Some(kind) => out.compilers.push(kind),
                None => out.unknown_compilers.push(class),
            }
        }
    }
    for (key, kind) in [
        ("STYLESHEETS", BundleKind::Css),
        ("JAVASCRIPT", BundleKind::Js),
    ] {
        let Some(groups) = get(key) else { continue };
        let Some(groups) = groups.as_object() else {
            return Err(bad(format!("{key} is not a dict")));
        };
        for (name, group) in groups {
            let field = |k: &str| group.get(k);
            let files: Vec<String> = match field("source_filenames") {
                None => Vec::new(),
                Some(v) => v
                    .as_array()
                    .map(|a| a.iter().filter_map(str_of).collect())
                    .ok_or_else(|| {
                        bad(format!("{key}[{name:?}]: source_filenames is not a list"))
                    })?,
            };
            let output = field("output_filename")
                .and_then(str_of)
                .ok_or_else(|| bad(format!("{key}[{name:?}] has no output_filename string")))?;
            let datauri = match field("variant") {
                None | Some(serde_json::Value::Null) => false,
                Some(v) if v.as_str() == Some("datauri") => true,
                Some(v) => {
                    return Err(bad(format!(
                        "{key}[{name:?}]: variant {v} is not valid (only \"datauri\")"
                    )));
                }
            };
            let def = BundleDef {
                kind,
                name: name.clone(),
                files,
                output,
                datauri,
                modules: Modules::default(),
                origin: origin(),
            };
            check_output(&def)?;
            out.bundles.push(def);
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct StaticBundle {
    name: String,
    files: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StaticBundlesFile {
    #[serde(default)]
    css: Vec<StaticBundle>,
    #[serde(default)]
    js: Vec<StaticBundle>,
}

/// The 1-based line of `"name": "<name>"` in a JSON text, for provenance.
fn json_name_line(text: &str, name: &str) -> Option<usize> {
    let quoted = serde_json::to_string(name).ok()?;
    text.lines()
        .position(|l| {
            l.match_indices("\"name\"").any(|(i, _)| {
                l[i + 6..]
                    .trim_start()
                    .strip_prefix(':')
                    .is_some_and(|v| v.trim_start().starts_with(&quoted))
            })
        })
        .map(|i| i + 1)
}

/// A bedrock-style `static-bundles.json`: `{"css": [{"name": N, "files": [...]}], "js": [...]}`,
/// outputs `css/BUNDLES/N.css` and `js/BUNDLES/N.js`.
pub fn from_static_bundles(path: &Path) -> Result<Vec<BundleDef>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::config(format!("cannot read {}: {e}", path.display()))
            .with_location(path.display().to_string())
    })?;
    let parsed: StaticBundlesFile = serde_json::from_str(&text).map_err(|e| {
        // serde_json says column 0 for an end of input right after a line end; editors
        // count from 1.
        Error::config(format!("invalid static bundles file: {e}")).with_location(format!(
            "{}:{}:{}",
            path.display(),
            e.line(),
            e.column().max(1)
        ))
    })?;
    let mut out = Vec::new();
    for (kind, list) in [(BundleKind::Css, parsed.css), (BundleKind::Js, parsed.js)] {
        for b in list {
            // bedrock's webpack build takes each `.es6.js` bundle as one entry.
            let es6 = kind == BundleKind::Js && b.files.iter().any(|f| f.ends_with(".es6.js"));
            let def = BundleDef {
                kind,
                output: format!("{kind}/BUNDLES/{}.{kind}", b.name),
                origin: Origin::File(path.to_path_buf(), json_name_line(&text, &b.name)),
                name: b.name,
                files: b.files,
                datauri: false,
                modules: Modules {
                    mode: if es6 {
                        ModuleMode::Always
                    } else {
                        ModuleMode::Detect
                    },
                    format: ModuleFormat::Iife,
                },
            };
            check_output(&def)?;
            out.push(def);
        }
    }
    Ok(out)
}

/// `[bundles.css.NAME]` / `[bundles.js.NAME]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct BundleTables {
    #[serde(default)]
    pub css: std::collections::BTreeMap<String, BundleTable>,
    #[serde(default)]
    pub js: std::collections::BTreeMap<String, BundleTable>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BundleTable {
    #[serde(default)]
    pub files: Vec<String>,
    pub output: String,
    pub variant: Option<String>,
    /// A script bundle's entry module (an ES-module bundle of what it imports).
    pub entry: Option<String>,
    /// `"iife"` (default) or `"esm"`: makes a script bundle an ES-module bundle.
    pub format: Option<String>,
}

impl BundleTables {
    /// The definitions, with the line of each table header in `text`.
    pub(crate) fn defs(
        &self,
        path: &Path,
        text: &str,
        section: Option<&str>,
    ) -> Result<Vec<BundleDef>> {
        let mut out = Vec::new();
        for (kind, tables) in [(BundleKind::Css, &self.css), (BundleKind::Js, &self.js)] {
            for (name, table) in tables {
                let header = match section {
                    Some(_) => format!("[tool.sluice.bundles.{kind}.{name}]"),
                    None => format!("[bundles.{kind}.{name}]"),
                };
                let line = text.lines().position(|l| l.trim() == header).map(|i| i + 1);
                let origin = Origin::File(path.to_path_buf(), line);
                let datauri = match table.variant.as_deref() {
                    None => false,
                    Some("datauri") => true,
                    Some(other) => {
                        return Err(Error::config(format!(
                            "{kind} bundle \"{name}\": variant \"{other}\" is not valid (only \"datauri\")"
                        ))
                        .with_location(origin.to_string()));
                    }
                };
                let modules = table_modules(kind, name, table, &origin)?;
                let mut files = table.files.clone();
                if let Some(entry) = &table.entry {
                    files.insert(0, entry.clone());
                }
                let def = BundleDef {
                    kind,
                    name: name.clone(),
                    files,
                    output: table.output.clone(),
                    datauri,
                    modules,
                    origin,
                };
                check_output(&def)?;
                out.push(def);
            }
        }
        Ok(out)
    }
}

/// The module settings of a `[bundles.KIND.NAME]` table: `entry` and `format` are for
/// script bundles, and either makes one an ES-module bundle.
fn table_modules(
    kind: BundleKind,
    name: &str,
    table: &BundleTable,
    origin: &Origin,
) -> Result<Modules> {
    let bad = |what: String| {
        Error::config(format!("{kind} bundle \"{name}\": {what}")).with_location(origin.to_string())
    };
    if kind == BundleKind::Css && (table.entry.is_some() || table.format.is_some()) {
        return Err(bad(
            "`entry` and `format` are for js bundles (ES modules)".into()
        ));
    }
    let format = match table.format.as_deref() {
        None | Some("iife") => ModuleFormat::Iife,
        Some("esm") => ModuleFormat::Esm,
        Some(other) => {
            return Err(bad(format!(
                "format \"{other}\" is not valid (\"iife\" or \"esm\")"
            )));
        }
    };
    let mode = if table.entry.is_some() || table.format.is_some() {
        ModuleMode::Always
    } else {
        ModuleMode::Detect
    };
    Ok(Modules { mode, format })
}

/// An output must stay inside the output root.
fn check_output(def: &BundleDef) -> Result<()> {
    let o = &def.output;
    let bad = o.is_empty()
        || o.starts_with('/')
        || o.contains('\\')
        || o.ends_with('/')
        || o.split('/').any(|s| s.is_empty() || s == "." || s == "..");
    if bad {
        return Err(Error::config(format!(
            "{}: output {o:?} must be a relative path inside the output folder, without `.`/`..` segments",
            def.label()
        ))
        .with_location(def.origin.to_string()));
    }
    Ok(())
}

/// Two definitions with one output, or one kind and name, are an error (django-pipeline would
/// let the later silently overwrite the earlier).
pub fn check_unique(defs: &[BundleDef]) -> Result<()> {
    let mut outputs = std::collections::HashMap::new();
    let mut names = std::collections::HashMap::new();
    for def in defs {
        if let Some(first) = outputs.insert(def.output.as_str(), def) {
            return Err(Error::config(format!(
                "{} and {} ({}) both write {}",
                def.label(),
                first.label(),
                first.origin,
                def.output
            ))
            .with_location(def.origin.to_string()));
        }
        if let Some(first) = names.insert((def.kind, def.name.as_str()), def) {
            return Err(Error::config(format!(
                "{} is defined twice (also at {})",
                def.label(),
                first.origin
            ))
            .with_location(def.origin.to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compiled_names_follow_splitext() {
        let all = CompilerKind::DEFAULT;
        assert_eq!(
            compiled_name("css/a.scss", all),
            Some((CompilerKind::Sass, "css/a.css".into()))
        );
        assert_eq!(
            compiled_name("css/a.b.less", all),
            Some((CompilerKind::Less, "css/a.b.css".into()))
        );
        assert_eq!(compiled_name("js/a.js", all), None);
        assert_eq!(compiled_name("js/a.ts", &[CompilerKind::Sass]), None);
        assert_eq!(
            compiled_name(".x/.scss", &[CompilerKind::Sass]),
            Some((CompilerKind::Sass, ".x/.scss.css".into()))
        );
    }

    #[test]
    fn pipeline_setting_is_read() {
        let p = json!({
            "DISABLE_WRAPPER": true,
            "CSS_COMPRESSOR": null,
            "COMPILERS": ["pipeline.compilers.sass.SASSCompiler", "my.Custom"],
            "TEMPLATE_SEPARATOR": "-",
            "STYLESHEETS": {"site": {"source_filenames": ["css/*.css"], "output_filename": "css/site.css", "variant": "datauri"}},
            "JAVASCRIPT": {"app": {"source_filenames": ["js/a.js"], "output_filename": "js/app.js"}},
        });
        let c = from_pipeline(&p, Some(true), "mysite.settings").unwrap();
        assert!(c.settings.disable_wrapper);
        assert_eq!(c.settings.css_compressor, None);
        assert!(c.settings.js_compressor.is_some());
        assert_eq!(c.settings.enabled, Some(false));
        assert_eq!(c.settings.template_separator, "-");
        assert_eq!(c.compilers, [CompilerKind::Sass]);
        assert_eq!(c.unknown_compilers, ["my.Custom"]);
        assert_eq!(c.bundles.len(), 2);
        assert!(c.bundles[0].datauri);
        assert_eq!(c.bundles[1].kind, BundleKind::Js);
        let bad =
            json!({"STYLESHEETS": {"x": {"source_filenames": [], "output_filename": "../x.css"}}});
        assert!(from_pipeline(&bad, None, "m").is_err());
    }

    #[test]
    fn static_bundles_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("static-bundles.json");
        std::fs::write(
            &file,
            "{\n  \"css\": [\n    {\"name\": \"home\", \"files\": [\"css/a.css\"]}\n  ],\n  \"js\": [{\"name\": \"app\", \"files\": []}]\n}\n",
        )
        .unwrap();
        let defs = from_static_bundles(&file).unwrap();
        assert_eq!(defs[0].output, "css/BUNDLES/home.css");
        assert_eq!(defs[0].origin, Origin::File(file.clone(), Some(3)));
        assert_eq!(defs[1].output, "js/BUNDLES/app.js");
        std::fs::write(&file, "{\"css\": [{\"name\": 1}]}").unwrap();
        let Err(Error::Config { location, .. }) = from_static_bundles(&file) else {
            panic!("expected an error");
        };
        let location = location.unwrap();
        assert!(
            location.starts_with(&format!("{}:1:", file.display())),
            "{location}"
        );
        // Cut short after a line end: column 1 of the last line, not 0 (found by fuzzing).
        std::fs::write(&file, "{\n  \"css\": [\n").unwrap();
        let Err(Error::Config { location, .. }) = from_static_bundles(&file) else {
            panic!("expected an error");
        };
        assert_eq!(location.unwrap(), format!("{}:3:1", file.display()));
    }

    #[test]
    fn module_bundles_from_tables_and_static_bundles() {
        let text = "[js.home]\nentry = \"js/home.es6.js\"\nfiles = [\"js/more.js\"]\noutput = \"js/home.js\"\n\
                    [js.api]\nfiles = [\"js/api.js\"]\nformat = \"esm\"\noutput = \"js/api.js\"\n\
                    [js.old]\nfiles = [\"js/old.js\"]\noutput = \"js/old.min.js\"\n";
        let tables: BundleTables = toml::from_str(text).unwrap();
        let defs = tables.defs(Path::new("sluice.toml"), text, None).unwrap();
        let by = |n: &str| defs.iter().find(|d| d.name == n).unwrap();
        assert_eq!(by("home").files, ["js/home.es6.js", "js/more.js"]);
        assert_eq!(
            by("home").modules,
            Modules {
                mode: ModuleMode::Always,
                format: ModuleFormat::Iife
            }
        );
        assert_eq!(by("api").modules.format, ModuleFormat::Esm);
        assert_eq!(by("api").modules.mode, ModuleMode::Always);
        assert_eq!(by("old").modules, Modules::default());
        for bad in [
            "[js.x]\nentry = \"a.js\"\nformat = \"umd\"\noutput = \"x.js\"\n",
            "[css.x]\nentry = \"a.css\"\noutput = \"x.css\"\n",
        ] {
            let tables: BundleTables = toml::from_str(bad).unwrap();
            let err = tables
                .defs(Path::new("sluice.toml"), bad, None)
                .unwrap_err();
            assert!(err.to_string().contains("bundle \"x\""), "{err}");
        }

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("static-bundles.json");
        std::fs::write(
            &file,
            r#"{"js": [{"name": "site", "files": ["js/a.es6.js", "js/b.js"]}, {"name": "old", "files": ["js/c.js"]}]}"#,
        )
        .unwrap();
        let defs = from_static_bundles(&file).unwrap();
        assert_eq!(defs[0].modules.mode, ModuleMode::Always);
        assert_eq!(defs[1].modules.mode, ModuleMode::Detect);
    }

    #[test]
    fn duplicates_are_refused() {
        let def = |name: &str, output: &str| BundleDef {
            kind: BundleKind::Css,
            name: name.into(),
            files: vec![],
            output: output.into(),
            datauri: false,
            modules: Modules::default(),
            origin: Origin::Default,
        };
        assert!(check_unique(&[def("a", "x.css"), def("b", "y.css")]).is_ok());
        assert!(check_unique(&[def("a", "x.css"), def("b", "x.css")]).is_err());
        assert!(check_unique(&[def("a", "x.css"), def("a", "y.css")]).is_err());
    }
}
