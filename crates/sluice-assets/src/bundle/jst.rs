//! django-pipeline's JavaScript templates (`Compressor.compile_templates`): every `.jst`
//! member becomes one line `NAMESPACE['name'] = FUNC('contents');` after the scripts.

use sluice_core::bundles::PipelineSettings;

/// django-pipeline's built-in micro-template function, emitted when `TEMPLATE_FUNC` is the
/// default `template`.
const TEMPLATE_FUNC: &str = r#"var template = function(str){var fn = new Function('obj', 'var __p=[],print=function(){__p.push.apply(__p,arguments);};with(obj||{}){__p.push(\''+str.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/<%=([\s\S]+?)%>/g,function(match,code){return "',"+code.replace(/\\'/g, "'")+",'";}).replace(/<%([\s\S]+?)%>/g,function(match,code){return "');"+code.replace(/\\'/g, "'").replace(/[\r\n\t]/g,' ')+"__p.push('";}).replace(/\r/g,'\\r').replace(/\n/g,'\\n').replace(/\t/g,'\\t')+"');}return __p.join('');");return fn;};"#;

/// `Compressor.base_path`: the leading path segments all templates share.
fn base_path(paths: &[&str]) -> String {
    let split: Vec<Vec<&str>> = paths.iter().map(|p| p.split('/').collect()).collect();
    let shortest = split.iter().map(Vec::len).min().unwrap_or(0);
    let mut common = Vec::new();
    for i in 0..shortest {
        let first = split[0][i];
        if split.iter().all(|s| s[i] == first) {
            common.push(first);
        } else {
            break;
        }
    }
    common.join("/")
}

/// `Compressor.template_name`.
fn template_name(path: &str, base: &str, settings: &PipelineSettings) -> String {
    let mut path = path;
    let mut base = base.to_string();
    if base.is_empty() {
        path = path.rsplit('/').next().unwrap_or(path);
    }
    if path == base {
        base = super::rewrite::dirname(path).to_string();
    }
    // re.sub(r"^{base}[\/\\]?(.*){ext}$", r"\1", path): `.` stops at a newline.
    let name = path
        .strip_prefix(base.as_str())
        .map(|rest| rest.strip_prefix(['/', '\\']).unwrap_or(rest))
        .and_then(|rest| rest.strip_suffix(settings.template_ext.as_str()))
        .filter(|inner| !inner.contains('\n'))
        .unwrap_or(path);
    name.replace(['/', '\\'], &settings.template_separator)
}

/// The compiled templates, `(path, contents)` in member order.
pub fn compile_templates(templates: &[(&str, &str)], settings: &PipelineSettings) -> String {
    if templates.is_empty() {
        return String::new();
    }
    let paths: Vec<&str> = templates.iter().map(|(p, _)| *p).collect();
    let base = base_path(&paths);
    let ns = &settings.template_namespace;
    let mut compiled = String::new();
    for (path, contents) in templates {
        let contents = contents
            .replace("\r\n", "\\n")
            .replace('\n', "\\n")
            .replace('\'', "\\'");
        let name = template_name(path, &base, settings);
        compiled.push_str(&format!(
            "{ns}['{name}'] = {}('{contents}');\n",
            settings.template_func
        ));
    }
    let compiler = if settings.template_func == "template" {
        TEMPLATE_FUNC
    } else {
        ""
    };
    format!("{ns} = {ns} || {{}};\n{compiler}\n{compiled}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_drop_the_common_folder_and_extension() {
        let s = PipelineSettings::default();
        let base = base_path(&[
            "tpl/photo/list.jst",
            "tpl/photo/detail.jst",
            "tpl/video/detail.jst",
        ]);
        assert_eq!(base, "tpl");
        assert_eq!(template_name("tpl/photo/list.jst", &base, &s), "photo_list");
        // One template: its own path is the base.
        assert_eq!(base_path(&["tpl/a/t.jst"]), "tpl/a/t.jst");
        assert_eq!(template_name("tpl/a/t.jst", "tpl/a/t.jst", &s), "t");
        assert_eq!(template_name("t.jst", "", &s), "t");
    }

    #[test]
    fn output_as_pipeline_writes_it() {
        let s = PipelineSettings {
            template_func: "_.template".into(),
            ..PipelineSettings::default()
        };
        let out = compile_templates(
            &[("t/a.jst", "<p class='x'>\r\n</p>\n"), ("t/b.jst", "b")],
            &s,
        );
        assert_eq!(
            out,
            "window.JST = window.JST || {};\n\nwindow.JST['a'] = _.template('<p class=\\'x\\'>\\n</p>\\n');\nwindow.JST['b'] = _.template('b');\n"
        );
        let out = compile_templates(&[("t/a.jst", "a")], &PipelineSettings::default());
        assert!(out.starts_with("window.JST = window.JST || {};\nvar template = function(str)"));
        assert!(out.ends_with("return fn;};\nwindow.JST['a'] = template('a');\n"));
    }
}
