//! Orders row by row: the column plan of an orders file, the rules for one row, and
//! [`OrderRows`], the streaming reader the store uses (batches of [`OrderRow`]).

use crate::engine::{decode_block, utf8_facts, Block, Origin, RecErr, Records, Source, BLOCK};
use crate::{Field, ImportError, ImportOptions, FIELDS, MAX_LISTED};
use holdfast_core::{Calendar, Currency, Instant, OrderStatus};
use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

/// One row of an orders file, read by the rules of [`crate::read_orders`].
///
/// Three kinds of rows: a sale (status [`OrderStatus::Completed`]: every cell fully checked, the
/// amount never negative); a *partial refund* (a refund status, [`OrderStatus::is_refund`], and a
/// negative amount: fully checked, `amount_minor < 0`, it lowers the order with the same id); any
/// other row whose status is not a sale, included when its customer and date can be read (its
/// amount is 0 when it cannot be). Rows are not orders yet: [`crate::read_order_records`] makes
/// them whole orders by the rules of `METRICS.md`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRow {
    /// 1-based line where the record starts.
    pub line: u64,
    pub order_id: Option<String>,
    pub customer_id: String,
    pub ordered_at: Instant,
    /// Minor units of `currency` (negative for a partial refund).
    pub amount_minor: i64,
    /// The row's `refunded_amount` cell, minor units, never negative (0 without one).
    pub refunded_minor: i64,
    pub currency: Currency,
    pub status: OrderStatus,
    pub product: Option<String>,
    pub category: Option<String>,
    /// 1 when the file has no quantity.
    pub quantity: u32,
}

/// Slash-date evidence of one column: the first value that is only DD/MM, only MM/DD, or either.
#[derive(Clone, Debug, Default)]
pub(crate) struct SlashEvidence {
    dmy: Option<(u64, String)>,
    mdy: Option<(u64, String)>,
    any: Option<(u64, String)>,
}

impl SlashEvidence {
    #[inline]
    pub fn see(&mut self, v: &str, line: u64) {
        if !v.as_bytes().contains(&b'/') {
            return;
        }
        self.see_slow(v.trim(), line);
    }

    fn see_slow(&mut self, v: &str, line: u64) {
        if let Some((a, b, _)) = crate::slash_parts(v) {
            if self.any.is_none() {
                self.any = Some((line, v.to_string()));
            }
            if a > 12 && b <= 12 && self.dmy.is_none() {
                self.dmy = Some((line, v.to_string()));
            } else if b > 12 && a <= 12 && self.mdy.is_none() {
                self.mdy = Some((line, v.to_string()));
            }
        }
    }

    /// Keeps the earliest example of each kind.
    pub fn merge(&mut self, o: SlashEvidence) {
        for (mine, theirs) in [(&mut self.dmy, o.dmy), (&mut self.mdy, o.mdy), (&mut self.any, o.any)] {
            if let Some(t) = theirs {
                if mine.as_ref().is_none_or(|m| t.0 < m.0) {
                    *mine = Some(t);
                }
            }
        }
    }

    /// `Some(true)` DD/MM, `Some(false)` MM/DD, `None` no slash dates; errors when both or neither
    /// can be told.
    pub fn decide(&self, path: &str, header: &str) -> Result<Option<bool>, ImportError> {
        match (&self.dmy, &self.mdy, &self.any) {
            (Some(d), Some(m), _) => Err(ImportError::MixedDateOrder { path: path.into(), header: header.into(), dmy: d.1.clone(), mdy: m.1.clone() }),
            (Some(_), None, _) => Ok(Some(true)),
            (None, Some(_), _) => Ok(Some(false)),
            (None, None, Some(a)) => Err(ImportError::AmbiguousDates { path: path.into(), header: header.into(), example: a.1.clone() }),
            (None, None, None) => Ok(None),
        }
    }

    pub fn is_mixed(&self) -> bool {
        self.dmy.is_some() && self.mdy.is_some()
    }
}

/// How a date column is read: DD/MM or MM/DD for slash dates, and the format named in messages.
#[derive(Clone, Debug)]
pub(crate) struct DatePlan {
    pub slash: Option<bool>,
    pub expected: &'static str,
}

