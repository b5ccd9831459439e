//! Whole orders from the rows of a file: the rules of `METRICS.md` that join rows into orders,
//! shared by the columnar file path ([`crate::read_orders`]) and the store path
//! ([`crate::read_order_records`]), so a file and a store always count the same orders.
//!
//! Both paths describe what they read as *pieces* (a row, or on the file path a run of adjacent
//! rows already known to be lines of one order) and ask [`resolve`] what to do with those that
//! share an order id:
//!
//! - Pieces with the same order id, the same customer and the same local date (in the workspace
//!   zone) are lines of one order, wherever they are in the file; the first piece (by line) leads.
//!   A later piece with another customer or another date is an error naming both lines and both
//!   values (with `--skip-bad-rows`: skipped and counted).
//! - The order's status is the first status among its rows that is not a sale (a cancelled line
//!   makes the whole order count for nothing), else it is a sale.
//! - A partial refund (refund status, negative amount) lowers the order with its id, wherever it is
//!   in the file; its customer must be the order's. One with no order id, or an id no order has, is
//!   an error naming its line.
//!
//! The caller then applies the amounts: an order's amount is the sum of its rows' amounts, less
//! their `refunded_amount` cells and its partial refunds; an order refunded to zero or below
//! counts for nothing (see [`net_amount`]).

use crate::rows::{OrderRow, OrderRows, ReadSummary};
use crate::{ImportError, ImportOptions, MAX_LISTED};
use holdfast_core::{cmp_order_ids, Calendar, Currency, Instant, OrderStatus};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHasher};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::Path;

/// A line of an [`AssembledOrder`]: a row of the file that names a product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssembledLine {
    pub product: String,
    pub category: Option<String>,
    /// 1 when the file has no quantity.
    pub quantity: u32,
    /// The row's amount less its `refunded_amount` cell, minor units.
    pub amount_minor: Option<i64>,
}

/// A whole order of a file by the rules of `METRICS.md`: what the store keeps. The orders with
/// status [`OrderStatus::Completed`] are exactly the orders [`crate::read_orders`] counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssembledOrder {
    /// The line of the order's first row.
    pub line: u64,
    /// The file's order id; for a row without one `~customer|at|amount` (`at` in Unix seconds,
    /// `amount` the row's amount in minor units) and `#k` for the k-th row with the same content,
    /// so that importing the same file again finds the same orders.
    pub external_id: String,
    pub customer_id: String,
    /// The earliest time among the order's sale rows (among all its rows when it has none).
    pub ordered_at: Instant,
    /// Sum of the rows' amounts less their `refunded_amount` cells and the order's partial
    /// refunds, minor units; never below 0.
    pub amount_minor: i64,
    pub currency: Currency,
    /// [`OrderStatus::Completed`] for a sale (it counts); the first status among the order's rows
    /// that is not a sale; or [`OrderStatus::Refunded`] for a sale refunded to zero or below.
    pub status: OrderStatus,
    /// The rows that name a product, in file order.
    pub lines: Vec<AssembledLine>,
}

/// The whole orders of a file ([`read_order_records`]).
#[derive(Clone, Debug)]
pub struct AssembledOrders {
    /// By `ordered_at`, then customer id, then order id ([`cmp_order_ids`]): orders of one
    /// customer at one instant are in order-id order, whatever the file's row order.
    pub orders: Vec<AssembledOrder>,
    pub currency: Currency,
    /// True when neither the file nor the options named a currency (USD assumed).
    pub currency_assumed: bool,
    /// Rows read, rows excluded by status, partial refunds, skipped rows and why, encoding,
    /// delimiter, columns.
    pub summary: ReadSummary,
}

impl AssembledOrders {
    /// The orders that count (status [`OrderStatus::Completed`]).
    pub fn counted(&self) -> impl Iterator<Item = &AssembledOrder> {
        self.orders.iter().filter(|o| o.status.is_counted())
    }
}

/// Reads an orders file into whole orders, by the same rules as [`crate::read_orders`] (see
/// `METRICS.md` and the crate docs): rows sharing an order id, customer and local date are one
/// order; a repeated id with another customer or date is an error naming both lines (skipped
/// with `skip_bad_rows`); partial refunds lower their order; refunded orders are kept with status
/// [`OrderStatus::Refunded`]. For the store: every order is returned, counted or not. Holds the
/// whole file's rows in memory. `progress(done, total)` gets bytes read.
pub fn read_order_records(path: &Path, opts: &ImportOptions, progress: &dyn Fn(u64, u64)) -> Result<AssembledOrders, ImportError> {
    assemble_rows(OrderRows::open(path, opts)?, opts, progress)
}

