//! Templates: a campaign step's subject and body filled with one customer's fields.
//!
//! minijinja, run-time and sandboxed (no file or network access, a fuel limit on the work one
//! render may do), with **strict undefined**: a field the context does not have stops the render
//! with a [`TemplateError`] naming the line and the field, so a typo is found when a campaign is
//! added ([`check`] against [`sample_context`]) and never reaches a customer as an empty string.
//!
//! The text part is the body as written, filled in. The HTML part is that same text escaped
//! (so neither a customer's name nor the template's own text can inject markup), cut into
//! paragraphs on blank lines, with a footer holding the unsubscribe link.

use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value};
use serde::Serialize;
use std::collections::BTreeMap;

/// One message, filled in: the subject line and the two parts of a multipart e-mail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a template cannot be rendered: the line (1-based, within the subject or the body), what is
/// wrong, and the field when the problem is a field the context does not have.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct TemplateError {
    pub line: usize,
    pub message: String,
    pub field: Option<String>,
}

/// The kinds of important dates a customer may have (`customer.dates.<kind>`), as the store keeps
/// them; every kind is in every context (an empty string when the customer has none).
pub const DATE_KINDS: [&str; 6] = ["birthday", "company_birthday", "product_launch", "seasonal_campaign", "contract_renewal", "other"];

/// The customer as templates see it (`customer.*`). Every field is always present, so a template
/// that works for one customer works for all: text fields are empty strings when unknown.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TemplateCustomer {
    /// The customer's id in the workspace (its external id).
    pub id: String,
    pub name: String,
    /// The first word of `name` when left empty.
    pub first_name: String,
    pub email: String,
    /// The value tier (`A`, `B`, `C`), empty when not scored.
    pub tier: String,
    /// The RFM segment (`champions`, `at_risk`, …), empty when not scored.
    pub segment: String,
    /// Who looks after the customer.
    pub owner: String,
    /// Counted orders.
    pub orders: u64,
    /// Revenue in major units with the currency, as people read it: `1,234.50 USD`.
    pub revenue: String,
    /// `YYYY-MM-DD`, empty when the customer never ordered.
    pub last_order_date: String,
    /// Whole days since the last order (in the workspace's zone); `none` when never ordered (printed
    /// as nothing; test it with `{% if customer.days_since_last_order is not none %}`).
    pub days_since_last_order: Option<i64>,
    /// `YYYY-MM-DD` or empty; the same as `dates.birthday`.
    pub birthday: String,
    /// Important dates by kind ([`DATE_KINDS`]), `YYYY-MM-DD` or empty.
    pub dates: BTreeMap<String, String>,
}

/// The context every template is rendered with: `customer` ([`TemplateCustomer`]), `workspace`
/// (`name`), `unsubscribe_url` (empty when the message carries none) and `lang` (`en` or `ru`,
/// the language of the footer).
pub fn context(customer: &TemplateCustomer, workspace_name: &str, unsubscribe_url: &str, lang: &str) -> serde_json::Value {
    let mut c = customer.clone();
    if c.first_name.is_empty() {
        c.first_name = c.name.split_whitespace().next().unwrap_or("").to_owned();
    }
    for kind in DATE_KINDS {
        c.dates.entry(kind.to_owned()).or_default();
    }
    if c.birthday.is_empty() {
        c.birthday = c.dates.get("birthday").cloned().unwrap_or_default();
    } else {
        c.dates.insert("birthday".into(), c.birthday.clone());
    }
    serde_json::json!({
        "customer": c,
        "workspace": { "name": workspace_name },
        "unsubscribe_url": unsubscribe_url,
        "lang": lang,
    })
}

/// Every field a template may use, with example values: campaigns are checked against it when
/// they are added.
pub fn sample_context() -> serde_json::Value {
    let mut dates = BTreeMap::new();
    dates.insert("company_birthday".to_owned(), "2015-09-01".to_owned());
    let customer = TemplateCustomer {
        id: "C-1042".into(),
        name: "Anna Petrova".into(),
        first_name: String::new(),
        email: "anna@example.com".into(),
        tier: "A".into(),
        segment: "at_risk".into(),
        owner: "maria@example.com".into(),
        orders: 7,
        revenue: "1,234.50 USD".into(),
        last_order_date: "2026-08-14".into(),
        days_since_last_order: Some(113),
        birthday: "1988-12-05".into(),
        dates,
    };
    context(&customer, "Example Shop", "https://holdfast.example.com/u/1.QzEwNDI.sample", "en")
}

/// Upper bound of the work one render may do (minijinja's fuel: roughly one unit per instruction).
const FUEL: u64 = 200_000;

