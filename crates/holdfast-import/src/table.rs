//! Typed tables: customers, events, subscriptions, feedback, notes, dates, contacts, interactions —
//! any delimited file described by a [`TableSpec`], read with the same sniffing, number/date rules,
//! `--map` overrides and position-carrying errors as orders.

use crate::engine::{decode_block, utf8_facts, Origin, RecErr, Records, Source, BLOCK};
use crate::rows::{plan_date, DatePlan, Problems, ReadSummary, SlashEvidence};
use crate::{ImportError, ImportOptions};
use chrono::NaiveDate;
use holdfast_core::{Currency, Instant};
use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

/// The type of a column's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    /// A whole number (thousands separators allowed).
    Integer,
    /// A decimal number as integer units of `10^-digits` (e.g. `Decimal(2)`: `12,5` → 1250).
    Decimal(u32),
    /// An amount of money: minor units of the row's currency (a sign or code in the value, a
    /// `currency` field of the same row, `--currency`), two decimals when none is named.
    Money,
    /// A calendar date (a date-time value gives its local date).
    Date,
    /// An instant; date-only and naive values are local times in the calendar's zone.
    DateTime,
    /// yes/no in English, Russian, Ukrainian or Bulgarian, `1`/`0`, `true`/`false`.
    Bool,
    /// A JSON document.
    Json,
}

/// One field of a table: the name used by `--map`, header aliases (matched case-insensitively),
/// the value type, and whether the column and its values are required.
#[derive(Clone, Debug)]
pub struct FieldSpec {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub kind: FieldKind,
    pub required: bool,
    /// Inclusive bounds for `Integer` values.
    pub range: Option<(i64, i64)>,
    /// A date that may lie ahead (a subscription's end, a yearly date): accepted up to
    /// [`crate::DateRange::FUTURE_LIMIT`].
    pub future: bool,
}

impl FieldSpec {
    pub const fn new(name: &'static str, aliases: &'static [&'static str], kind: FieldKind) -> FieldSpec {
        FieldSpec { name, aliases, kind, required: false, range: None, future: false }
    }

    pub const fn required(mut self) -> FieldSpec {
        self.required = true;
        self
    }

    pub const fn range(mut self, lo: i64, hi: i64) -> FieldSpec {
        self.range = Some((lo, hi));
        self
    }

    /// Dates of this field may lie ahead (see [`FieldSpec::future`]).
    pub const fn future(mut self) -> FieldSpec {
        self.future = true;
        self
    }
}

/// The fields of a kind of file.
#[derive(Clone, Debug)]
pub struct TableSpec {
    /// What the file holds, for messages ("customers").
    pub name: &'static str,
    pub fields: Vec<FieldSpec>,
}

/// A typed value of one cell. Empty cells are `Null`.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Integer(i64),
    Decimal(i64),
    Money { minor: i64, currency: Option<Currency> },
    Date(NaiveDate),
    DateTime(Instant),
    Bool(bool),
    Json(serde_json::Value),
}

/// One row of a table: values aligned with the spec's fields.
#[derive(Clone, Debug, PartialEq)]
pub struct TableRow {
    /// 1-based line where the record starts.
    pub line: u64,
    pub values: Vec<Value>,
}

impl TableRow {
    pub fn get(&self, i: usize) -> &Value {
        self.values.get(i).unwrap_or(&Value::Null)
    }