/// As [`read_order_records`], from bytes in memory; `name` is used in messages.
pub fn read_order_records_bytes(name: &str, bytes: &[u8], opts: &ImportOptions, progress: &dyn Fn(u64, u64)) -> Result<AssembledOrders, ImportError> {
    assemble_rows(OrderRows::from_bytes(name, bytes.to_vec(), opts)?, opts, progress)
}

/// `~` + the content key + `#k` for the k-th row with the same content: stable across re-imports.
pub(crate) fn derived_id(seen: &mut HashMap<String, u32>, key: &str) -> String {
    let k = seen.entry(key.to_owned()).or_insert(0);
    *k += 1;
    if *k == 1 {
        format!("~{key}")
    } else {
        format!("~{key}#{k}")
    }
}

struct RowPieces<'a>(&'a [OrderRow]);

fn row_kind(r: &OrderRow) -> PieceKind {
    match r.status {
        OrderStatus::Completed => PieceKind::Sale,
        st if st.is_refund() && r.amount_minor < 0 => PieceKind::Refund(r.amount_minor.saturating_neg()),
        st => PieceKind::Other(st),
    }
}

impl Pieces for RowPieces<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn line(&self, i: usize) -> u64 {
        self.0[i].line
    }
    fn extra_lines(&self, _: usize) -> &[u64] {
        &[]
    }
    fn id(&self, i: usize) -> IdRef<'_> {
        IdRef::of(self.0[i].order_id.as_deref())
    }
    fn customer(&self, i: usize) -> &str {
        &self.0[i].customer_id
    }
    fn at(&self, i: usize) -> Instant {
        self.0[i].ordered_at
    }
    fn kind(&self, i: usize) -> PieceKind {
        row_kind(&self.0[i])
    }
}

fn assemble_rows(mut reader: OrderRows, opts: &ImportOptions, progress: &dyn Fn(u64, u64)) -> Result<AssembledOrders, ImportError> {
    let mut rows: Vec<OrderRow> = Vec::new();
    while let Some(batch) = reader.next_batch()? {
        rows.extend(batch);
        let (done, total) = reader.progress();
        progress(done, total);
    }
    let mut summary = reader.summary();
    let plan = reader.plan();
    let pieces = RowPieces(&rows);
    let all: Vec<u32> = (0..rows.len() as u32).collect();
    let idless_refunds: Vec<u32> = all.iter().copied().filter(|&i| rows[i as usize].order_id.is_none() && matches!(row_kind(&rows[i as usize]), PieceKind::Refund(_))).collect();
    let groups = groups_of(&pieces, &all);
    let ctx = Ctx { path: &plan.path, cal: plan.cal, digits: plan.digits };
    let res = resolve(&ctx, &pieces, &groups, &idless_refunds);
    if res.bad_rows > 0 {
        if !opts.skip_bad_rows {
            return Err(ImportError::Rows { errors: res.errors.iter().take(MAX_LISTED).map(|e| e.1.clone()).collect(), total: res.bad_rows });
        }
        summary.skipped += res.bad_rows;
        for (_, e) in &res.errors {
            if summary.skip_reasons.len() < MAX_LISTED {
                summary.skip_reasons.push(e.clone());
            }
        }
    }
    let mut members: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    for (&i, &t) in &res.target {
        if t != SKIP && t != i {
            members.entry(t).or_default().push(i);
        }
    }
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut orders = Vec::new();
    let none: Vec<u32> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if res.leader_of(i) != i as u32 || matches!(row_kind(r), PieceKind::Refund(_)) {
            continue;
        }
        let (mut status, refund) = res.order_of(i as u32);
        if let (OrderStatus::Completed, PieceKind::Other(st)) = (status, row_kind(r)) {
            // A row alone in its order (resolve only looks at shared ids).
            status = st;
        }
        let mut mem: Vec<u32> = std::iter::once(i as u32).chain(members.get(&(i as u32)).unwrap_or(&none).iter().copied()).collect();
        mem.sort_unstable();
        mem.retain(|&j| !matches!(row_kind(&rows[j as usize]), PieceKind::Refund(_)));
        let any_sale = mem.iter().any(|&j| rows[j as usize].status == OrderStatus::Completed);
        let ordered_at = mem
            .iter()
            .map(|&j| &rows[j as usize])
            .filter(|x| !any_sale || x.status == OrderStatus::Completed)
            .map(|x| x.ordered_at)
            .min()
            .unwrap_or(r.ordered_at);
        let gross: i64 = mem.iter().fold(0i64, |a, &j| a.saturating_add(rows[j as usize].amount_minor));
        let refunded: i64 = mem.iter().fold(refund, |a, &j| a.saturating_add(rows[j as usize].refunded_minor));
        let (net, status) = net_amount(status, gross, refunded);
        let external_id = match &r.order_id {
            Some(id) => id.clone(),
            None => derived_id(&mut seen, &format!("{}|{}|{}", r.customer_id, r.ordered_at, r.amount_minor)),
        };
        let lines = mem
            .iter()
            .map(|&j| &rows[j as usize])
            .filter_map(|x| {
                let product = x.product.clone()?;
                Some(AssembledLine { product, category: x.category.clone(), quantity: x.quantity, amount_minor: Some(x.amount_minor.saturating_sub(x.refunded_minor)) })
            })
            .collect();
        orders.push(AssembledOrder {
            line: r.line,
            external_id,
            customer_id: r.customer_id.clone(),
            ordered_at,
            amount_minor: net.max(0),
            currency: r.currency,
            status,
            lines,
        });
    }
    crate::check_total(&plan.path, orders.iter().filter(|o| o.status.is_counted()).map(|o| o.amount_minor))?;
    orders.sort_by(|a, b| a.ordered_at.cmp(&b.ordered_at).then_with(|| a.customer_id.cmp(&b.customer_id)).then_with(|| cmp_order_ids(&a.external_id, &b.external_id)));
    Ok(AssembledOrders { orders, currency: reader.currency(), currency_assumed: reader.currency_assumed(), summary })
}

