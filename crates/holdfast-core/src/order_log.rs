//! [`OrderLog`]: the counted orders of a workspace, columnar and sorted by (customer, time).
//!
//! Every descriptive metric is a scan over this structure. Customers are interned to dense `u32`
//! indices; the orders of customer `c` are the rows `offsets[c]..offsets[c + 1]`, in time order.
//! Only *counted* orders belong here: orders whose status is not a sale, and orders refunded to
//! zero, are left out by whoever builds the log (see `METRICS.md`).
//!
//! Orders of one customer at the same instant are ordered by order id ([`cmp_order_ids`]:
//! numerically when both ids are whole numbers, else bytewise), so a customer's first order never
//! depends on the row order of a file: builders that know the ids pass the comparison to
//! [`OrderLog::from_columns_tied`].

use crate::money::Currency;
use crate::period::{Calendar, Instant};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::cmp::Ordering;
use std::ops::Range;

/// How ties between orders at the same instant are broken (`METRICS.md`, conventions): by order
/// id, numerically when both ids are whole numbers (ASCII digits only; leading zeros do not
/// count), else bytewise. Equal numbers written differently (`7`, `007`) are then ordered
/// bytewise, so the order is total.
pub fn cmp_order_ids(a: &str, b: &str) -> Ordering {
    let whole = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if whole(a) && whole(b) {
        let (ta, tb) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
        ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb)).then_with(|| a.cmp(b))
    } else {
        a.cmp(b)
    }
}

/// A comparison of two input rows of [`OrderLog::from_columns_tied`] (indices into its columns)
/// for orders of one customer at the same instant.
pub type TieBreak<'a> = &'a (dyn Fn(usize, usize) -> Ordering + Sync);

/// Dense index of a customer inside one [`OrderLog`].
pub type CustomerIdx = u32;

/// Dense index of a product inside a [`Catalog`].
pub type ProductIdx = u32;

/// Products and their categories, interned.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    pub products: Vec<String>,
    /// Category of each product, if known.
    pub category_of: Vec<Option<u32>>,
    pub categories: Vec<String>,
}

impl Catalog {
    pub fn product_name(&self, p: ProductIdx) -> &str {
        &self.products[p as usize]
    }

    pub fn category(&self, p: ProductIdx) -> Option<u32> {
        self.category_of.get(p as usize).copied().flatten()
    }
}

/// The customer ids of a log, packed in one text buffer (one allocation, not one per customer).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CustomerIds {
    text: String,
    /// `text[ends[i - 1]..ends[i]]` is id `i` (`0..ends[0]` for the first).
    ends: Vec<u32>,
}

impl CustomerIds {
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `n` ids of `bytes` bytes in all.
    pub fn with_capacity(n: usize, bytes: usize) -> Self {
        CustomerIds { text: String::with_capacity(bytes), ends: Vec::with_capacity(n) }
    }