/// Names templates may use that are not fields of the context.
const BUILTINS: [&str; 10] = ["range", "dict", "namespace", "debug", "loop", "super", "self", "varargs", "kwargs", "caller"];

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(50);
    // `none` (a value not known, e.g. the days since the last order of a customer who never
    // ordered) prints as nothing, not "None", in a customer's inbox.
    env.set_formatter(|out, state, value| if value.is_none() { Ok(()) } else { minijinja::escape_formatter(out, state, value) });
    env
}

/// Whether `path` (`customer.name`) names something in `ctx`. A path that goes through a value
/// that is not a map (`customer.name.upper`) is left to the render to judge.
fn resolves(ctx: &serde_json::Value, path: &str) -> bool {
    let mut v = ctx;
    for part in path.split('.') {
        match v {
            serde_json::Value::Object(m) => match m.get(part) {
                Some(x) => v = x,
                None => return false,
            },
            _ => return true,
        }
    }
    true
}

/// The fields `source` names that `ctx` does not have, each with the first line naming it.
fn missing_fields(source: &str, tmpl: &minijinja::Template<'_, '_>, ctx: &serde_json::Value) -> Vec<(usize, String)> {
    let mut missing: Vec<(usize, String)> = tmpl
        .undeclared_variables(true)
        .into_iter()
        .filter(|p| !BUILTINS.contains(&p.split('.').next().unwrap_or("")))
        .filter(|p| !resolves(ctx, p))
        .map(|p| (line_of(source, &p).unwrap_or(1), p))
        .collect();
    missing.sort();
    missing
}