/// A piece that is skipped (a `--skip-bad-rows` casualty).
pub(crate) const SKIP: u32 = u32::MAX;

/// An order id as the pieces hold it: canonical whole numbers (digits, no leading zero, at most
/// 18 digits) as numbers, anything else as text, so `Num` and `Text` never name the same id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdRef<'a> {
    None,
    Num(u64),
    Text(&'a str),
}

impl<'a> IdRef<'a> {
    pub fn of(id: Option<&'a str>) -> IdRef<'a> {
        match id {
            None => IdRef::None,
            Some(s) => match canonical_num(s) {
                Some(n) => IdRef::Num(n),
                None => IdRef::Text(s),
            },
        }
    }

    fn key(self) -> u64 {
        let mut h = FxHasher::default();
        match self {
            IdRef::None => 0u8.hash(&mut h),
            IdRef::Num(n) => n.hash(&mut h),
            IdRef::Text(s) => s.hash(&mut h),
        }
        h.finish()
    }
}

impl std::fmt::Display for IdRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdRef::None => Ok(()),
            IdRef::Num(n) => write!(f, "{n}"),
            IdRef::Text(s) => f.write_str(s),
        }
    }
}

/// The number an id spells when it is a canonical whole number (see [`IdRef`]).
#[inline]
pub(crate) fn canonical_num(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 18 || (b[0] == b'0' && b.len() > 1) {
        return None;
    }
    let mut n: u64 = 0;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + d as u64;
    }
    Some(n)
}

/// What a piece is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PieceKind {
    /// Rows with a sale status.
    Sale,
    /// A row whose status is not a sale (and that is not a partial refund).
    Other(OrderStatus),
    /// A partial refund lowering its order by this much (> 0).
    Refund(i64),
}

/// The pieces of a file in some order; `line` orders them as the file does.
pub(crate) trait Pieces: Sync {
    fn len(&self) -> usize;
    /// First line.
    fn line(&self, i: usize) -> u64;
    /// Lines of the further rows a piece holds (adjacent rows of one order).
    fn extra_lines(&self, i: usize) -> &[u64];
    fn id(&self, i: usize) -> IdRef<'_>;
    fn customer(&self, i: usize) -> &str;
    fn at(&self, i: usize) -> Instant;
    fn kind(&self, i: usize) -> PieceKind;
}