    /// Appends an id; its index is the length before.
    ///
    /// # Panics
    /// When the ids together pass 4 GiB.
    pub fn push(&mut self, id: &str) {
        self.text.push_str(id);
        self.ends.push(u32::try_from(self.text.len()).expect("customer ids exceed 4 GiB"));
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Id `i`; panics when `i` is out of range, as slice indexing does.
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    /// The ids in index order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + DoubleEndedIterator + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// The ids as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

impl std::fmt::Debug for CustomerIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl From<Vec<String>> for CustomerIds {
    fn from(v: Vec<String>) -> Self {
        let mut ids = CustomerIds::with_capacity(v.len(), v.iter().map(String::len).sum());
        for id in &v {
            ids.push(id);
        }
        ids
    }
}

impl<'a> FromIterator<&'a str> for CustomerIds {
    fn from_iter<I: IntoIterator<Item = &'a str>>(it: I) -> Self {
        let mut ids = CustomerIds::new();
        for id in it {
            ids.push(id);
        }
        ids
    }
}

/// Order lines (what was bought), in compressed-row form aligned with the orders of an [`OrderLog`].
#[derive(Clone, Debug, Default)]
pub struct OrderLines {
    /// `offsets[o]..offsets[o + 1]` are the lines of order `o`; length = orders + 1.
    pub offsets: Vec<u32>,
    pub product: Vec<ProductIdx>,
    pub quantity: Vec<u32>,
}

/// Counted orders, columnar, sorted by customer then time.
#[derive(Clone, Debug, Default)]
pub struct OrderLog {
    customer_ids: CustomerIds,
    offsets: Vec<u32>,
    at: Vec<Instant>,
    amount: Vec<i64>,
    currency: Currency,
    lines: Option<OrderLines>,
    catalog: Catalog,
}

impl OrderLog {
    /// Builds a log from unsorted columns. `customer[i]` indexes `customer_ids`; `lines`, when given,
    /// is aligned with the input rows. Rows are stably sorted by (customer, time), so the result is
    /// the same for the same input whatever the machine.
    ///
    /// # Panics
    /// When the columns have different lengths or a customer index is out of range: both are
    /// programming errors of the caller, never a property of user data.
    pub fn from_columns(
        customer_ids: impl Into<CustomerIds>,
        customer: Vec<CustomerIdx>,
        at: Vec<Instant>,
        amount: Vec<i64>,
        currency: Currency,
        lines: Option<OrderLines>,
        catalog: Catalog,
    ) -> OrderLog {
        Self::from_columns_tied(customer_ids, customer, at, amount, currency, lines, catalog, None)
    }

    /// As [`OrderLog::from_columns`], with orders of one customer at the same instant ordered by
    /// `tie` (input row indices; rows it calls equal keep their input order). Importers pass the
    /// order-id rule, [`cmp_order_ids`]; `None` keeps the input order.
    #[allow(clippy::too_many_arguments)]
    pub fn from_columns_tied(
        customer_ids: impl Into<CustomerIds>,
        customer: Vec<CustomerIdx>,
        at: Vec<Instant>,
        amount: Vec<i64>,
        currency: Currency,
        lines: Option<OrderLines>,
        catalog: Catalog,
        tie: Option<TieBreak<'_>>,
    ) -> OrderLog {
        let n = customer.len();
        assert_eq!(n, at.len(), "order columns differ in length");
        assert_eq!(n, amount.len(), "order columns differ in length");
        assert!(n < u32::MAX as usize, "more than 4 billion orders in one log");
        let customer_ids = customer_ids.into();
        let nc = customer_ids.len();
        let mut offsets = vec![0u32; nc + 1];
        for &c in &customer {
            offsets[c as usize + 1] += 1;
        }
        for i in 0..nc {
            offsets[i + 1] += offsets[i];
        }
        // Counting sort by customer (stable), then sort each customer's rows by time (stable).
        let mut next: Vec<u32> = offsets[..nc].to_vec();
        let mut perm = vec![0u32; n];
        for (i, &c) in customer.iter().enumerate() {
            let slot = &mut next[c as usize];
            perm[*slot as usize] = i as u32;
            *slot += 1;
        }
        drop(next);
        drop(customer);
        sort_runs_by_time(&mut perm, &offsets, &at, tie);
        // One column at a time, so at most one extra column is alive.
        let at = permute(&perm, at);
        let amount = permute(&perm, amount);
        let lines = lines.map(|l| permute_lines(&perm, l));
        OrderLog { customer_ids, offsets, at, amount, currency, lines, catalog }
    }

    pub fn n_customers(&self) -> usize {
        self.customer_ids.len()
    }

