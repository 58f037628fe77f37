//! Reading a rendered mail as an admin sees it: the words of its cells, in
//! order, whatever the markup around them.

/// The HTML's text, each element's text between `|` marks, entities of
/// `&`, `<`, `>` and `"` decoded: `…|Note|the portal does not…|…`.
pub fn cells(html: &str) -> String {
    let mut out = String::from("|");
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                if !out.ends_with('|') {
                    out.push('|');
                }
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// True when the mail shows `label` with `value` beside it.
pub fn has_fact(html: &str, label: &str, value: &str) -> bool {
    cells(html).contains(&format!("|{label}|{value}|"))
}