/// Decides how the date column `col` is read: from `--date-format`, else from the first block,
/// else (slash dates that fit both orders so far) from every value of the file.
pub(crate) fn plan_date(src: &Source, opts: &ImportOptions, col: usize, sample_whole_file: bool) -> Result<DatePlan, ImportError> {
    let header = src.header.get(col).cloned().unwrap_or_default();
    let sample = src.sample();
    let text = decode_block(src.encoding, sample).unwrap_or_else(|_| Cow::Owned(String::from_utf8_lossy(sample).into_owned()));
    let mut recs = Records::new(&text, src.delimiter);
    let mut fields = Vec::new();
    let mut firsts: Vec<String> = Vec::new();
    let mut ev = SlashEvidence::default();
    while let Some(r) = recs.next(&mut fields) {
        let Ok(line) = r else { break };
        if let Some(v) = fields.get(col) {
            if firsts.len() < 10_000 {
                firsts.push(v.to_string());
            }
            ev.see(v, line);
        }
    }
    if let Some(f) = opts.date_format {
        let slash = match f {
            crate::DateFormat::DmySlash => Some(true),
            crate::DateFormat::MdySlash => Some(false),
            _ => None,
        };
        return Ok(DatePlan { slash, expected: f.as_str() });
    }
    let slash = match ev.decide(&src.path, &header) {
        Err(ImportError::AmbiguousDates { .. }) if !sample_whole_file => {
            // Read the rest of the file for a value that settles the order.
            let mut again = src.reopen(opts)?;
            let mut all = SlashEvidence::default();
            while let Some(block) = again.next_block()? {
                let text = decode_block(again.encoding, &block.raw).unwrap_or_else(|_| Cow::Owned(String::from_utf8_lossy(&block.raw).into_owned()));
                let mut recs = Records::new(&text, again.delimiter);
                let mut fields = Vec::new();
                while let Some(r) = recs.next(&mut fields) {
                    let Ok(line) = r else { break };
                    if let Some(v) = fields.get(col) {
                        all.see(v, line + block.index as u64 * (1 << 40));
                    }
                }
            }
            all.decide(&src.path, &header)?
        }
        other => other?,
    };
    let expected = crate::column_format(firsts.iter().map(String::as_str), slash);
    Ok(DatePlan { slash, expected })
}

/// Validates `--map` and finds the column of each orders field.
pub(crate) fn order_columns(src: &Source, opts: &ImportOptions) -> Result<[Option<usize>; FIELDS.len()], ImportError> {
    let mut mapped: Vec<(Field, &str)> = Vec::new();
    for (f, h) in &opts.column_map {
        let key = f.trim().to_lowercase();
        match FIELDS.iter().find(|(_, n, _)| *n == key) {
            Some((field, _, _)) => mapped.push((*field, h.as_str())),
            None => {
                let valid = FIELDS.iter().map(|(_, n, _)| *n).collect::<Vec<_>>().join(", ");
                return Err(ImportError::UnknownField { field: f.clone(), valid });
            }
        }
    }
    let lower: Vec<String> = src.header.iter().map(|h| h.to_lowercase()).collect();
    let mut cols = [None; FIELDS.len()];
    for (k, (field, name, aliases)) in FIELDS.iter().enumerate() {
        if let Some(&(_, h)) = mapped.iter().rev().find(|(f, _)| f == field) {
            let hl = h.trim().to_lowercase();
            match lower.iter().position(|c| *c == hl) {
                Some(i) => cols[k] = Some(i),
                None => {
                    return Err(ImportError::MapHeaderNotFound {
                        path: src.path.clone(),
                        field: name.to_string(),
                        header: h.to_string(),
                        columns: src.header.join(", "),
                    })
                }
            }
        } else if let Some(i) = lower.iter().position(|c| aliases.contains(&c.as_str())) {
            cols[k] = Some(i);
        }
    }
    for (k, (_, n, aliases)) in FIELDS.iter().enumerate().take(3) {
        if cols[k].is_none() {
            return Err(ImportError::MissingColumn { path: src.path.clone(), field: n, aliases: aliases.join(", ") });
        }
    }
    Ok(cols)
}

/// Everything needed to read one orders row, fixed before the rows are read.
#[derive(Clone, Debug)]
pub(crate) struct OrderPlan {
    pub path: String,
    pub headers: Vec<String>,
    pub ci: usize,
    pub di: usize,
    pub ai: usize,
    pub oi: Option<usize>,
    pub si: Option<usize>,
    pub cui: Option<usize>,
    pub pi: Option<usize>,
    pub cai: Option<usize>,
    pub qi: Option<usize>,
    /// The `refunded_amount` column.
    pub ri: Option<usize>,
    pub date: DatePlan,
    pub currency: Currency,
    pub currency_assumed: bool,
    pub digits: u32,
    pub cal: Calendar,
    pub utc: bool,
    /// The dates accepted, and the instants `[lo, hi)` they span in `cal`'s zone.
    pub dates: crate::DateRange,
    pub lo: Instant,
    pub hi: Instant,
}

/// A sale row, borrowing from the block text.
pub(crate) struct Parsed<'a> {
    pub customer: &'a str,
    pub order_id: Option<&'a str>,
    pub at: Instant,
    /// The amount cell (never negative).
    pub minor: i64,
    /// The `refunded_amount` cell (never negative; 0 without one).
    pub refunded: i64,
    pub product: Option<&'a str>,
    pub category: Option<&'a str>,
    pub quantity: u32,
    /// The amount was read with a comma before exactly three digits as a thousands separator
    /// (`1,234` → 1234): see [`crate::ambiguous_thousands`].
    pub ambiguous: bool,
}

/// A partial refund row: a refund status and a negative amount.
pub(crate) struct RefundRow<'a> {
    pub order_id: Option<&'a str>,
    pub customer: &'a str,
    pub at: Instant,
    /// How much it lowers the order by (> 0).
    pub minor: i64,
    pub status: OrderStatus,
}