/// What [`resolve`] decided.
#[derive(Debug, Default)]
pub(crate) struct Resolution {
    /// Pieces that join the order led by another piece, or are skipped ([`SKIP`]); a piece not
    /// here stands alone or leads its order.
    pub target: FxHashMap<u32, u32>,
    /// What applies to the order a piece leads, when anything does.
    pub leaders: FxHashMap<u32, Leader>,
    /// `(line, message)`, by line.
    pub errors: Vec<(u64, String)>,
    /// Rows of the pieces in error (skipped with `--skip-bad-rows`).
    pub bad_rows: usize,
}

impl Resolution {
    /// The piece that leads the order of piece `i` ([`SKIP`] when it is skipped).
    pub fn leader_of(&self, i: usize) -> u32 {
        self.target.get(&(i as u32)).copied().unwrap_or(i as u32)
    }

    /// The status of the order led by `leader` and the partial refunds it gets.
    pub fn order_of(&self, leader: u32) -> (OrderStatus, i64) {
        self.leaders.get(&leader).map(|l| (l.status, l.refund)).unwrap_or((OrderStatus::Completed, 0))
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Leader {
    /// The first status among the order's rows that is not a sale, else `Completed`.
    pub status: OrderStatus,
    /// Sum of the partial refunds of the order.
    pub refund: i64,
}

/// What [`resolve`] needs to word its messages.
pub(crate) struct Ctx<'a> {
    pub path: &'a str,
    pub cal: Calendar,
    /// Decimals of the file's currency.
    pub digits: u32,
}

/// Groups of pieces naming the same order id that need a decision (more than one piece, or a
/// partial refund), each by line; `candidates` are the pieces to look at (pieces without an id
/// are left out).
pub(crate) fn groups_of(p: &impl Pieces, candidates: &[u32]) -> Vec<Vec<u32>> {
    let mut keyed: Vec<(u64, u32)> = candidates.par_iter().filter_map(|&i| {
        let id = p.id(i as usize);
        (id != IdRef::None).then(|| (id.key(), i))
    }).collect();
    keyed.par_sort_unstable();
    let mut out = Vec::new();
    let mut k = 0;
    while k < keyed.len() {
        let mut e = k + 1;
        while e < keyed.len() && keyed[e].0 == keyed[k].0 {
            e += 1;
        }
        let run = &keyed[k..e];
        if run.len() > 1 || matches!(p.kind(run[0].1 as usize), PieceKind::Refund(_)) {
            // Equal keys: split by the id itself (hash collisions are possible, if unlikely).
            let mut rest: Vec<u32> = run.iter().map(|x| x.1).collect();
            while !rest.is_empty() {
                let id = p.id(rest[0] as usize);
                let (mut same, other): (Vec<u32>, Vec<u32>) = rest.iter().partition(|&&i| p.id(i as usize) == id);
                if same.len() > 1 || matches!(p.kind(same[0] as usize), PieceKind::Refund(_)) {
                    same.sort_by_key(|&i| (p.line(i as usize), i));
                    out.push(same);
                }
                rest = other;
            }
        }
        k = e;
    }
    out
}

fn money(minor: i64, digits: u32) -> String {
    if digits == 0 {
        return minor.to_string();
    }
    let p = 10i64.pow(digits);
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:0w$}", m / p as u64, m % p as u64, w = digits as usize)
}

