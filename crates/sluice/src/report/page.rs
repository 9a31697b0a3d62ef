//! The report's page: one self-contained HTML file — the document as JSON, the styles and
//! the script (`report.css`, `report.js`: the zoomable treemap with its switchable measure,
//! and the tables) inline — that makes no request at all (its Content-Security-Policy
//! forbids any), so it opens from a CI artefact, a mail or a `file://` URL alike.

use super::Document;

const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// `text` safe inside HTML text and attribute values.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside a `<script>` element: no `<`, `>` or `&` (they only occur inside
/// strings, where their `\u` escapes mean the same), nor the two line separators some
/// parsers trip on.
fn escape_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The page of `document`.
pub fn render(document: &Document) -> String {
    let data = serde_json::to_string(document).unwrap_or_else(|_| "null".to_string());
    let title = escape_html(
        std::path::Path::new(&document.project)
            .file_name()
            .map_or(document.project.as_str(), |n| {
                n.to_str().unwrap_or("project")
            }),
    );
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>sluice build report — {title}</title>\n<link rel=\"icon\" href=\"data:,\">\n\
         <style>\n{STYLE}</style>\n</head>\n<body>\n\
         <noscript>This report draws itself with JavaScript; its data is the JSON below.</noscript>\n\
         <main id=\"app\"></main>\n\
         <script type=\"application/json\" id=\"sluice-report-data\">{}</script>\n\
         <script>\n{SCRIPT}</script>\n</body>\n</html>\n",
        escape_json(&data)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_end_the_script_element() {
        let json =
            serde_json::to_string(&serde_json::json!({"p": "</script><b>&\u{2028}"})).unwrap();
        let safe = escape_json(&json);
        assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["p"], "</script><b>&\u{2028}");
        assert_eq!(
            escape_html("a<b>\"c\"&'"),
            "a&lt;b&gt;&quot;c&quot;&amp;&#39;"
        );
    }
}