/// What one row of an orders file is.
pub(crate) enum Kind<'a> {
    Sale(Parsed<'a>),
    Refund(RefundRow<'a>),
    /// A status that is not a sale, and not a partial refund: counts for nothing (read leniently
    /// with [`OrderPlan::other_row`]).
    Other(OrderStatus),
}

#[inline]
fn cell<'a>(f: &'a [Cow<'a, str>], i: Option<usize>) -> Option<&'a str> {
    i.and_then(|i| f.get(i)).map(|s| trim(s)).filter(|s| !s.is_empty())
}

/// `str::trim`, answering at once for the usual cell that starts and ends with a visible ASCII
/// character.
#[inline]
pub(crate) fn trim(s: &str) -> &str {
    match s.as_bytes() {
        [a, .., b] if a.is_ascii_graphic() && b.is_ascii_graphic() => s,
        [a] if a.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// Days from 1970-01-01 to a valid proleptic Gregorian date (`None` for an impossible one).
#[inline]
fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let dim = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d == 0 || d > dim {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The last status cell read as counted, so the usual file (one status word for most rows) is
/// classified with one comparison.
#[derive(Default)]
pub(crate) struct StatusMemo(Vec<u8>);

impl OrderPlan {
    pub fn new(src: &Source, opts: &ImportOptions, sample_whole_file: bool) -> Result<OrderPlan, ImportError> {
        let cols = order_columns(src, opts)?;
        let col = |f: Field| cols[FIELDS.iter().position(|x| x.0 == f).unwrap_or(0)];
        let di = col(Field::Date).unwrap_or(0);
        let date = plan_date(src, opts, di, sample_whole_file)?;
        let mut plan = OrderPlan {
            path: src.path.clone(),
            headers: src.header.clone(),
            ri: col(Field::Refunded),
            ci: col(Field::Customer).unwrap_or(0),
            di,
            ai: col(Field::Amount).unwrap_or(0),
            oi: col(Field::OrderId),
            si: col(Field::Status),
            cui: col(Field::Currency),
            pi: col(Field::Product),
            cai: col(Field::Category),
            qi: col(Field::Quantity),
            date,
            currency: Currency::USD,
            currency_assumed: true,
            digits: 2,
            cal: opts.calendar,
            utc: opts.calendar.tz == chrono_tz::Tz::UTC,
            dates: opts.dates,
            lo: opts.dates.instants(&opts.calendar).0,
            hi: opts.dates.instants(&opts.calendar).1,
        };
        let named = match opts.currency {
            Some(c) => Some(c),
            None => plan.sample_currency(src),
        };
        if let Some(c) = named {
            plan.currency = c;
            plan.currency_assumed = false;
        }
        plan.digits = plan.currency.minor_digits();
        Ok(plan)
    }

    /// The first currency named by a counted row of the first block.
    fn sample_currency(&self, src: &Source) -> Option<Currency> {
        let sample = src.sample();
        let text = decode_block(src.encoding, sample).ok()?;
        let mut recs = Records::new(&text, src.delimiter);
        let mut f = Vec::new();
        while let Some(r) = recs.next(&mut f) {
            r.ok()?;
            if cell(&f, self.si).is_some_and(|s| !OrderStatus::parse(s).is_counted()) {
                continue;
            }
            if let Some(cv) = cell(&f, self.cui) {
                if let Some(c) = crate::currency_of(cv) {
                    return Some(c);
                }
            }
            if let Some(av) = cell(&f, Some(self.ai)) {
                if !av.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b',' || b == b'-' || b == b' ') {
                    if let Some((_, Some(c))) = crate::parse_amount(av) {
                        return Some(c);
                    }
                }
            }
        }
        None
    }

    /// An amount of at most [`crate::MAX_AMOUNT_MINOR`] minor units (in absolute value), so no
    /// sum of a file's orders can overflow.
    #[inline]
    fn bounded(&self, line: u64, col: usize, v: &str, minor: i64) -> Result<i64, String> {
        if minor.unsigned_abs() > crate::MAX_AMOUNT_MINOR as u64 {
            let max = crate::MAX_AMOUNT_MINOR / 10i64.pow(self.digits);
            return Err(self.bad(line, col, v, &format!("is larger than any order Holdfast accepts (at most {max} {})", self.currency)));
        }
        Ok(minor)
    }

    fn bad(&self, line: u64, col: usize, v: &str, what: &str) -> String {
        format!("{}:{line}: column \"{}\": \"{}\" {what}", self.path, self.headers.get(col).map(String::as_str).unwrap_or(""), v)
    }

    /// The status of a row that is not a sale (checked before anything else); `None` for a sale.
    #[inline]
    pub fn excluded(&self, f: &[Cow<'_, str>]) -> Option<OrderStatus> {
        let st = OrderStatus::parse(cell(f, self.si)?);
        (!st.is_counted()).then_some(st)
    }

    /// Whether two instants fall on the same local date of the workspace zone.
    #[inline]
    pub fn same_day(&self, a: Instant, b: Instant) -> bool {
        if self.utc {
            a.div_euclid(86_400) == b.div_euclid(86_400)
        } else {
            self.cal.date(a) == self.cal.date(b)
        }
    }

    #[inline(always)]
    pub fn date(&self, v: &str) -> Option<Instant> {
        let b = v.as_bytes();
        // Fast path: YYYY-MM-DD[ HH:MM[:SS]].
        if (b.len() == 10 || b.len() == 16 || b.len() == 19) && b[4] == b'-' && b[7] == b'-' {
            #[inline(always)]
            fn two(b: &[u8], i: usize) -> Option<u32> {
                let (x, y) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
                (x < 10 && y < 10).then_some(x as u32 * 10 + y as u32)
            }
            let d2 = |i: usize| two(b, i);
            let y = d2(0)? * 100 + d2(2)?;
            let (m, d) = (d2(5)?, d2(8)?);
            let (mut hh, mut mm, mut ss) = (0, 0, 0);
            if b.len() >= 16 {
                if !(b[10] == b' ' || b[10] == b'T') || b[13] != b':' {
                    return crate::parse_date(v, self.date.slash, &self.cal);
                }
                hh = d2(11)?;
                mm = d2(14)?;
                if b.len() == 19 {
                    if b[16] != b':' {
                        return crate::parse_date(v, self.date.slash, &self.cal);
                    }
                    ss = d2(17)?;
                }
                if hh > 23 || mm > 59 || ss > 59 {
                    return None;
                }
            }
            let secs = (hh * 3600 + mm * 60 + ss) as i64;
            if self.utc {
                return Some(days_from_civil(y as i64, m, d)? * 86_400 + secs);
            }
            let date = chrono::NaiveDate::from_ymd_opt(y as i32, m, d)?;
            return Some(self.cal.local_to_instant(date.and_hms_opt(hh, mm, ss)?));
        }
        crate::parse_date(v, self.date.slash, &self.cal)
    }

    /// Plain amounts (`-1234.5`) without allocating; anything else goes to the general parser.
    #[inline]
    fn fast_amount(&self, v: &str) -> Option<i64> {
        let b = v.as_bytes();
        let (neg, b) = match b.first() {
            Some(b'-') => (true, &b[1..]),
            _ => (false, b),
        };
        if b.is_empty() || b.len() > 15 {
            return None;
        }
        let mut int: i64 = 0;
        let mut i = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            int = int * 10 + (b[i] - b'0') as i64;
            i += 1;
        }
        if i == 0 {
            return None;
        }
        let mut frac: i64 = 0;
        let mut nf = 0u32;
        if i < b.len() {
            if b[i] != b'.' || i + 1 == b.len() {
                return None;
            }
            i += 1;
            while i < b.len() {
                if !b[i].is_ascii_digit() {
                    return None;
                }
                frac = frac * 10 + (b[i] - b'0') as i64;
                nf += 1;
                i += 1;
            }
            if nf > self.digits {
                return None;
            }
        }
        let m = int * 10i64.pow(self.digits) + frac * 10i64.pow(self.digits - nf);
        Some(if neg { -m } else { m })
    }

    /// Reads one record: a sale, a partial refund or a row whose status is not a sale.
    pub fn parse<'a>(&self, f: &'a [Cow<'a, str>], line: u64, ev: &mut SlashEvidence) -> Result<Kind<'a>, String> {
        self.parse_memo(f, line, ev, &mut StatusMemo::default())
    }

    /// [`OrderPlan::parse`] remembering the last sale status word in `memo`.
    #[inline]
    pub(crate) fn parse_memo<'a>(&self, f: &'a [Cow<'a, str>], line: u64, ev: &mut SlashEvidence, memo: &mut StatusMemo) -> Result<Kind<'a>, String> {
        if f.len() != self.headers.len() {
            return Err(format!("{}:{line}: {} fields, but the header has {}", self.path, f.len(), self.headers.len()));
        }
        if let Some(st) = self.si.map(|i| f[i].as_bytes()) {
            if st != memo.0.as_slice() {
                if let Some(status) = self.excluded(f) {
                    return self.not_a_sale(f, line, ev, status);
                }
                memo.0.clear();
                memo.0.extend_from_slice(st);
            }
        }
        let customer = self.customer(f, line)?;
        let at = self.checked_date(f, line, ev)?;
        let av = trim(&f[self.ai]);
        let mut ambiguous = false;
        let minor = match self.fast_amount(av) {
            Some(m) => m,
            None => {
                ambiguous = crate::ambiguous_thousands(av);
                self.slow_amount(f, self.ai, av, line, false)?
            }
        };
        if minor < 0 {
            return Err(self.bad(line, self.ai, av, "is negative but the status is not a refund or cancellation"));
        }
        self.bounded(line, self.ai, av, minor)?;
        let quantity = match cell(f, self.qi) {
            None => 1,
            Some(q) => {
                let qi = self.qi.unwrap_or(0);
                match q.parse::<u32>() {
                    Ok(n) => n,
                    Err(_) => {
                        let d =
                            crate::parse_amount(q).filter(|(d, c)| c.is_none() && d.value >= 0).ok_or_else(|| self.bad(line, qi, q, "is not a quantity"))?.0;
                        let p = 10i128.pow(d.scale);
                        if d.value % p != 0 || d.value / p > u32::MAX as i128 {
                            return Err(self.bad(line, qi, q, "is not a whole quantity"));
                        }
                        (d.value / p) as u32
                    }
                }
            }
        };
        let refunded = match (self.ri, cell(f, self.ri)) {
            (Some(ri), Some(rv)) => self.bounded(
                line,
                ri,
                rv,
                match self.fast_amount(rv) {
                    Some(m) => m,
                    None => self.slow_amount(f, ri, rv, line, true)?,
                }
                .saturating_abs(),
            )?,
            _ => 0,
        };
        self.check_currency_cell(f, line)?;
        Ok(Kind::Sale(Parsed {
            customer,
            order_id: cell(f, self.oi),
            at,
            minor,
            refunded,
            product: cell(f, self.pi),
            category: cell(f, self.cai),
            quantity,
            ambiguous,
        }))
    }

    #[inline(always)]
    fn customer<'a>(&self, f: &'a [Cow<'a, str>], line: u64) -> Result<&'a str, String> {
        cell(f, Some(self.ci)).ok_or_else(|| format!("{}:{line}: column \"{}\": the customer is empty", self.path, self.headers[self.ci]))
    }

    #[inline(always)]
    fn checked_date(&self, f: &[Cow<'_, str>], line: u64, ev: &mut SlashEvidence) -> Result<Instant, String> {
        let dv = trim(&f[self.di]);
        ev.see(dv, line);
        let at = self.date(dv).ok_or_else(|| self.bad(line, self.di, dv, &format!("is not a date (expected {})", self.date.expected)))?;
        if at < self.lo || at >= self.hi {
            return Err(self.bad(line, self.di, dv, &self.dates.expected()));
        }
        Ok(at)
    }

    /// A row whose status is not a sale: a partial refund when the status is a refund and the
    /// amount is negative (then checked like a sale), else a row that counts for nothing.
    #[cold]
    fn not_a_sale<'a>(&self, f: &'a [Cow<'a, str>], line: u64, ev: &mut SlashEvidence, status: OrderStatus) -> Result<Kind<'a>, String> {
        let av = trim(&f[self.ai]);
        let negative = status.is_refund() && crate::parse_amount(av).is_some_and(|(d, _)| d.value < 0);
        if !negative {
            return Ok(Kind::Other(status));
        }
        let customer = self.customer(f, line)?;
        let at = self.checked_date(f, line, ev)?;
        let minor = self.slow_amount(f, self.ai, av, line, true)?;
        self.bounded(line, self.ai, av, minor.saturating_abs())?;
        self.check_currency_cell(f, line)?;
        Ok(Kind::Refund(RefundRow { order_id: cell(f, self.oi), customer, at, minor: minor.saturating_neg(), status }))
    }

    /// An amount with currency checks, in minor units of the file's currency; negative values
    /// are an error unless `negative_ok`. `col` names the column in messages.
    fn slow_amount(&self, f: &[Cow<'_, str>], col: usize, av: &str, line: u64, negative_ok: bool) -> Result<i64, String> {
        let (amount, mut cur) = crate::parse_amount(av).ok_or_else(|| self.bad(line, col, av, "is not an amount (expected e.g. 1234.56 or 1 234,56)"))?;
        if let Some(cv) = cell(f, self.cui) {
            let c = crate::currency_of(cv).ok_or_else(|| self.bad(line, self.cui.unwrap_or(0), cv, "is not a currency (expected e.g. RUB, EUR, USD)"))?;
            if let Some(prev) = cur {
                if prev != c {
                    return Err(self.bad(line, col, av, &format!("is in {prev} but the currency column says {c}")));
                }
            }
            cur = Some(c);
        }
        if let Some(c) = cur {
            if c != self.currency {
                return Err(self.bad(line, col, av, &format!("is in {c} but the file is in {}", self.currency)));
            }
        }
        if amount.value < 0 && !negative_ok {
            return Err(self.bad(line, col, av, "is negative but the status is not a refund or cancellation"));
        }
        crate::to_minor(amount, self.digits).ok_or_else(|| {
            format!("{}:{line}: column \"{}\": \"{av}\" has more than {} decimals for {}", self.path, self.headers[col], self.digits, self.currency)
        })
    }

    /// The currency cell must be valid and agree even when the amount took the fast path.
    #[inline]
    pub fn check_currency_cell(&self, f: &[Cow<'_, str>], line: u64) -> Result<(), String> {
        if let Some(cv) = cell(f, self.cui) {
            let c = crate::currency_of(cv).ok_or_else(|| self.bad(line, self.cui.unwrap_or(0), cv, "is not a currency (expected e.g. RUB, EUR, USD)"))?;
            if c != self.currency {
                let av = f[self.ai].trim();
                return Err(self.bad(line, self.ai, av, &format!("is in {c} but the file is in {}", self.currency)));
            }
        }
        Ok(())
    }

    /// The order id, customer and time of a row whose status is not a sale, when
    /// [`OrderPlan::other_row`] would read it (customer and date readable).
    #[inline]
    pub(crate) fn other_key<'a>(&self, f: &'a [Cow<'a, str>]) -> Option<(Option<&'a str>, &'a str, Instant)> {
        let customer = cell(f, Some(self.ci))?;
        let at = self.date(f.get(self.di)?.trim()).filter(|t| (self.lo..self.hi).contains(t))?;
        Some((cell(f, self.oi), customer, at))
    }

    /// A row whose status is not a sale (and not a partial refund) as an [`OrderRow`], leniently:
    /// `None` without a customer or a date, amounts 0 when they cannot be read.
    pub(crate) fn other_row(&self, f: &[Cow<'_, str>], line: u64, status: OrderStatus) -> Option<OrderRow> {
        let (_, customer, at) = self.other_key(f)?;
        let lenient = |i: Option<usize>| cell(f, i).and_then(crate::parse_amount).and_then(|(d, _)| crate::to_minor(d, self.digits)).unwrap_or(0);
        Some(OrderRow {
            line,
            order_id: cell(f, self.oi).map(str::to_string),
            customer_id: customer.to_string(),
            ordered_at: at,
            amount_minor: lenient(Some(self.ai)),
            refunded_minor: lenient(self.ri).saturating_abs(),
            currency: self.currency,
            status,
            product: cell(f, self.pi).map(str::to_string),
            category: cell(f, self.cai).map(str::to_string),
            quantity: cell(f, self.qi).and_then(|q| q.parse().ok()).unwrap_or(1),
        })
    }
}

/// Whether a byte is a control character no text value may hold: NUL and the other C0 controls
/// but tab, line feed and carriage return (those end fields or lines, or sit in quoted text), and
/// DEL.
#[inline]
pub(crate) fn is_bad_control(b: u8) -> bool {
    (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7F
}

/// Whether a block holds any byte [`is_bad_control`] refuses (most blocks do not: their rows need
/// no further look).
pub(crate) fn has_bad_controls(raw: &[u8]) -> bool {
    memchr::memchr(0, raw).is_some() || raw.iter().any(|&b| is_bad_control(b))
}

/// A field holding a NUL byte or another control character: no text value may hold one
/// (PostgreSQL refuses NUL, SQLite would keep it and other tools cut the value there; escape
/// sequences would repaint a terminal that prints the id), so the row is bad, named with its line
/// and column whatever the backend.
pub(crate) fn text_error(path: &str, headers: &[String], f: &[Cow<'_, str>], line: u64) -> Option<String> {
    let k = f.iter().position(|c| c.bytes().any(is_bad_control))?;
    let bad = f[k].bytes().find(|&b| is_bad_control(b)).unwrap_or(0);
    let shown: String =
        f[k].chars().take(60).map(|c| if (c as u32) < 0x80 && is_bad_control(c as u8) { format!("\\x{:02X}", c as u32) } else { c.to_string() }).collect();
    let what = if bad == 0 { "a NUL byte (\\0)".to_string() } else { format!("a control character (\\x{bad:02X})") };
    Some(format!("{path}:{line}: column \"{}\": \"{shown}\" holds {what}, which no text value may hold", headers.get(k).map(String::as_str).unwrap_or("")))
}

/// Amounts read with a comma before exactly three digits as a thousands separator.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ambiguous {
    pub count: usize,
    /// The first: its line and value.
    pub first: Option<(u64, String)>,
}

impl Ambiguous {
    pub fn see(&mut self, line: u64, v: &str) {
        self.count += 1;
        if self.first.as_ref().is_none_or(|f| line < f.0) {
            self.first = Some((line, v.trim().to_string()));
        }
    }

    pub fn merge(&mut self, o: &Ambiguous) {
        self.count += o.count;
        if let Some((line, v)) = &o.first {
            if self.first.as_ref().is_none_or(|f| *line < f.0) {
                self.first = Some((*line, v.clone()));
            }
        }
    }

    /// The warning to show, when an amount was read so.
    pub fn warning(&self, plan: &OrderPlan) -> Option<String> {
        let (line, v) = self.first.as_ref()?;
        let read = crate::parse_amount(v).map(|(d, _)| d.value.to_string()).unwrap_or_default();
        let others = match self.count {
            1 => String::new(),
            n => format!(" (and {} more amounts like it)", n - 1),
        };
        Some(format!(
            "{}:{line}: column \"{}\": \"{v}\" was read as {read}{others}: a comma before exactly three digits is taken as a thousands separator; if the file's comma is a decimal mark, these amounts are wrong",
            plan.path, plan.headers[plan.ai]
        ))
    }
}

/// Row errors collected while reading: the first [`MAX_LISTED`] messages and the count.
#[derive(Clone, Debug, Default)]
pub(crate) struct Problems {
    pub listed: Vec<String>,
    pub count: usize,
}

impl Problems {
    pub fn push(&mut self, e: String) {
        self.count += 1;
        if self.listed.len() < MAX_LISTED {
            self.listed.push(e);
        }
    }
}

/// What a streaming reader has read so far.
#[derive(Clone, Debug, Default)]
pub struct ReadSummary {
    /// Data rows (blank rows not counted).
    pub rows: usize,
    /// Rows whose status is not a sale (partial refunds aside).
    pub excluded_by_status: usize,
    /// Partial refund rows (a refund status and a negative amount).
    pub refund_rows: usize,
    pub skipped: usize,
    /// The first [`MAX_LISTED`] reasons rows were skipped.
    pub skip_reasons: Vec<String>,
    pub encoding: &'static str,
    pub delimiter: u8,
    /// `(field, header)` for every field found in the file.
    pub columns: Vec<(String, String)>,
    /// What was read but may not be what the file meant (e.g. `1,234` read as 1234), one
    /// sentence each, for the front end to show.
    pub warnings: Vec<String>,
}

/// The orders of a file as batches of [`OrderRow`], one block (about 8 MB) at a time.
///
/// All-or-nothing: when a row is bad (and `skip_bad_rows` is off) the reader reads on to collect
/// up to [`MAX_LISTED`] errors and the count, then returns them as one error; file-level checks
/// (slash dates in both orders, mixed encodings) are made at the end. A caller that stores rows
/// as they come must discard them unless every call returned `Ok` up to `Ok(None)`.
pub struct OrderRows {
    src: Source,
    plan: OrderPlan,
    skip: bool,
    line_base: u64,
    summary: ReadSummary,
    errors: Problems,
    skipped: Problems,
    evidence: SlashEvidence,
    utf8_line: Option<u64>,
    /// Amounts read with a comma as a thousands separator: how many, and the first.
    ambiguous: Ambiguous,
    done: bool,
}

impl OrderRows {
    pub fn open(path: &Path, opts: &ImportOptions) -> Result<OrderRows, ImportError> {
        Self::from_origin(path.display().to_string(), Origin::Path(path.to_path_buf()), opts)
    }

    /// Reads from bytes in memory; `name` is used in messages.
    pub fn from_bytes(name: &str, bytes: Vec<u8>, opts: &ImportOptions) -> Result<OrderRows, ImportError> {
        Self::from_origin(name.to_string(), Origin::Bytes(Arc::new(bytes)), opts)
    }

    fn from_origin(path: String, origin: Origin, opts: &ImportOptions) -> Result<OrderRows, ImportError> {
        // --map is checked first: it is a usage error.
        crate::rows::check_map_fields(opts)?;
        let src = Source::open(path, origin, opts, BLOCK)?;
        let whole = src.is_whole();
        let plan = OrderPlan::new(&src, opts, whole)?;
        let columns = column_names(&plan);
        let summary = ReadSummary { encoding: src.encoding_name(), delimiter: src.delimiter, columns, ..Default::default() };
        let line_base = src.header_lines;
        Ok(OrderRows {
            src,
            plan,
            skip: opts.skip_bad_rows,
            line_base,
            summary,
            errors: Problems::default(),
            skipped: Problems::default(),
            evidence: SlashEvidence::default(),
            utf8_line: None,
            ambiguous: Ambiguous::default(),
            done: false,
        })
    }

    pub(crate) fn plan(&self) -> &OrderPlan {
        &self.plan
    }

    /// The file's currency (from `--currency`, the first block, or USD when nothing names one).
    pub fn currency(&self) -> Currency {
        self.plan.currency
    }

    /// True when neither the options nor the first block named a currency.
    pub fn currency_assumed(&self) -> bool {
        self.plan.currency_assumed
    }

    /// Bytes read so far and the file size.
    pub fn progress(&self) -> (u64, u64) {
        (self.src.done, self.src.total)
    }

    pub fn summary(&self) -> ReadSummary {
        let mut s = self.summary.clone();
        s.skipped = self.skipped.count;
        s.skip_reasons = self.skipped.listed.clone();
        s.warnings.extend(self.ambiguous.warning(&self.plan));
        s
    }

    /// The next batch of rows; `Ok(None)` at the end of a file read without errors.
    pub fn next_batch(&mut self) -> Result<Option<Vec<OrderRow>>, ImportError> {
        loop {
            if self.done {
                return Ok(None);
            }
            let Some(block) = self.src.next_block()? else {
                self.done = true;
                return self.finish().map(|_| None);
            };
            let rows = self.read_block(block)?;
            if self.errors.count == 0 && !rows.is_empty() {
                return Ok(Some(rows));
            }
        }
    }

    fn finish(&mut self) -> Result<(), ImportError> {
        if self.evidence.is_mixed() {
            self.evidence.decide(&self.plan.path, &self.plan.headers[self.plan.di])?;
        }
        if self.errors.count > 0 {
            return Err(ImportError::Rows { errors: std::mem::take(&mut self.errors.listed), total: self.errors.count });
        }
        if self.summary.rows == 0 {
            return Err(ImportError::NoRows { path: self.plan.path.clone() });
        }
        Ok(())
    }

    fn read_block(&mut self, block: Block) -> Result<Vec<OrderRow>, ImportError> {
        let base = self.line_base;
        let text = match decode_block(self.src.encoding, &block.raw) {
            Ok(t) => t,
            Err(_) => {
                let (good, bad) = utf8_facts(&block.raw);
                let other = base + bad.unwrap_or(0) + 1;
                let utf8 = self.utf8_line.or(good.map(|g| base + g + 1));
                return Err(match utf8 {
                    Some(u) => ImportError::MixedEncoding { path: self.plan.path.clone(), utf8_line: u, other_line: other },
                    None => ImportError::Csv {
                        path: self.plan.path.clone(),
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
        let has_nul = has_bad_controls(&block.raw);
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
                    return Err(e.into_error(&self.plan.path, base));
                }
            };
            if f.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let line = base + rel + 1;
            self.summary.rows += 1;
            let parsed = match if has_nul { text_error(&self.plan.path, &self.plan.headers, &f, line) } else { None } {
                Some(e) => Err(e),
                None => self.plan.parse(&f, line, &mut self.evidence),
            };
            match parsed {
                Ok(Kind::Sale(p)) => {
                    if p.ambiguous {
                        self.ambiguous.see(line, &f[self.plan.ai]);
                    }
                    if self.errors.count == 0 {
                        out.push(OrderRow {
                            line,
                            order_id: p.order_id.map(str::to_string),
                            customer_id: p.customer.to_string(),
                            ordered_at: p.at,
                            amount_minor: p.minor,
                            refunded_minor: p.refunded,
                            currency: self.plan.currency,
                            status: OrderStatus::Completed,
                            product: p.product.map(str::to_string),
                            category: p.category.map(str::to_string),
                            quantity: p.quantity,
                        });
                    }
                }
                Ok(Kind::Refund(r)) => {
                    self.summary.refund_rows += 1;
                    if self.errors.count == 0 {
                        out.push(OrderRow {
                            line,
                            order_id: r.order_id.map(str::to_string),
                            customer_id: r.customer.to_string(),
                            ordered_at: r.at,
                            amount_minor: -r.minor,
                            refunded_minor: 0,
                            currency: self.plan.currency,
                            status: r.status,
                            product: cell(&f, self.plan.pi).map(str::to_string),
                            category: cell(&f, self.plan.cai).map(str::to_string),
                            quantity: cell(&f, self.plan.qi).and_then(|q| q.parse().ok()).unwrap_or(1),
                        });
                    }
                }
                Ok(Kind::Other(st)) => {
                    self.summary.excluded_by_status += 1;
                    if let Some(row) = self.plan.other_row(&f, line, st) {
                        out.push(row);
                    }
                }
                Err(e) => {
                    if self.skip {
                        self.skipped.push(e);
                    } else {
                        self.errors.push(e);
                    }
                }
            }
        }
        self.line_base = base + recs.line;
        Ok(out)
    }
}

impl Iterator for OrderRows {
    type Item = Result<Vec<OrderRow>, ImportError>;
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

/// `(field, header)` of the columns an orders plan reads.
pub(crate) fn column_names(plan: &OrderPlan) -> Vec<(String, String)> {
    let h = |i: usize| plan.headers.get(i).cloned().unwrap_or_default();
    let mut v = vec![("customer".to_string(), h(plan.ci)), ("date".to_string(), h(plan.di)), ("amount".to_string(), h(plan.ai))];
    for (name, c) in [
        ("order_id", plan.oi),
        ("status", plan.si),
        ("currency", plan.cui),
        ("product", plan.pi),
        ("category", plan.cai),
        ("quantity", plan.qi),
        ("refunded_amount", plan.ri),
    ] {
        if let Some(c) = c {
            v.push((name.to_string(), h(c)));
        }
    }
    v
}

/// Unknown `--map` fields are reported before the file is opened.
pub(crate) fn check_map_fields(opts: &ImportOptions) -> Result<(), ImportError> {
    for (f, _) in &opts.column_map {
        let key = f.trim().to_lowercase();
        if !FIELDS.iter().any(|(_, n, _)| *n == key) {
            let valid = FIELDS.iter().map(|(_, n, _)| *n).collect::<Vec<_>>().join(", ");
            return Err(ImportError::UnknownField { field: f.clone(), valid });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_from_civil_agrees_with_chrono_and_refuses_impossible_dates() {
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
        let mut d = chrono::NaiveDate::from_ymd_opt(1896, 1, 1).expect("start");
        let end = chrono::NaiveDate::from_ymd_opt(2104, 12, 31).expect("end");
        while d <= end {
            use chrono::Datelike;
            assert_eq!(days_from_civil(d.year() as i64, d.month(), d.day()), Some(d.signed_duration_since(epoch).num_days()), "{d}");
            d = d.succ_opt().expect("next day");
        }
        for (y, m, day) in [(2023, 2, 29), (1900, 2, 29), (2024, 4, 31), (2024, 13, 1), (2024, 0, 1), (2024, 1, 0)] {
            assert_eq!(days_from_civil(y, m, day), None, "{y}-{m}-{day}");
        }
        assert_eq!(days_from_civil(2000, 2, 29), Some(11_016));
    }

    #[test]
    fn trim_is_str_trim() {
        for s in ["", " ", "a", " a", "a ", "\u{a0}a\u{a0}", "ab", "a b", "\tx\t", "é", " é "] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
    }
}