    pub fn n_orders(&self) -> usize {
        self.at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn customer_ids(&self) -> &CustomerIds {
        &self.customer_ids
    }

    pub fn customer_id(&self, c: CustomerIdx) -> &str {
        self.customer_ids.get(c as usize)
    }

    /// Rows of customer `c`'s orders.
    pub fn orders_of(&self, c: CustomerIdx) -> Range<usize> {
        self.offsets[c as usize] as usize..self.offsets[c as usize + 1] as usize
    }

    /// Order times of customer `c`, ascending.
    pub fn times_of(&self, c: CustomerIdx) -> &[Instant] {
        &self.at[self.orders_of(c)]
    }

    /// Order amounts (minor units) of customer `c`, in time order.
    pub fn amounts_of(&self, c: CustomerIdx) -> &[i64] {
        &self.amount[self.orders_of(c)]
    }

    /// Customer offsets: `offsets()[c]..offsets()[c + 1]` are customer `c`'s rows.
    pub fn offsets(&self) -> &[u32] {
        &self.offsets
    }

    /// All order times, grouped by customer.
    pub fn at(&self) -> &[Instant] {
        &self.at
    }

    /// All order amounts in minor units, aligned with [`OrderLog::at`].
    pub fn amount(&self) -> &[i64] {
        &self.amount
    }

    pub fn lines(&self) -> Option<&OrderLines> {
        self.lines.as_ref()
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Products of order row `o` (empty when the log has no lines).
    pub fn products_of_order(&self, o: usize) -> &[ProductIdx] {
        match &self.lines {
            Some(l) => &l.product[l.offsets[o] as usize..l.offsets[o + 1] as usize],
            None => &[],
        }
    }

    /// Earliest and latest order instant, `None` when there are no orders.
    pub fn time_range(&self) -> Option<(Instant, Instant)> {
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for c in 0..self.n_customers() {
            let t = self.times_of(c as CustomerIdx);
            if let (Some(&f), Some(&l)) = (t.first(), t.last()) {
                lo = lo.min(f);
                hi = hi.max(l);
            }
        }
        (lo <= hi).then_some((lo, hi))
    }

    /// The default as-of instant: local midnight starting the day after the last order.
    /// `None` for an empty log. Never the wall clock.
    pub fn default_as_of(&self, cal: &Calendar) -> Option<Instant> {
        let (_, last) = self.time_range()?;
        Some(cal.start_of_day(cal.date(last).succ_opt()?))
    }

    /// A copy holding only the orders placed strictly before `t` (customers with none are kept
    /// with an empty history so indices stay valid).
    pub fn before(&self, t: Instant) -> OrderLog {
        let mut b = OrderLogBuilder::with_catalog(self.currency, self.catalog.clone());
        for c in 0..self.n_customers() as CustomerIdx {
            let ci = b.customer(self.customer_id(c));
            for o in self.orders_of(c) {
                if self.at[o] < t {
                    b.push_order_idx(ci, self.at[o], self.amount[o]);
                    for (k, &p) in self.products_of_order(o).iter().enumerate() {
                        let q = self.lines.as_ref().map(|l| l.quantity[l.offsets[o] as usize + k]).unwrap_or(1);
                        b.push_line_idx(p, q);
                    }
                }
            }
        }
        b.build()
    }
}

/// Sorts each customer's run of `perm` (`offsets[c]..offsets[c + 1]`) by time, stably, and orders
/// at the same instant by `tie` when given; runs already in order (the usual case: files are
/// mostly written in time order) are left alone.
fn sort_runs_by_time(perm: &mut [u32], offsets: &[u32], at: &[Instant], tie: Option<TieBreak<'_>>) {
    const CHUNK: usize = 1 << 14;
    let nc = offsets.len() - 1;
    // Split the customers into chunks with disjoint row ranges and sort them in parallel.
    let mut parts: Vec<(usize, &mut [u32])> = Vec::with_capacity(nc / CHUNK + 1);
    let mut rest = perm;
    for c0 in (0..nc).step_by(CHUNK) {
        let c1 = (c0 + CHUNK).min(nc);
        let (head, tail) = rest.split_at_mut((offsets[c1] - offsets[c0]) as usize);
        parts.push((c0, head));
        rest = tail;
    }
    parts.into_par_iter().for_each(|(c0, rows)| {
        let base = offsets[c0] as usize;
        let c1 = (c0 + CHUNK).min(nc);
        for c in c0..c1 {
            let run = &mut rows[offsets[c] as usize - base..offsets[c + 1] as usize - base];
            match tie {
                None => {
                    if !run.windows(2).all(|w| at[w[0] as usize] <= at[w[1] as usize]) {
                        run.sort_by_key(|&i| at[i as usize]);
                    }
                }
                Some(tie) => {
                    let ordered = |a: u32, b: u32| match at[a as usize].cmp(&at[b as usize]) {
                        Ordering::Equal => tie(a as usize, b as usize).then(a.cmp(&b)),
                        o => o,
                    };
                    if !run.windows(2).all(|w| at[w[0] as usize] < at[w[1] as usize]) {
                        run.sort_by(|&a, &b| ordered(a, b));
                    }
                }
            }
        }
    });
}

/// `v` reordered so that row `k` is `v[perm[k]]`, gathered in parallel; `v` is freed on return.
fn permute<T: Copy + Send + Sync>(perm: &[u32], v: Vec<T>) -> Vec<T> {
    let mut out = Vec::with_capacity(perm.len());
    perm.par_iter().map(|&i| v[i as usize]).collect_into_vec(&mut out);
    out
}

/// Order lines reordered with their orders (see [`permute`]).
fn permute_lines(perm: &[u32], l: OrderLines) -> OrderLines {
    let n = perm.len();
    // The usual file has one line per order: line k belongs to order k, so the lines move exactly
    // as the orders (checked by one sequential pass, not a random one per order).
    if l.offsets.len() == n + 1 && l.offsets.par_iter().enumerate().all(|(k, &o)| o as usize == k) {
        let OrderLines { offsets, product, quantity } = l;
        return OrderLines { offsets, product: permute(perm, product), quantity: permute(perm, quantity) };
    }
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0u32);
    let mut total = 0u32;
    for &i in perm {
        total += l.offsets[i as usize + 1] - l.offsets[i as usize];
        offsets.push(total);
    }
    let mut source = Vec::with_capacity(total as usize);
    for &i in perm {
        source.extend(l.offsets[i as usize]..l.offsets[i as usize + 1]);
    }
    let OrderLines { product, quantity, .. } = l;
    OrderLines { offsets, product: permute(&source, product), quantity: permute(&source, quantity) }
}

/// Builds an [`OrderLog`] row by row, interning customers and products.
#[derive(Debug, Default)]
pub struct OrderLogBuilder {
    currency: Currency,
    index: FxHashMap<String, CustomerIdx>,
    customer_ids: CustomerIds,
    customer: Vec<CustomerIdx>,
    at: Vec<Instant>,
    amount: Vec<i64>,
    line_offsets: Vec<u32>,
    product: Vec<ProductIdx>,
    quantity: Vec<u32>,
    has_lines: bool,
    catalog: Catalog,
    product_index: FxHashMap<String, ProductIdx>,
    category_index: FxHashMap<String, u32>,
}

impl OrderLogBuilder {
    pub fn new(currency: Currency) -> Self {
        OrderLogBuilder { currency, line_offsets: vec![0], ..Default::default() }
    }