/// Decides the groups (see the module docs). `idless_refunds`: partial refunds without an order id.
pub(crate) fn resolve(ctx: &Ctx<'_>, p: &impl Pieces, groups: &[Vec<u32>], idless_refunds: &[u32]) -> Resolution {
    let mut r = Resolution::default();
    let date = |i: u32| ctx.cal.date(p.at(i as usize));
    let rows_of = |i: u32| std::iter::once(p.line(i as usize)).chain(p.extra_lines(i as usize).iter().copied());
    for &i in idless_refunds {
        let PieceKind::Refund(minor) = p.kind(i as usize) else { continue };
        r.errors.push((
            p.line(i as usize),
            format!("{}:{}: a refund of {} names no order id — a partial refund lowers the order with the same order id", ctx.path, p.line(i as usize), money(minor, ctx.digits)),
        ));
        r.bad_rows += 1;
        r.target.insert(i, SKIP);
    }
    for g in groups {
        let mut leader: Option<u32> = None;
        let mut refunds: Vec<u32> = Vec::new();
        for &i in g {
            if let PieceKind::Refund(_) = p.kind(i as usize) {
                refunds.push(i);
                continue;
            }
            let Some(l) = leader else {
                leader = Some(i);
                continue;
            };
            let (c0, c1) = (p.customer(l as usize), p.customer(i as usize));
            let (d0, d1) = (date(l), date(i));
            if c0 == c1 && d0 == d1 {
                r.target.insert(i, l);
            } else {
                for line in rows_of(i) {
                    r.errors.push((
                        line,
                        format!(
                            "{}:{line}: order id \"{}\" was already used on line {} for customer {c0} on {d0}; here it is {c1} on {d1} — an order id must name one order",
                            ctx.path,
                            p.id(i as usize),
                            p.line(l as usize)
                        ),
                    ));
                    r.bad_rows += 1;
                }
                r.target.insert(i, SKIP);
            }
        }
        let mut status = OrderStatus::Completed;
        if let Some(l) = leader {
            for &i in g {
                if i == l || r.target.get(&i) == Some(&l) {
                    if let PieceKind::Other(st) = p.kind(i as usize) {
                        status = st;
                        break;
                    }
                }
            }
        }
        let mut refund = 0i64;
        for &i in &refunds {
            let PieceKind::Refund(minor) = p.kind(i as usize) else { continue };
            let line = p.line(i as usize);
            let why = match leader {
                None => Some(format!("{}:{line}: a refund of {} for order id \"{}\", but no order has this id", ctx.path, money(minor, ctx.digits), p.id(i as usize))),
                Some(l) if p.customer(l as usize) != p.customer(i as usize) => Some(format!(
                    "{}:{line}: a refund of {} for order id \"{}\" of customer {}, but that order (line {}) is customer {}'s — an order id must name one order",
                    ctx.path,
                    money(minor, ctx.digits),
                    p.id(i as usize),
                    p.customer(i as usize),
                    p.line(l as usize),
                    p.customer(l as usize)
                )),
                Some(l) => {
                    refund = refund.saturating_add(minor);
                    r.target.insert(i, l);
                    None
                }
            };
            if let Some(msg) = why {
                r.errors.push((line, msg));
                r.bad_rows += 1;
                r.target.insert(i, SKIP);
            }
        }
        if let Some(l) = leader {
            if status != OrderStatus::Completed || refund != 0 {
                r.leaders.insert(l, Leader { status, refund });
            }
        }
    }
    r.errors.sort_by_key(|e| e.0);
    r
}

/// The net amount of an order and whether it counts: `gross` (its rows' amounts) less `refunded`
/// (their `refunded_amount` cells and its partial refunds). A sale refunded to zero or below
/// counts for nothing (and is then [`OrderStatus::Refunded`]); a sale of 0 that nothing refunded
/// still counts.
pub(crate) fn net_amount(status: OrderStatus, gross: i64, refunded: i64) -> (i64, OrderStatus) {
    let net = gross.saturating_sub(refunded);
    if status == OrderStatus::Completed && refunded > 0 && net <= 0 {
        return (net, OrderStatus::Refunded);
    }
    (net, status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_numbers() {
        assert_eq!(canonical_num("0"), Some(0));
        assert_eq!(canonical_num("90001"), Some(90001));
        assert_eq!(canonical_num("007"), None);
        assert_eq!(canonical_num("1234567890123456789"), None);
        assert_eq!(canonical_num("12a"), None);
        assert_eq!(canonical_num(""), None);
        assert_eq!(IdRef::of(Some("007")), IdRef::Text("007"));
        assert_eq!(money(-1050, 2), "-10.50");
        assert_eq!(money(5, 2), "0.05");
        assert_eq!(money(7, 0), "7");
    }

    #[test]
    fn net_amounts() {
        assert_eq!(net_amount(OrderStatus::Completed, 1000, 300), (700, OrderStatus::Completed));
        assert_eq!(net_amount(OrderStatus::Completed, 1000, 1000), (0, OrderStatus::Refunded));
        assert_eq!(net_amount(OrderStatus::Completed, 1000, 1200), (-200, OrderStatus::Refunded));
        assert_eq!(net_amount(OrderStatus::Completed, 0, 0), (0, OrderStatus::Completed));
        assert_eq!(net_amount(OrderStatus::Cancelled, 1000, 1000), (0, OrderStatus::Cancelled));
    }
}
