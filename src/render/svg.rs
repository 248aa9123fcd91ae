//! Pure: a small SVG writer — elements with attributes, text escaped, numbers rounded — so
//! the pictures are built from calls, never from pasted markup.

use std::fmt::Write as _;

/// Escapes `&`, `<`, `>`, `"` and `'` for text and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A number for an attribute: at most one decimal, no `-0`.
pub(crate) fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == 0.0 {
        "0".into()
    } else if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// An attribute: a name and its (unescaped) value.
pub(crate) type Attr<'a> = (&'a str, String);

/// An SVG document being written.
#[derive(Debug)]
pub(crate) struct Svg {
    out: String,
    open: Vec<&'static str>,
}

impl Svg {
    /// Starts a `width` × `height` picture (CSS pixels) with a white background.
    pub(crate) fn new(width: f64, height: f64, title: &str) -> Svg {
        let mut s = Svg {
            out: String::new(),
            open: Vec::new(),
        };
        s.open(
            "svg",
            &[
                ("xmlns", "http://www.w3.org/2000/svg".into()),
                ("width", num(width)),
                ("height", num(height)),
                ("viewBox", format!("0 0 {} {}", num(width), num(height))),
                (
                    "font-family",
                    "DejaVu Sans, Helvetica, Arial, sans-serif".into(),
                ),
                ("font-size", "12".into()),
            ],
        );
        s.leaf("title", &[], title);
        s.empty(
            "rect",
            &[
                ("width", num(width)),
                ("height", num(height)),
                ("fill", "#ffffff".into()),
            ],
        );
        s
    }

    fn tag(&mut self, name: &str, attrs: &[Attr<'_>], end: &str) {
        let _ = write!(self.out, "{}<{name}", "  ".repeat(self.open.len()));
        for (k, v) in attrs {
            let _ = write!(self.out, " {k}=\"{}\"", escape(v));
        }
        self.out.push_str(end);
    }

    /// Opens `<name …>`; [`Svg::close`] closes it.
    pub(crate) fn open(&mut self, name: &'static str, attrs: &[Attr<'_>]) {
        self.tag(name, attrs, ">\n");
        self.open.push(name);
    }

    /// Closes the innermost open element.
    pub(crate) fn close(&mut self) {
        if let Some(name) = self.open.pop() {
            let _ = writeln!(self.out, "{}</{name}>", "  ".repeat(self.open.len()));
        }
    }

    /// `<name …/>`.
    pub(crate) fn empty(&mut self, name: &str, attrs: &[Attr<'_>]) {
        self.tag(name, attrs, "/>\n");
    }

    /// `<name …>text</name>`, the text escaped.
    pub(crate) fn leaf(&mut self, name: &str, attrs: &[Attr<'_>], text: &str) {
        self.tag(name, attrs, ">");
        let _ = writeln!(self.out, "{}</{name}>", escape(text));
    }

    /// A text at (`x`, `y`) with more attributes.
    pub(crate) fn text(&mut self, x: f64, y: f64, attrs: &[Attr<'_>], text: &str) {
        let mut all: Vec<Attr<'_>> = vec![("x", num(x)), ("y", num(y))];
        all.extend(attrs.iter().cloned());
        self.leaf("text", &all, text);
    }

    /// A line from (`x1`, `y1`) to (`x2`, `y2`).
    pub(crate) fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), attrs: &[Attr<'_>]) {
        let mut all: Vec<Attr<'_>> = vec![
            ("x1", num(x1)),
            ("y1", num(y1)),
            ("x2", num(x2)),
            ("y2", num(y2)),
        ];
        all.extend(attrs.iter().cloned());
        self.empty("line", &all);
    }

    /// A rectangle; with a `tip`, a `<title>` shows it on hover.
    pub(crate) fn rect(
        &mut self,
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        attrs: &[Attr<'_>],
        tip: Option<&str>,
    ) {
        let mut all: Vec<Attr<'_>> = vec![
            ("x", num(x)),
            ("y", num(y)),
            ("width", num(w.max(0.0))),
            ("height", num(h.max(0.0))),
        ];
        all.extend(attrs.iter().cloned());
        match tip {
            Some(tip) => {
                self.tag("rect", &all, ">");
                let _ = writeln!(self.out, "<title>{}</title></rect>", escape(tip));
            }
            None => self.empty("rect", &all),
        }
    }

    /// Ends the picture, closing whatever is open.
    pub(crate) fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.close();
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped() {
        let mut s = Svg::new(10.0, 10.0, "a <b> & \"c\"");
        s.text(1.0, 2.0, &[("class", "x\"y".into())], "<script>");
        let out = s.finish();
        assert!(
            out.contains("<title>a &lt;b&gt; &amp; &quot;c&quot;</title>"),
            "{out}"
        );
        assert!(
            out.contains("class=\"x&quot;y\">&lt;script&gt;</text>"),
            "{out}"
        );
        assert!(out.trim_end().ends_with("</svg>"), "{out}");
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(1.04), "1");
        assert_eq!(num(-0.01), "0");
        assert_eq!(num(12.25), "12.3");
    }
}