    fn with_catalog(currency: Currency, catalog: Catalog) -> Self {
        let mut b = OrderLogBuilder::new(currency);
        b.product_index = catalog.products.iter().enumerate().map(|(i, p)| (p.clone(), i as u32)).collect();
        b.category_index = catalog.categories.iter().enumerate().map(|(i, p)| (p.clone(), i as u32)).collect();
        b.catalog = catalog;
        b
    }

    /// The index of a customer, interning it on first sight.
    pub fn customer(&mut self, id: &str) -> CustomerIdx {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        let i = self.customer_ids.len() as CustomerIdx;
        self.customer_ids.push(id);
        self.index.insert(id.to_owned(), i);
        i
    }

    /// Adds a counted order. Lines pushed next belong to it.
    pub fn push(&mut self, customer: &str, at: Instant, amount_minor: i64) {
        let c = self.customer(customer);
        self.push_order_idx(c, at, amount_minor);
    }

    pub fn push_order_idx(&mut self, c: CustomerIdx, at: Instant, amount_minor: i64) {
        self.customer.push(c);
        self.at.push(at);
        self.amount.push(amount_minor);
        self.line_offsets.push(self.product.len() as u32);
    }

    /// Interns a product (and its category, when given), returning its index.
    pub fn product(&mut self, name: &str, category: Option<&str>) -> ProductIdx {
        let cat = category.map(|c| match self.category_index.get(c) {
            Some(&i) => i,
            None => {
                let i = self.catalog.categories.len() as u32;
                self.catalog.categories.push(c.to_owned());
                self.category_index.insert(c.to_owned(), i);
                i
            }
        });
        let p = match self.product_index.get(name) {
            Some(&p) => p,
            None => {
                let p = self.catalog.products.len() as ProductIdx;
                self.catalog.products.push(name.to_owned());
                self.catalog.category_of.push(None);
                self.product_index.insert(name.to_owned(), p);
                p
            }
        };
        if cat.is_some() {
            self.catalog.category_of[p as usize] = cat;
        }
        p
    }