    pub fn text(&self, i: usize) -> Option<&str> {
        match self.get(i) {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn integer(&self, i: usize) -> Option<i64> {
        match self.get(i) {
            Value::Integer(v) | Value::Decimal(v) => Some(*v),
            _ => None,
        }
    }

    pub fn money(&self, i: usize) -> Option<(i64, Option<Currency>)> {
        match self.get(i) {
            Value::Money { minor, currency } => Some((*minor, *currency)),
            _ => None,
        }
    }

    pub fn date(&self, i: usize) -> Option<NaiveDate> {
        match self.get(i) {
            Value::Date(d) => Some(*d),
            _ => None,
        }
    }

    pub fn instant(&self, i: usize) -> Option<Instant> {
        match self.get(i) {
            Value::DateTime(t) => Some(*t),
            _ => None,
        }
    }

    pub fn bool(&self, i: usize) -> Option<bool> {
        match self.get(i) {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn json(&self, i: usize) -> Option<&serde_json::Value> {
        match self.get(i) {
            Value::Json(j) => Some(j),
            _ => None,
        }
    }
}

use FieldKind::*;

/// The headers a customer id goes by, in the four languages (every table with a customer column).
pub const CUSTOMER_ID: &[&str] = &[
    "customer_id",
    "customer id",
    "customer",
    "client",
    "client_id",
    "client id",
    "код клиента",
    "id клиента",
    "клиент",
    "покупатель",
    "код клієнта",
    "клієнт",
    "покупець",
    "код на клиент",
];

/// In a customers file a bare `id` is the customer's.
const CUSTOMER_ID_OR_ID: &[&str] = &[
    "customer_id",
    "customer id",
    "customer",
    "client",
    "client_id",
    "client id",
    "код клиента",
    "id клиента",
    "клиент",
    "покупатель",
    "код клієнта",
    "клієнт",
    "покупець",
    "код на клиент",
    "id",
];

impl TableSpec {
    /// Index of the field called `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// customer_id, name, email, phone, kind (person/company), owner, tags, created_at, birthday,
    /// consents (a JSON list of `{"channel", "consented_at", "unsubscribed_at"}` as `holdfast
    /// export` writes it) and per-channel consent and unsubscribe dates (`email_consent_at`,
    /// `email_unsubscribed_at`, the same for sms, phone and messenger).
    pub fn customers() -> TableSpec {
        TableSpec {
            name: "customers",
            fields: vec![
                FieldSpec::new("customer_id", CUSTOMER_ID_OR_ID, Text).required(),
                FieldSpec::new("name", &["name", "full name", "customer name", "имя", "фио", "наименование", "ім'я", "піб", "назва", "име"], Text),
                FieldSpec::new(
                    "email",
                    &["email", "e-mail", "mail", "почта", "эл. почта", "электронная почта", "пошта", "ел. пошта", "имейл", "ел. поща"],
                    Text,
                ),
                FieldSpec::new("phone", &["phone", "telephone", "mobile", "телефон", "тел", "тел.", "мобильный", "мобільний"], Text),
                FieldSpec::new("kind", &["kind", "type", "customer type", "тип", "тип клиента", "тип клієнта", "вид"], Text),
                FieldSpec::new("owner", &["owner", "manager", "account manager", "менеджер", "ответственный", "відповідальний", "отговорник"], Text),
                FieldSpec::new("tags", &["tags", "tag", "labels", "теги", "метки", "мітки", "етикети", "тагове"], Text),
                FieldSpec::new(
                    "created_at",
                    &["created_at", "created", "registered", "signup date", "дата регистрации", "дата создания", "дата реєстрації", "дата на регистрация"],
                    DateTime,
                ),
                FieldSpec::new(
                    "birthday",
                    &[
                        "birthday",
                        "birth date",
                        "date of birth",
                        "день рождения",
                        "дата рождения",
                        "день народження",
                        "дата народження",
                        "рожден ден",
                        "дата на раждане",
                    ],
                    Date,
                ),
                FieldSpec::new("consents", &["consents", "согласия", "згоди", "съгласия"], Json),
                FieldSpec::new("email_consent_at", &["email_consent_at", "email consent", "согласие на email", "згода на email"], DateTime),
                FieldSpec::new("email_unsubscribed_at", &["email_unsubscribed_at", "email unsubscribed", "отписка от email", "відписка від email"], DateTime),
                FieldSpec::new("sms_consent_at", &["sms_consent_at", "sms consent", "согласие на sms", "згода на sms"], DateTime),
                FieldSpec::new("sms_unsubscribed_at", &["sms_unsubscribed_at", "sms unsubscribed", "отписка от sms", "відписка від sms"], DateTime),
                FieldSpec::new("phone_consent_at", &["phone_consent_at", "phone consent", "согласие на звонки", "згода на дзвінки"], DateTime),
                FieldSpec::new("phone_unsubscribed_at", &["phone_unsubscribed_at", "phone unsubscribed", "отказ от звонков", "відмова від дзвінків"], DateTime),
                FieldSpec::new(
                    "messenger_consent_at",
                    &["messenger_consent_at", "messenger consent", "согласие на мессенджеры", "згода на месенджери"],
                    DateTime,
                ),
                FieldSpec::new(
                    "messenger_unsubscribed_at",
                    &["messenger_unsubscribed_at", "messenger unsubscribed", "отписка от мессенджеров", "відписка від месенджерів"],
                    DateTime,
                ),
            ],
        }
    }

    /// note_id, customer_id, body, pain_points, goals, preferred_channel, preferred_time,
    /// works_mornings (yes/no), communication_style, author, created_at.
    pub fn notes() -> TableSpec {
        TableSpec {
            name: "notes",
            fields: vec![
                FieldSpec::new("note_id", &["note id", "id", "id заметки", "id нотатки"], Text),
                FieldSpec::new("customer_id", CUSTOMER_ID, Text).required(),
                FieldSpec::new("body", &["note", "text", "notes", "заметка", "текст", "примечание", "нотатка", "примітка", "бележка"], Text),
                FieldSpec::new("pain_points", &["pain points", "pains", "problems", "боли", "проблемы", "болі", "проблеми"], Text),
                FieldSpec::new("goals", &["goal", "objectives", "цели", "цель", "цілі", "мета"], Text),
                FieldSpec::new(
                    "preferred_channel",
                    &["preferred channel", "channel", "предпочитаемый канал", "канал", "бажаний канал", "предпочитан канал"],
                    Text,
                ),
                FieldSpec::new("preferred_time", &["preferred time", "best time", "удобное время", "время для связи", "зручний час", "удобно време"], Text),
                FieldSpec::new("works_mornings", &["works mornings", "mornings", "работает утром", "утром", "працює вранці", "вранці", "работи сутрин"], Bool),
                FieldSpec::new(
                    "communication_style",
                    &["communication style", "style", "format", "стиль", "формат", "стиль общения", "стиль спілкування"],
                    Text,
                ),
                FieldSpec::new("author", &["written by", "by", "автор"], Text),
                FieldSpec::new("created_at", &["created", "date", "at", "дата", "дата создания", "дата створення", "дата на създаване"], DateTime),
            ],
        }
    }

    /// date_id, customer_id, kind, label, date, yearly (yes/no, default yes).
    pub fn dates() -> TableSpec {
        TableSpec {
            name: "dates",
            fields: vec![
                FieldSpec::new("date_id", &["date id", "id"], Text),
                FieldSpec::new("customer_id", CUSTOMER_ID, Text).required(),
                FieldSpec::new("kind", &["type", "occasion", "тип", "вид", "повод", "привід"], Text).required(),
                FieldSpec::new("label", &["name", "title", "description", "название", "описание", "назва", "опис", "име"], Text),
                FieldSpec::new("date", &["on", "day", "дата", "день"], Date).required().future(),
                FieldSpec::new("yearly", &["recurring", "annual", "repeats yearly", "ежегодно", "ежегодная", "щороку", "щорічно", "ежегодно"], Bool),
            ],
        }
    }

    /// contact_id, customer_id, name, role, email, phone: people at a company customer.
    pub fn contacts() -> TableSpec {
        TableSpec {
            name: "contacts",
            fields: vec![
                FieldSpec::new("contact_id", &["contact id", "id", "id контакта", "id контакту"], Text),
                FieldSpec::new("customer_id", CUSTOMER_ID, Text).required(),
                FieldSpec::new(
                    "name",
                    &[
                        "contact",
                        "contact name",
                        "full name",
                        "имя",
                        "фио",
                        "контакт",
                        "контактное лицо",
                        "ім'я",
                        "піб",
                        "контактна особа",
                        "име",
                        "лице за контакт",
                    ],
                    Text,
                )
                .required(),
                FieldSpec::new("role", &["position", "title", "job title", "должность", "роль", "посада", "длъжност"], Text),
                FieldSpec::new("email", &["e-mail", "mail", "почта", "эл. почта", "пошта", "имейл"], Text),
                FieldSpec::new("phone", &["telephone", "mobile", "телефон", "тел", "тел.", "мобильный", "мобільний"], Text),
            ],
        }
    }

    /// interaction_id, customer_id, kind (call, meeting, email, message, other), at, with, by, summary.
    pub fn interactions() -> TableSpec {
        TableSpec {
            name: "interactions",
            fields: vec![
                FieldSpec::new("interaction_id", &["interaction id", "id"], Text),
                FieldSpec::new("customer_id", CUSTOMER_ID, Text).required(),
                FieldSpec::new("kind", &["type", "тип", "вид"], Text).required(),
                FieldSpec::new("at", &["date", "time", "when", "occurred_at", "дата", "время", "дата и время", "час", "дата і час", "време"], DateTime)
                    .required(),
                FieldSpec::new("with", &["with_whom", "with whom", "participant", "с кем", "з ким", "с кого"], Text),
                FieldSpec::new("by", &["by_whom", "manager", "employee", "кто", "менеджер", "сотрудник", "хто", "працівник", "служител"], Text),
                FieldSpec::new(
                    "summary",
                    &["notes", "result", "outcome", "comment", "итог", "результат", "комментарий", "підсумок", "коментар", "резюме"],
                    Text,
                ),
            ],
        }
    }

    /// customer_id, kind, at, properties (JSON).
    pub fn events() -> TableSpec {
        TableSpec {
            name: "events",
            fields: vec![
                FieldSpec::new("customer_id", CUSTOMER_ID, Text).required(),
                FieldSpec::new("kind", &["kind", "event", "type", "event type", "событие", "тип события", "подія", "тип події", "събитие"], Text).required(),
                FieldSpec::new(
                    "at",
                    &["at", "timestamp", "time", "date", "occurred_at", "дата", "время", "дата и время", "час", "дата і час", "време"],
                    DateTime,
                )
                .required(),
                FieldSpec::new("properties", &["properties", "props", "data", "payload", "свойства", "данные", "властивості", "дані"], Json),
            ],
        }
    }

    /// subscription_id, customer_id, plan, monthly_amount, currency, started_at, ended_at, cancel_reason.
    pub fn subscriptions() -> TableSpec {
        TableSpec {
            name: "subscriptions",
            fields: vec![
                FieldSpec::new("subscription_id", &["subscription_id", "subscription", "id", "id подписки", "подписка", "підписка", "абонамент"], Text),
                FieldSpec::new("customer_id", CUSTOMER_ID, Text).required(),
                FieldSpec::new("plan", &["plan", "tariff", "тариф", "план"], Text),
                FieldSpec::new(
                    "monthly_amount",
                    &["monthly_amount", "mrr", "amount", "price", "monthly", "сумма в месяц", "сумма", "цена", "сума", "ціна", "стойност", "месечна сума"],
                    Money,
                )
                .required(),
                FieldSpec::new("currency", &["currency", "валюта", "валута"], Text),
                FieldSpec::new("started_at", &["started_at", "start", "start date", "начало", "дата начала", "початок", "дата початку", "начална дата"], Date)
                    .required(),
                FieldSpec::new(
                    "ended_at",
                    &["ended_at", "end", "end date", "cancelled_at", "окончание", "дата окончания", "кінець", "дата закінчення", "крайна дата"],
                    Date,
                )
                .future(),
                FieldSpec::new(
                    "cancel_reason",
                    &["cancel_reason", "reason", "churn reason", "причина", "причина отмены", "причина скасування", "причина за отказ"],
                    Text,
                ),
            ],
        }
    }

    /// customer_id, score (0–10), survey, comment, touchpoint, at.
    pub fn feedback() -> TableSpec {
        TableSpec {
            name: "feedback",
            fields: vec![
                FieldSpec::new("customer_id", CUSTOMER_ID, Text).required(),
                FieldSpec::new("score", &["score", "nps", "rating", "оценка", "балл", "оцінка", "бал"], Integer).required().range(0, 10),
                FieldSpec::new("survey", &["survey", "опрос", "опитування", "анкета", "проучване"], Text),
                FieldSpec::new("comment", &["comment", "comments", "text", "feedback", "комментарий", "отзыв", "коментар", "відгук"], Text),
                FieldSpec::new("touchpoint", &["touchpoint", "channel", "канал", "точка контакта", "точка контакту"], Text),
                FieldSpec::new("at", &["at", "date", "submitted_at", "дата", "время", "дата і час", "дата и время"], DateTime),
            ],
        }
    }
}

const YES: &[&str] = &["1", "yes", "y", "true", "t", "x", "+", "да", "д", "так", "истина"];
const NO: &[&str] = &["0", "no", "n", "false", "f", "-", "нет", "н", "ні", "не", "ложь"];

/// A table read whole.
#[derive(Clone, Debug)]
pub struct Table {
    pub rows: Vec<TableRow>,
    pub summary: ReadSummary,
}

/// Reads a whole table (all-or-nothing, as [`crate::read_orders`]).
pub fn read_table(path: &Path, spec: &TableSpec, opts: &ImportOptions) -> Result<Table, ImportError> {
    collect(TableReader::open(path, spec, opts)?)
}

/// As [`read_table`], from bytes in memory; `name` is used in messages.
pub fn read_table_bytes(name: &str, bytes: Vec<u8>, spec: &TableSpec, opts: &ImportOptions) -> Result<Table, ImportError> {
    collect(TableReader::from_bytes(name, bytes, spec, opts)?)
}

fn collect(mut r: TableReader) -> Result<Table, ImportError> {
    let mut rows = Vec::new();
    while let Some(b) = r.next_batch()? {
        rows.extend(b);
    }
    Ok(Table { rows, summary: r.summary() })
}

/// Streams a table in batches of [`TableRow`], one block (about 8 MB) at a time, with the same
/// all-or-nothing contract as [`crate::OrderRows`].
pub struct TableReader {
    src: Source,
    spec: TableSpec,
    cols: Vec<Option<usize>>,
    dates: Vec<Option<DatePlan>>,
    evidence: Vec<SlashEvidence>,
    currency_field: Option<usize>,
    opts: ImportOptions,
    line_base: u64,
    summary: ReadSummary,
    errors: Problems,
    skipped: Problems,
    utf8_line: Option<u64>,
    done: bool,
}

impl TableReader {
    pub fn open(path: &Path, spec: &TableSpec, opts: &ImportOptions) -> Result<TableReader, ImportError> {
        Self::from_origin(path.display().to_string(), Origin::Path(path.to_path_buf()), spec, opts)
    }

    pub fn from_bytes(name: &str, bytes: Vec<u8>, spec: &TableSpec, opts: &ImportOptions) -> Result<TableReader, ImportError> {
        Self::from_origin(name.to_string(), Origin::Bytes(Arc::new(bytes)), spec, opts)
    }

    fn from_origin(path: String, origin: Origin, spec: &TableSpec, opts: &ImportOptions) -> Result<TableReader, ImportError> {
        let valid = || spec.fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ");
        for (f, _) in &opts.column_map {
            if spec.index(f.trim()).is_none() {
                return Err(ImportError::UnknownField { field: f.clone(), valid: valid() });
            }
        }
        let src = Source::open(path, origin, opts, BLOCK)?;
        let lower: Vec<String> = src.header.iter().map(|h| h.to_lowercase()).collect();
        let mut cols = vec![None; spec.fields.len()];
        for (k, field) in spec.fields.iter().enumerate() {
            if let Some((_, h)) = opts.column_map.iter().rev().find(|(f, _)| f.trim() == field.name) {
                let hl = h.trim().to_lowercase();
                match lower.iter().position(|c| *c == hl) {
                    Some(i) => cols[k] = Some(i),
                    None => {
                        return Err(ImportError::MapHeaderNotFound {
                            path: src.path.clone(),
                            field: field.name.to_string(),
                            header: h.clone(),
                            columns: src.header.join(", "),
                        })
                    }
                }
            } else {
                cols[k] = lower.iter().position(|c| c == field.name || field.aliases.iter().any(|a| a.to_lowercase() == *c));
            }
            if cols[k].is_none() && field.required {
                return Err(ImportError::MissingColumn { path: src.path.clone(), field: field.name, aliases: field.aliases.join(", ") });
            }
        }
        let whole = src.is_whole();
        let mut dates = Vec::new();
        for (k, field) in spec.fields.iter().enumerate() {
            dates.push(match (field.kind, cols[k]) {
                (Date | DateTime, Some(c)) => Some(plan_date(&src, opts, c, whole)?),
                _ => None,
            });
        }
        let columns = spec.fields.iter().zip(&cols).filter_map(|(f, c)| c.map(|c| (f.name.to_string(), src.header[c].clone()))).collect();
        let summary = ReadSummary { encoding: src.encoding_name(), delimiter: src.delimiter, columns, ..Default::default() };
        Ok(TableReader {
            line_base: src.header_lines,
            evidence: vec![SlashEvidence::default(); spec.fields.len()],
            currency_field: spec.index("currency"),
            src,
            spec: spec.clone(),
            cols,
            dates,
            opts: opts.clone(),
            summary,
            errors: Problems::default(),
            skipped: Problems::default(),
            utf8_line: None,
            done: false,
        })
    }

    /// `(field, header)` of the fields found.
    pub fn columns(&self) -> &[(String, String)] {
        &self.summary.columns
    }

    pub fn progress(&self) -> (u64, u64) {
        (self.src.done, self.src.total)
    }

    pub fn summary(&self) -> ReadSummary {
        let mut s = self.summary.clone();
        s.skipped = self.skipped.count;
        s.skip_reasons = self.skipped.listed.clone();
        s
    }

    /// The next batch of rows; `Ok(None)` at the end of a file read without errors.
    pub fn next_batch(&mut self) -> Result<Option<Vec<TableRow>>, ImportError> {
        loop {
            if self.done {
                return Ok(None);
            }
            let Some(block) = self.src.next_block()? else {
                self.done = true;
                for (k, ev) in self.evidence.iter().enumerate() {
                    if ev.is_mixed() {
                        let h = self.cols[k].map(|c| self.src.header[c].clone()).unwrap_or_default();
                        ev.decide(&self.src.path, &h)?;
                    }
                }
                if self.errors.count > 0 {
                    return Err(ImportError::Rows { errors: std::mem::take(&mut self.errors.listed), total: self.errors.count });
                }
                if self.summary.rows == 0 {
                    return Err(ImportError::NoRows { path: self.src.path.clone() });
                }
                return Ok(None);
            };
            let base = self.line_base;
            let text = match decode_block(self.src.encoding, &block.raw) {
                Ok(t) => t,
                Err(_) => {
                    let (good, bad) = utf8_facts(&block.raw);
                    let other = base + bad.unwrap_or(0) + 1;
                    return Err(match self.utf8_line.or(good.map(|g| base + g + 1)) {
                        Some(u) => ImportError::MixedEncoding { path: self.src.path.clone(), utf8_line: u, other_line: other },
                        None => ImportError::Csv {
                            path: self.src.path.clone(),
                            line: other,
                            message: "the text is not valid UTF-8 (name the file's encoding, e.g. windows-1251)".into(),
                        },
                    });
                }
            };
            if self.utf8_line.is_none() && self.src.encoding == encoding_rs::UTF_8 {
                if let (Some(g), _) = utf8_facts(&block.raw) {
                    self.utf8_line = Some(base + g + 1);
                }
            }
            let mut recs = Records::new(&text, self.src.delimiter);
            let has_nul = crate::rows::has_bad_controls(&block.raw);
            let mut f = Vec::new();
            let mut out = Vec::new();
            while let Some(r) = recs.next(&mut f) {
                let rel = match r {
                    Ok(l) => l,
                    Err(e) => {
                        let e = match (block.overflow, e) {
                            (true, RecErr::Unterminated { line }) => RecErr::TooLong { line },
                            (_, e) => e,
                        };
                        return Err(e.into_error(&self.src.path, base));
                    }
                };
                if f.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                let line = base + rel + 1;
                self.summary.rows += 1;
                let row = match if has_nul { crate::rows::text_error(&self.src.path, &self.src.header, &f, line) } else { None } {
                    Some(e) => Err(e),
                    None => self.row(&f, line),
                };
                match row {
                    Ok(row) => {
                        if self.errors.count == 0 {
                            out.push(row);
                        }
                    }
                    Err(e) if self.opts.skip_bad_rows => self.skipped.push(e),
                    Err(e) => self.errors.push(e),
                }
            }
            self.line_base = base + recs.line;
            if self.errors.count == 0 && !out.is_empty() {
                return Ok(Some(out));
            }
        }
    }

    fn row(&mut self, f: &[Cow<'_, str>], line: u64) -> Result<TableRow, String> {
        let path = &self.src.path;
        if f.len() != self.src.header.len() {
            return Err(format!("{path}:{line}: {} fields, but the header has {}", f.len(), self.src.header.len()));
        }
        // The row's currency, for money fields.
        let row_currency =
            match self.currency_field.and_then(|k| self.cols[k]) {
                Some(c) => {
                    let v = f[c].trim();
                    if v.is_empty() {
                        None
                    } else {
                        Some(crate::currency_of(v).ok_or_else(|| {
                            format!("{path}:{line}: column \"{}\": \"{v}\" is not a currency (expected e.g. RUB, EUR, USD)", self.src.header[c])
                        })?)
                    }
                }
                None => None,
            };
        let mut values = Vec::with_capacity(self.spec.fields.len());
        for (k, field) in self.spec.fields.iter().enumerate() {
            let Some(c) = self.cols[k] else {
                values.push(Value::Null);
                continue;
            };
            let v = f[c].trim();
            let h = &self.src.header[c];
            let bad = |what: String| format!("{path}:{line}: column \"{h}\": \"{v}\" {what}");
            if v.is_empty() {
                if field.required {
                    return Err(format!("{path}:{line}: column \"{h}\": the {} is empty", field.name.replace('_', " ")));
                }
                values.push(Value::Null);
                continue;
            }
            let value = match field.kind {
                Text => Value::Text(v.to_string()),
                Integer => {
                    let n = match v.parse::<i64>() {
                        Ok(n) => n,
                        Err(_) => crate::parse_amount(v)
                            .filter(|(_, c)| c.is_none())
                            .and_then(|(d, _)| crate::to_minor(d, 0))
                            .ok_or_else(|| bad("is not a whole number".into()))?,
                    };
                    if let Some((lo, hi)) = field.range {
                        if n < lo || n > hi {
                            return Err(bad(format!("is out of range (expected {lo} to {hi})")));
                        }
                    }
                    Value::Integer(n)
                }
                Decimal(digits) => {
                    let (d, _) =
                        crate::parse_amount(v).filter(|(_, c)| c.is_none()).ok_or_else(|| bad("is not a number (expected e.g. 12.5 or 12,5)".into()))?;
                    Value::Decimal(crate::to_minor(d, digits).ok_or_else(|| bad(format!("has more than {digits} decimals")))?)
                }
                Money => {
                    let (d, sign) = crate::parse_amount(v).ok_or_else(|| bad("is not an amount (expected e.g. 1234.56 or 1 234,56)".into()))?;
                    if let (Some(s), Some(r)) = (sign, row_currency) {
                        if s != r {
                            return Err(bad(format!("is in {s} but the currency column says {r}")));
                        }
                    }
                    let cur = sign.or(row_currency).or(self.opts.currency);
                    let digits = cur.map(|c| c.minor_digits()).unwrap_or(2);
                    let minor = crate::to_minor(d, digits).ok_or_else(|| bad(format!("has more than {digits} decimals")))?;
                    if minor.unsigned_abs() > crate::MAX_AMOUNT_MINOR as u64 {
                        return Err(bad(format!("is larger than any amount Holdfast accepts (at most {} in minor units)", crate::MAX_AMOUNT_MINOR)));
                    }
                    Value::Money { minor, currency: cur }
                }
                Date | DateTime => {
                    let plan = self.dates[k].as_ref().map(|p| (p.slash, p.expected)).unwrap_or((None, "YYYY-MM-DD"));
                    self.evidence[k].see(v, line);
                    let t = crate::parse_date(v, plan.0, &self.opts.calendar).ok_or_else(|| bad(format!("is not a date (expected {})", plan.1)))?;
                    let range = if field.future { self.opts.dates.with_future() } else { self.opts.dates };
                    let (lo, hi) = range.instants(&self.opts.calendar);
                    if t < lo || t >= hi {
                        return Err(bad(range.expected()));
                    }
                    if field.kind == Date {
                        Value::Date(self.opts.calendar.date(t))
                    } else {
                        Value::DateTime(t)
                    }
                }
                Bool => {
                    let l = v.to_lowercase();
                    if YES.contains(&l.as_str()) {
                        Value::Bool(true)
                    } else if NO.contains(&l.as_str()) {
                        Value::Bool(false)
                    } else {
                        return Err(bad("is not yes or no (expected e.g. yes, no, 1, 0, да, нет)".into()));
                    }
                }
                Json => Value::Json(serde_json::from_str(v).map_err(|e| bad(format!("is not JSON ({e})")))?),
            };
            values.push(value);
        }
        Ok(TableRow { line, values })
    }
}

impl Iterator for TableReader {
    type Item = Result<Vec<TableRow>, ImportError>;
    fn next(&mut self) -> Option<Self::Item> {
        match self.next_batch() {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