/// The first line (1-based) of `source` that mentions `needle`.
fn line_of(source: &str, needle: &str) -> Option<usize> {
    source.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

fn unknown_field(line: usize, field: String) -> TemplateError {
    TemplateError { line, message: format!("unknown field {field}"), field: Some(field) }
}

/// A minijinja error as a [`TemplateError`]; an undefined value is named from the fields the
/// template uses that the context lacks (preferring one on the failing line).
fn template_error(e: &minijinja::Error, source: &str, tmpl: Option<&minijinja::Template<'_, '_>>, ctx: &serde_json::Value) -> TemplateError {
    let line = e.line().unwrap_or(1);
    if e.kind() == ErrorKind::UndefinedError {
        if let Some(t) = tmpl {
            let missing = missing_fields(source, t, ctx);
            let on_line = missing.iter().find(|(l, _)| *l == line).or(missing.first());
            if let Some((_, field)) = on_line {
                return unknown_field(line, field.clone());
            }
        }
        return TemplateError { line, message: "a value used here is undefined".into(), field: None };
    }
    let message = match (e.kind(), e.detail()) {
        (ErrorKind::OutOfFuel, _) => "the template does too much work (a loop that never ends?)".to_owned(),
        (_, Some(d)) => format!("{}: {d}", e.kind()),
        (_, None) => e.kind().to_string(),
    };
    TemplateError { line, message, field: None }
}

/// Renders `source` with `ctx`, strictly.
fn render_one(env: &Environment<'_>, source: &str, ctx: &serde_json::Value) -> Result<String, TemplateError> {
    let tmpl = env.template_from_str(source).map_err(|e| template_error(&e, source, None, ctx))?;
    tmpl.render(Value::from_serialize(ctx)).map_err(|e| template_error(&e, source, Some(&tmpl), ctx))
}

/// Checks a template against a context (usually [`sample_context`]): it must parse, every field it
/// names must exist — also in branches this context does not take — and it must render.
pub fn check(template: &str, context: &serde_json::Value) -> Result<(), TemplateError> {
    let env = environment();
    let tmpl = env.template_from_str(template).map_err(|e| template_error(&e, template, None, context))?;
    if let Some((line, field)) = missing_fields(template, &tmpl, context).into_iter().next() {
        return Err(unknown_field(line, field));
    }
    tmpl.render(Value::from_serialize(context)).map(|_| ()).map_err(|e| template_error(&e, template, Some(&tmpl), context))
}

/// Fills a subject and a body. The subject becomes one line (line breaks in it turn into spaces);
/// an error in it says `(subject)`. The HTML part is the text escaped, in paragraphs, with the
/// unsubscribe footer when `unsubscribe_url` is not empty.
pub fn render(subject: &str, body: &str, context: &serde_json::Value) -> Result<Rendered, TemplateError> {
    let env = environment();
    let subject = render_one(&env, subject, context).map_err(|mut e| {
        e.message.push_str(" (subject)");
        e
    })?;
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = render_one(&env, body, context)?;
    let unsubscribe = context.get("unsubscribe_url").and_then(|v| v.as_str()).unwrap_or("");
    let lang = context.get("lang").and_then(|v| v.as_str()).unwrap_or("en");
    let html = html_of(&text, unsubscribe, lang);
    Ok(Rendered { subject, text, html })
}

/// HTML-escapes text for an element's content or a quoted attribute.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
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

/// The HTML part of a message whose text is `text`.
fn html_of(text: &str, unsubscribe_url: &str, lang: &str) -> String {
    let mut html = String::from("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n<body style=\"font-family:sans-serif;line-height:1.5\">\n");
    let text = text.replace("\r\n", "\n");
    let mut paragraph: Vec<&str> = Vec::new();
    let flush = |p: &mut Vec<&str>, html: &mut String| {
        if !p.is_empty() {
            let lines: Vec<String> = p.iter().map(|l| escape(l.trim_end())).collect();
            html.push_str("<p>");
            html.push_str(&lines.join("<br>\n"));
            html.push_str("</p>\n");
            p.clear();
        }
    };
    for line in text.split('\n') {
        if line.trim().is_empty() {
            flush(&mut paragraph, &mut html);
        } else {
            paragraph.push(line);
        }
    }
    flush(&mut paragraph, &mut html);
    if !unsubscribe_url.is_empty() {
        let (why, link) = match lang {
            "ru" => ("Вы получили это письмо как наш клиент.", "Отписаться от писем"),
            _ => ("You receive this e-mail as our customer.", "Unsubscribe"),
        };
        html.push_str(&format!("<hr>\n<p style=\"font-size:12px;color:#666\">{why} <a href=\"{}\">{link}</a></p>\n", escape(unsubscribe_url)));
    }
    html.push_str("</body></html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_field_names_its_line_and_the_field() {
        let body = "Hello {{ customer.first_name }},\n\nthank you.\n{{ customer.nmae }} again";
        let e = check(body, &sample_context()).unwrap_err();
        assert_eq!(e.to_string(), "line 4: unknown field customer.nmae");
        assert_eq!(e.field.as_deref(), Some("customer.nmae"));
        let e = render("Hi", body, &sample_context()).unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (4, Some("customer.nmae")));
    }

    #[test]
    fn a_missing_field_in_a_branch_not_taken_is_still_found_by_check() {
        let body = "Hi\n{% if customer.orders > 1000 %}\n{{ customer.vip_code }}\n{% endif %}";
        let e = check(body, &sample_context()).unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (3, Some("customer.vip_code")));
        // Rendering takes the branch only when it must.
        assert!(render("s", body, &sample_context()).is_ok());
    }

    #[test]
    fn an_unknown_top_level_name_and_a_syntax_error_are_errors() {
        let e = check("one\n{{ custmer.name }}", &sample_context()).unwrap_err();
        assert_eq!(e.to_string(), "line 2: unknown field custmer.name");
        let e = check("one\ntwo\n{% if %}", &sample_context()).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.field.is_none());
        let e = render("Hello {{ customer.nmae }}", "body", &sample_context()).unwrap_err();
        assert_eq!(e.to_string(), "line 1: unknown field customer.nmae (subject)");
    }

    #[test]
    fn html_is_escaped_in_paragraphs_with_the_unsubscribe_footer() {
        let mut ctx = sample_context();
        ctx["customer"]["name"] = "<script>alert(1)</script> & Co".into();
        let r = render("Hi {{ customer.name }}\n", "Dear {{ customer.name }},\nline two\n\n<b>bold?</b>", &ctx).unwrap();
        assert_eq!(r.subject, "Hi <script>alert(1)</script> & Co");
        assert!(r.text.starts_with("Dear <script>"));
        assert!(r.html.contains("<p>Dear &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co,<br>\nline two</p>"), "{}", r.html);
        assert!(r.html.contains("<p>&lt;b&gt;bold?&lt;/b&gt;</p>"));
        assert!(r.html.contains("<a href=\"https://holdfast.example.com/u/1.QzEwNDI.sample\">Unsubscribe</a>"));
        assert!(!r.html.contains("<script>"));
    }

    #[test]
    fn a_runaway_loop_runs_out_of_fuel() {
        let e = check("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}", &sample_context()).unwrap_err();
        assert!(e.message.contains("too much work") || e.message.contains("range"), "{e}");
    }

    #[test]
    fn context_fills_first_name_and_every_date_kind() {
        let c = TemplateCustomer { name: "Ivan Ivanov".into(), ..Default::default() };
        let ctx = context(&c, "Shop", "", "ru");
        assert_eq!(ctx["customer"]["first_name"], "Ivan");
        for k in DATE_KINDS {
            assert_eq!(ctx["customer"]["dates"][k], "");
        }
        let r = render("x", "{{ customer.dates.birthday }}|{{ customer.days_since_last_order }}", &ctx).unwrap();
        assert_eq!(r.text, "|");
        assert!(!r.html.contains("<hr>"));
    }
}