    /// Adds a line to the last pushed order.
    pub fn push_line(&mut self, product: &str, category: Option<&str>, quantity: u32) {
        let p = self.product(product, category);
        self.push_line_idx(p, quantity);
    }

    pub fn push_line_idx(&mut self, p: ProductIdx, quantity: u32) {
        if self.at.is_empty() {
            return;
        }
        self.has_lines = true;
        self.product.push(p);
        self.quantity.push(quantity);
        if let Some(last) = self.line_offsets.last_mut() {
            *last = self.product.len() as u32;
        }
    }

    pub fn n_orders(&self) -> usize {
        self.at.len()
    }

    pub fn build(self) -> OrderLog {
        let lines = self.has_lines.then(|| OrderLines {
            offsets: self.line_offsets,
            product: self.product,
            quantity: self.quantity,
        });
        OrderLog::from_columns(
            self.customer_ids,
            self.customer,
            self.at,
            self.amount,
            self.currency,
            lines,
            self.catalog,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_compare_numerically_when_both_are_whole_numbers() {
        use Ordering::*;
        for (a, b, want) in [
            ("9", "10", Less),
            ("10", "9", Greater),
            ("007", "7", Less), // equal numbers: bytewise
            ("0010", "9", Greater),
            ("123456789012345678901234567890", "99", Greater), // longer than u64
            ("A-10", "A-9", Less),                           // not numbers: bytewise
            ("10", "9a", Less),
            ("~c|5|100", "12", Greater),
            ("", "1", Less),
            ("5", "5", Equal),
        ] {
            assert_eq!(cmp_order_ids(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn same_instant_orders_follow_the_tie_break_not_the_input_order() {
        // customer a: ids 10 and 9 at t = 5 (10 first in the file), 3 at t = 1; the tie puts 9
        // first; without one the input order stays.
        let ids = ["10", "9", "3"];
        let build = |tie: Option<TieBreak<'_>>| {
            OrderLog::from_columns_tied(vec!["a".to_string()], vec![0, 0, 0], vec![5, 5, 1], vec![100, 90, 30], Currency::USD, None, Catalog::default(), tie)
        };
        let by_id = |i: usize, j: usize| cmp_order_ids(ids[i], ids[j]);
        assert_eq!(build(Some(&by_id)).amounts_of(0), [30, 90, 100]);
        assert_eq!(build(None).amounts_of(0), [30, 100, 90]);
    }

    #[test]
    fn sorts_by_customer_then_time_and_keeps_lines() {
        let mut b = OrderLogBuilder::new(Currency::USD);
        b.push("b", 30, 300);
        b.push_line("oil", Some("fluids"), 2);
        b.push("a", 20, 200);
        b.push("b", 10, 100);
        b.push_line("filter", None, 1);
        b.push_line("oil", None, 1);
        let log = b.build();
        assert_eq!(log.n_customers(), 2);
        assert_eq!(log.customer_id(0), "b");
        assert_eq!(log.times_of(0), &[10, 30]);
        assert_eq!(log.amounts_of(0), &[100, 300]);
        assert_eq!(log.times_of(1), &[20]);
        let names: Vec<_> = log.products_of_order(0).iter().map(|&p| log.catalog().product_name(p)).collect();
        assert_eq!(names, ["filter", "oil"]);
        assert_eq!(log.products_of_order(1).len(), 1);
        assert_eq!(log.products_of_order(2).len(), 0);
        assert_eq!(log.catalog().category(0).map(|c| log.catalog().categories[c as usize].as_str()), Some("fluids"));
        assert_eq!(log.time_range(), Some((10, 30)));
        let early = log.before(25);
        assert_eq!(early.n_orders(), 2);
        assert_eq!(early.times_of(0), &[10]);
    }
}
