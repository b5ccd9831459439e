//! The fast path of [`crate::read_orders`]: blocks parsed in parallel (rayon) while the next ones
//! are read, customers interned per block and then into one table, orders kept columnar.
//!
//! Line numbers are known only once the blocks before are counted, so a worker keeps the fields
//! of its first bad records and the messages are made afterwards, with absolute lines.

use crate::assemble::{groups_of, resolve, Ctx, IdRef, PieceKind, Pieces, Resolution, SKIP};
use crate::engine::{decode_block, utf8_facts, Block, Origin, RecErr, Records, Source, BLOCK};
use crate::rows::{check_map_fields, column_names, text_error, Ambiguous, Kind, OrderPlan, Problems, SlashEvidence, StatusMemo};
use crate::{ImportError, ImportOptions, OrdersFile, MAX_LISTED};
use holdfast_core::{Catalog, CustomerIds, OrderLines, OrderLog, OrderStatus};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHasher};
use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

enum Fatal {
    Rec(RecErr),
    /// Not UTF-8 at line `bad`; `good`: an earlier line of the block with UTF-8 text.
    Utf8 {
        good: Option<u64>,
        bad: u64,
    },
}

/// Customer ids interned by all workers at once: 16 shards chosen by hash, each a map to a
/// shard-local index. Ids handed out are `local << SHARD_BITS | shard`; [`Interner::finish`] renumbers
/// customers densely in order of first appearance, so the result does not depend on timing.
struct Interner {
    shards: Vec<Mutex<Shard>>,
}

/// A customer id of up to 23 bytes, stored in the table itself (no pointer to follow).
type Inline = [u64; 3];

#[inline]
fn pack(s: &str) -> Option<Inline> {
    let b = s.as_bytes();
    if b.len() > 23 {
        return None;
    }
    let mut buf = [0u8; 24];
    buf[..b.len()].copy_from_slice(b);
    buf[23] = b.len() as u8;
    let w = |i: usize| u64::from_le_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3], buf[i + 4], buf[i + 5], buf[i + 6], buf[i + 7]]);
    Some([w(0), w(8), w(16)])
}

/// The id packed by [`pack`] (a stack copy of its bytes).
fn unpack(k: &Inline) -> InlineStr {
    let mut buf = [0u8; 24];
    for (i, w) in k.iter().enumerate() {
        buf[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    InlineStr(buf)
}

/// An unpacked inline id: its bytes, the length in the last byte.
struct InlineStr([u8; 24]);

impl std::ops::Deref for InlineStr {
    type Target = str;

    fn deref(&self) -> &str {
        let n = (self.0[23] as usize).min(23);
        // The bytes were copied from a `&str` by `pack`, so they are UTF-8.
        std::str::from_utf8(&self.0[..n]).unwrap_or("")
    }
}

#[derive(Default)]
struct Shard {
    /// Customer → (shard-local index, first block it was seen in), so most lookups touch only
    /// the table.
    inline: FxHashMap<Inline, (u32, u32)>,
    map: FxHashMap<Box<str>, (u32, u32)>,
    /// First position (block << 32 | row) of each customer of the shard.
    first: Vec<u64>,
}

const SHARD_BITS: u32 = 4;

impl Interner {
    fn new() -> Self {
        Interner { shards: (0..1 << SHARD_BITS).map(|_| Mutex::new(Shard::default())).collect() }
    }

    /// The shard of a customer id and its inline form.
    #[inline]
    fn shard_of(name: &str) -> (usize, Option<Inline>) {
        let key = pack(name);
        let mut h = FxHasher::default();
        match &key {
            Some(k) => k.hash(&mut h),
            None => name.hash(&mut h),
        }
        // Middle bits: the shard's own map uses the low bits (position) and the top ones (tag).
        (((h.finish() >> 32) & ((1 << SHARD_BITS) - 1)) as usize, key)
    }

    /// Interns the customers of one block: `names[i]` gets id `ids[i]`. One lock per shard, and
    /// each shard's table stays in cache while its customers are looked up.
    fn intern_block<'t>(&self, block: usize, names: &[&'t str], ids: &mut [u32]) {
        let keyed: Vec<(usize, Option<Inline>)> = names.iter().map(|n| Self::shard_of(n)).collect();
        let mut start = vec![0usize; (1 << SHARD_BITS) + 1];
        for (s, _) in &keyed {
            start[s + 1] += 1;
        }
        for s in 0..1 << SHARD_BITS {
            start[s + 1] += start[s];
        }
        let mut next = start.clone();
        let mut by_shard = vec![0u32; names.len()];
        for (i, (s, _)) in keyed.iter().enumerate() {
            by_shard[next[*s]] = i as u32;
            next[*s] += 1;
        }
        for s in 0..1 << SHARD_BITS {
            if start[s] == start[s + 1] {
                continue;
            }
            let mut guard = match self.shards[s].lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            for &i in &by_shard[start[s]..start[s + 1]] {
                let i = i as usize;
                let pos = ((block as u64) << 32) | i as u64;
                ids[i] = Self::intern_in(&mut guard, s, names[i], keyed[i].1, pos);
            }
        }
    }

    #[inline]
    fn intern_in(shard: &mut Shard, s: usize, name: &str, key: Option<Inline>, pos: u64) -> u32 {
        let block = (pos >> 32) as u32;
        let found = match &key {
            Some(k) => shard.inline.get_mut(k),
            None => shard.map.get_mut(name),
        };
        let local = match found {
            Some(v) => {
                // Rows of one block come in order; only an earlier block can move the first sight.
                let l = v.0;
                if block < v.1 {
                    v.1 = block;
                    shard.first[l as usize] = pos;
                }
                l
            }
            None => {
                let l = shard.first.len() as u32;
                shard.first.push(pos);
                match key {
                    Some(k) => shard.inline.insert(k, (l, block)),
                    None => shard.map.insert(name.into(), (l, block)),
                };
                l
            }
        };
        (local << SHARD_BITS) | s as u32
    }

    /// Customer names in order of first appearance and, per shard, the dense index of each
    /// shard-local customer.
    fn finish(self) -> (CustomerIds, Vec<Vec<u32>>) {
        let shards: Vec<Shard> = self.shards.into_iter().map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner())).collect();
        let mut order: Vec<(u64, u32, u32)> = Vec::with_capacity(shards.iter().map(|s| s.first.len()).sum());
        for (si, sh) in shards.iter().enumerate() {
            order.extend(sh.first.iter().enumerate().map(|(l, &f)| (f, si as u32, l as u32)));
        }
        order.par_sort_unstable();
        let mut dense: Vec<Vec<u32>> = shards.iter().map(|s| vec![0u32; s.first.len()]).collect();
        for (rank, &(_, si, l)) in order.iter().enumerate() {
            dense[si as usize][l as usize] = rank as u32;
        }
        // Each shard's keys by local index, then the ids packed in order of first appearance.
        let mut bytes = 0usize;
        let keys: Vec<(Vec<Inline>, FxHashMap<u32, Box<str>>)> = shards
            .into_iter()
            .map(|sh| {
                let mut inline = vec![[0u64; 3]; sh.first.len()];
                for (k, (l, _)) in sh.inline {
                    bytes += (k[2] >> 56) as usize;
                    inline[l as usize] = k;
                }
                let boxed: FxHashMap<u32, Box<str>> = sh.map.into_iter().map(|(name, (l, _))| (l, name)).collect();
                bytes += boxed.values().map(|n| n.len()).sum::<usize>();
                (inline, boxed)
            })
            .collect();
        let mut ids = CustomerIds::with_capacity(order.len(), bytes);
        for &(_, si, l) in &order {
            let (inline, boxed) = &keys[si as usize];
            match boxed.get(&l) {
                Some(name) => ids.push(name),
                None => ids.push(&unpack(&inline[l as usize])),
            }
        }
        (ids, dense)
    }
}

/// Marks in the order-id column: an order without an id, and (high bit) an id kept as text.
const NO_ID: u64 = u64::MAX;
const TEXT: u64 = 1 << 63;

/// A row kept aside from the columns: a partial refund, or a row whose status is not a sale that
/// names an order id (it may share the id with sales).
struct Side {
    /// Relative to its block until appended, then absolute.
    line: u64,
    id: Option<String>,
    customer: String,
    at: i64,
    kind: PieceKind,
}

/// Adjacent rows sharing an order id: the run a block starts or ends with.
#[derive(Clone, Debug, Default)]
struct Run {
    id: String,
    cust: String,
    at: i64,
    /// The run's sale order (its index in the block, then in the whole file).
    sale: Option<u32>,
    /// A row of the run is not a sale.
    other: bool,
}

#[derive(Default)]
struct BlockOut {
    lines: u64,
    rows: usize,
    excluded: usize,
    refund_rows: usize,
    fatal: Option<Fatal>,
    /// Relative line and fields of the first bad records.
    bad: Vec<(u64, Vec<String>)>,
    n_bad: usize,
    utf8_good: Option<u64>,
    ev: SlashEvidence,
    cust: Vec<u32>,
    at: Vec<i64>,
    amount: Vec<i64>,
    /// `refunded_amount` per order, when the file has the column.
    refunded: Vec<i64>,
    products: Vec<(String, Option<String>)>,
    product: Vec<u32>,
    qty: Vec<u32>,
    /// Line offsets per order (local), length orders + 1 when the file has products.
    line_off: Vec<u32>,
    /// Per order, when the file has order ids: the id as a canonical number, `TEXT | k` for
    /// `texts[k]`, or `NO_ID`.
    nums: Vec<u64>,
    texts: CustomerIds,
    /// Per order (files with ids): the relative line of its first row.
    rel: Vec<u32>,
    /// (order, relative line) of the further rows of an order (adjacent rows of one order).
    extra: Vec<(u32, u32)>,
    side: Vec<Side>,
    /// The block's orders need no id resolution: ids are canonical numbers increasing run by run,
    /// every order has one, a run is one customer on one day and never mixes sales with rows
    /// that are not.
    simple: bool,
    /// The first run of the block, and whether no order without an id comes before it.
    head: Option<Run>,
    head_clean: bool,
    first_num: Option<u64>,
    /// Amounts read with a comma as a thousands separator (lines relative to the block).
    ambiguous: Ambiguous,
    /// The run the block ends in; `touched`: the block has rows that end or continue runs.
    tail: Option<Run>,
    touched: bool,
    last_num: Option<u64>,
}

fn parse_block(plan: &OrderPlan, block: &Block, enc: &'static encoding_rs::Encoding, delim: u8, has_lines: bool, interner: &Interner) -> BlockOut {
    let mut out = BlockOut { simple: true, head_clean: true, ..Default::default() };
    let text = match decode_block(enc, &block.raw) {
        Ok(t) => t,
        Err(_) => {
            let (good, bad) = utf8_facts(&block.raw);
            out.fatal = Some(Fatal::Utf8 { good, bad: bad.unwrap_or(0) });
            return out;
        }
    };
    if enc == encoding_rs::UTF_8 && !block.raw.is_ascii() {
        out.utf8_good = utf8_facts(&block.raw).0;
    }
    let cap = block.raw.len() / 64 + 16;
    out.at.reserve(cap);
    out.amount.reserve(cap);
    let has_ids = plan.oi.is_some();
    let has_refunded = plan.ri.is_some();
    if has_ids {
        out.nums.reserve(cap);
        out.rel.reserve(cap);
    }
    let mut memo = StatusMemo::default();
    if has_lines {
        out.line_off.reserve(cap + 1);
        out.line_off.push(0);
    }
    let mut prod_local: FxHashMap<String, u32> = FxHashMap::default();
    // Each order's customer: a range of the block text, or (u32::MAX, i) for `owned[i]`.
    let mut cust_ref: Vec<(u32, u32)> = Vec::with_capacity(cap);
    let mut owned: Vec<String> = Vec::new();
    let text_start = text.as_ptr() as usize;
    // The current run (`live`: no order without an id since it started).
    let mut run = Run::default();
    let mut live = false;
    let mut n_runs = 0usize;
    let mut recs = Records::new(&text, delim);
    let has_nul = crate::rows::has_bad_controls(&block.raw);
    let mut f: Vec<Cow<str>> = Vec::with_capacity(plan.headers.len());
    // Slash evidence is ordered across blocks by (block, line).
    let tag = (block.index as u64) << 40;
    loop {
        let rel = match recs.next(&mut f) {
            None => break,
            Some(Ok(l)) => l,
            Some(Err(e)) => {
                out.fatal = Some(Fatal::Rec(match (block.overflow, e) {
                    (true, RecErr::Unterminated { line }) => RecErr::TooLong { line },
                    (_, e) => e,
                }));
                return out;
            }
        };
        if f[0].trim().is_empty() && f.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        out.rows += 1;
        let parsed = if has_nul && text_error(&plan.path, &plan.headers, &f, 0).is_some() {
            Err(String::new())
        } else {
            plan.parse_memo(&f, tag + rel, &mut out.ev, &mut memo)
        };
        let p = match parsed {
            Ok(Kind::Sale(p)) => {
                if p.ambiguous {
                    out.ambiguous.see(rel, &f[plan.ai]);
                }
                p
            }
            Ok(Kind::Refund(r)) => {
                out.refund_rows += 1;
                out.side.push(Side {
                    line: rel,
                    id: r.order_id.map(str::to_string),
                    customer: r.customer.to_string(),
                    at: r.at,
                    kind: PieceKind::Refund(r.minor),
                });
                continue;
            }
            Ok(Kind::Other(st)) => {
                out.excluded += 1;
                if has_ids {
                    if let Some((Some(id), customer, at)) = plan.other_key(&f) {
                        out.touched = true;
                        if live && run.id == id {
                            if run.cust == customer && plan.same_day(run.at, at) {
                                run.other = true;
                                if run.sale.is_some() {
                                    out.simple = false;
                                }
                            } else {
                                out.simple = false;
                                run.set(id, customer, at, None, true);
                            }
                        } else {
                            new_run(&mut out, &run, live, &mut n_runs, crate::assemble::canonical_num(id));
                            run.set(id, customer, at, None, true);
                            live = true;
                        }
                        out.side.push(Side { line: rel, id: Some(id.to_string()), customer: customer.to_string(), at, kind: PieceKind::Other(st) });
                    }
                }
                continue;
            }
            Err(_) => {
                out.n_bad += 1;
                if out.bad.len() <= MAX_LISTED {
                    out.bad.push((rel, f.iter().map(|c| c.to_string()).collect()));
                }
                continue;
            }
        };
        let mut merged = false;
        if has_ids {
            out.touched = true;
            let next = out.at.len() as u32;
            match p.order_id {
                None => {
                    // An order without an id ends the run; ids are then resolved by key.
                    out.simple = false;
                    if n_runs == 0 {
                        out.head_clean = false;
                    } else if n_runs == 1 && out.head.is_none() && live {
                        out.head = Some(run.clone());
                    }
                    live = false;
                    out.nums.push(NO_ID);
                    out.rel.push(rel as u32);
                }
                Some(id) => {
                    let mut num = None;
                    if live && run.id == id {
                        if run.cust == p.customer && plan.same_day(run.at, p.at) {
                            if run.other {
                                out.simple = false;
                            }
                            match run.sale {
                                Some(o) if o + 1 == next => merged = true,
                                _ => {
                                    if run.sale.is_some() {
                                        out.simple = false;
                                    }
                                    run.sale = Some(next);
                                }
                            }
                        } else {
                            out.simple = false;
                            run.set(id, p.customer, p.at, Some(next), false);
                        }
                        if !merged {
                            num = crate::assemble::canonical_num(id);
                        }
                    } else {
                        num = crate::assemble::canonical_num(id);
                        new_run(&mut out, &run, live, &mut n_runs, num);
                        run.set(id, p.customer, p.at, Some(next), false);
                        live = true;
                    }
                    if merged {
                        out.extra.push((next - 1, rel as u32));
                    } else {
                        let num = match num {
                            Some(n) => n,
                            None => {
                                let k = out.texts.len() as u64;
                                out.texts.push(id);
                                TEXT | k
                            }
                        };
                        out.nums.push(num);
                        out.rel.push(rel as u32);
                    }
                }
            }
        }
        if merged {
            let o = out.at.len() - 1;
            out.amount[o] = out.amount[o].saturating_add(p.minor);
            out.at[o] = out.at[o].min(p.at);
            if has_refunded {
                out.refunded[o] = out.refunded[o].saturating_add(p.refunded);
            }
        } else {
            let off = (p.customer.as_ptr() as usize).wrapping_sub(text_start);
            if off + p.customer.len() <= text.len() {
                cust_ref.push((off as u32, p.customer.len() as u32));
            } else {
                cust_ref.push((u32::MAX, owned.len() as u32));
                owned.push(p.customer.to_string());
            }
            out.at.push(p.at);
            out.amount.push(p.minor);
            if has_refunded {
                out.refunded.push(p.refunded);
            }
            if has_lines {
                out.line_off.push(out.product.len() as u32);
            }
        }
        if has_lines {
            if let Some(name) = p.product {
                let k = match prod_local.get(name) {
                    Some(&k) => k,
                    None => {
                        let k = out.products.len() as u32;
                        out.products.push((name.to_string(), None));
                        prod_local.insert(name.to_string(), k);
                        k
                    }
                };
                if let Some(cat) = p.category {
                    // A product's category is the first one given.
                    let slot = &mut out.products[k as usize].1;
                    if slot.is_none() {
                        *slot = Some(cat.to_string());
                    }
                }
                out.product.push(k);
                out.qty.push(p.quantity);
                if let Some(last) = out.line_off.last_mut() {
                    *last = out.product.len() as u32;
                }
            }
        }
    }
    out.lines = recs.line;
    if n_runs == 1 && out.head.is_none() && live {
        out.head = Some(run.clone());
    }
    out.tail = live.then_some(run);
    let names: Vec<&str> =
        cust_ref.iter().map(|&(o, l)| if o == u32::MAX { owned[l as usize].as_str() } else { &text[o as usize..(o + l) as usize] }).collect();
    out.cust = vec![0; names.len()];
    interner.intern_block(block.index, &names, &mut out.cust);
    out
}

/// Before a run starts (the caller then sets `run`): ids must keep increasing run by run for the
/// block to stay simple; the first run, once over, is the block's head.
#[inline]
fn new_run(out: &mut BlockOut, run: &Run, live: bool, n_runs: &mut usize, num: Option<u64>) {
    match (num, out.last_num) {
        (Some(n), Some(prev)) if n > prev => {}
        (Some(_), None) if *n_runs == 0 => {}
        _ => out.simple = false,
    }
    if *n_runs == 0 {
        out.first_num = num;
    } else if *n_runs == 1 && out.head.is_none() && live {
        out.head = Some(run.clone());
    }
    if num.is_some() {
        out.last_num = num;
    }
    *n_runs += 1;
}

/// Columns of the whole file, filled block by block.
struct Merged {
    cust: Vec<u32>,
    at: Vec<i64>,
    amount: Vec<i64>,
    refunded: Vec<i64>,
    products: FxHashMap<String, u32>,
    catalog: Catalog,
    categories: FxHashMap<String, u32>,
    product: Vec<u32>,
    qty: Vec<u32>,
    line_off: Vec<u32>,
    /// The order-id column (see [`BlockOut::nums`]), gathered from the blocks only when ids need
    /// resolving ([`Merged::gather_nums`]).
    nums: Vec<u64>,
    texts: CustomerIds,
    /// Per block, moved from it as it is: its first order, the lines before it, and from that
    /// order on the relative first line and the id of each of its orders.
    blocks: Vec<BlockIds>,
    extra_order: Vec<u32>,
    extra_line: Vec<u64>,
    side: Vec<Side>,
    simple: bool,
    last_num: Option<u64>,
    tail: Option<Run>,
}

/// The id columns of one block of a [`Merged`].
struct BlockIds {
    first: u32,
    base: u64,
    rel: Vec<u32>,
    nums: Vec<u64>,
}

impl Run {
    /// Makes `self` a new run, reusing its buffers.
    #[inline]
    fn set(&mut self, id: &str, cust: &str, at: i64, sale: Option<u32>, other: bool) {
        self.id.clear();
        self.id.push_str(id);
        self.cust.clear();
        self.cust.push_str(cust);
        self.at = at;
        self.sale = sale;
        self.other = other;
    }
}

impl Default for Merged {
    fn default() -> Self {
        Merged {
            cust: Vec::new(),
            at: Vec::new(),
            amount: Vec::new(),
            refunded: Vec::new(),
            products: FxHashMap::default(),
            catalog: Catalog::default(),
            categories: FxHashMap::default(),
            product: Vec::new(),
            qty: Vec::new(),
            line_off: Vec::new(),
            nums: Vec::new(),
            texts: CustomerIds::new(),
            blocks: Vec::new(),
            extra_order: Vec::new(),
            extra_line: Vec::new(),
            side: Vec::new(),
            simple: true,
            last_num: None,
            tail: None,
        }
    }
}

/// Reads an orders file into an [`OrdersFile`] (see [`crate::read_orders`]).
/// `lines: false` leaves the order lines (products, categories) out of the log; quantities are
/// still checked.
pub(crate) fn read(
    path: String,
    origin: Origin,
    opts: &ImportOptions,
    progress: &dyn Fn(u64, u64),
    block: Option<usize>,
    lines: bool,
) -> Result<OrdersFile, ImportError> {
    check_map_fields(opts)?;
    let mut src = match block {
        Some(b) => Source::open_sampled(path, origin.clone(), opts, b, b)?,
        None => Source::open(path, origin.clone(), opts, BLOCK / 4)?,
    };
    let whole = src.is_whole();
    let plan = OrderPlan::new(&src, opts, whole)?;
    let (enc, delim, enc_name) = (src.encoding, src.delimiter, src.encoding_name());
    let has_lines = plan.pi.is_some() && lines;
    let has_ids = plan.oi.is_some();
    let has_refunded = plan.ri.is_some();
    let batch = rayon::current_num_threads().max(1);

    let mut m = Merged::default();
    let interner = Interner::new();
    if has_lines {
        m.line_off.push(0);
    }
    let mut base = src.header_lines;
    let mut rows = 0usize;
    let mut excluded = 0usize;
    let mut refund_rows = 0usize;
    let mut errors = Problems::default();
    let mut ev = SlashEvidence::default();
    let mut ambiguous = Ambiguous::default();
    let mut utf8_line: Option<u64> = None;
    let mut sized = false;
    let mut pending: Vec<Block> = read_batch(&mut src, batch)?;
    while !pending.is_empty() {
        // Parse this batch while the next one is read.
        let (outs, next) = rayon::join(
            || pending.par_iter().map(|b| parse_block(&plan, b, enc, delim, has_lines, &interner)).collect::<Vec<_>>(),
            || read_batch(&mut src, batch),
        );
        for b in std::mem::take(&mut pending) {
            src.recycle(b.raw);
        }
        for out in outs {
            if let Some(f) = &out.fatal {
                return Err(match f {
                    Fatal::Rec(e) => e.into_error(&plan.path, base),
                    Fatal::Utf8 { good, bad } => match utf8_line.or(good.map(|g| base + g + 1)) {
                        Some(u) => ImportError::MixedEncoding { path: plan.path.clone(), utf8_line: u, other_line: base + bad + 1 },
                        None => ImportError::Csv {
                            path: plan.path.clone(),
                            line: base + bad + 1,
                            message: "the text is not valid UTF-8 (name the file's encoding, e.g. windows-1251)".into(),
                        },
                    },
                });
            }
            if utf8_line.is_none() {
                utf8_line = out.utf8_good.map(|g| base + g + 1);
            }
            rows += out.rows;
            excluded += out.excluded;
            refund_rows += out.refund_rows;
            // Messages for the bad rows, now that their lines are known.
            for (rel, fields) in &out.bad {
                let cows: Vec<Cow<str>> = fields.iter().map(|s| Cow::Borrowed(s.as_str())).collect();
                let line = base + rel + 1;
                let msg =
                    match text_error(&plan.path, &plan.headers, &cows, line).map(Err).unwrap_or_else(|| plan.parse(&cows, line, &mut SlashEvidence::default()))
                    {
                        Err(e) => e,
                        Ok(_) => format!("{}:{line}: the row cannot be read", plan.path),
                    };
                if errors.listed.len() < MAX_LISTED {
                    errors.listed.push(msg);
                }
            }
            errors.count += out.n_bad;
            ev.merge(out.ev.clone());
            if let Some((rel, v)) = &out.ambiguous.first {
                ambiguous.merge(&Ambiguous { count: out.ambiguous.count, first: Some((base + rel + 1, v.clone())) });
            }
            let lines_in_block = out.lines;
            append(&mut m, out, has_lines, has_ids, has_refunded, base, &plan);
            base += lines_in_block;
        }
        progress(src.done, src.total);
        if !sized && src.done > 0 {
            // Reserve the columns once, from the rows per byte of the first batch.
            sized = true;
            let est = (m.at.len() as f64 * src.total as f64 / src.done as f64 * 1.02) as usize;
            let more = est.saturating_sub(m.at.len());
            m.cust.reserve_exact(more);
            m.at.reserve_exact(more);
            m.amount.reserve_exact(more);
            if has_ids {}
            if has_lines {
                let lines_est = (m.product.len() as f64 * src.total as f64 / src.done as f64 * 1.02) as usize;
                m.product.reserve_exact(lines_est.saturating_sub(m.product.len()));
                m.qty.reserve_exact(lines_est.saturating_sub(m.qty.len()));
                m.line_off.reserve_exact(more);
            }
        }
        pending = next?;
    }
    if rows == 0 {
        return Err(ImportError::NoRows { path: plan.path.clone() });
    }
    if ev.is_mixed() {
        ev.decide(&plan.path, &plan.headers[plan.di])?;
    }
    if errors.count > 0 && !opts.skip_bad_rows {
        return Err(ImportError::Rows { errors: errors.listed, total: errors.count });
    }
    let t_fin = std::time::Instant::now();
    let timing = std::env::var_os("HOLDFAST_TIMING").is_some();
    // Dense customer indices in order of first appearance.
    let (customer_ids, dense) = interner.finish();
    const MASK: u32 = (1 << SHARD_BITS) - 1;
    m.cust.par_iter_mut().for_each(|c| *c = dense[(*c & MASK) as usize][(*c >> SHARD_BITS) as usize]);
    drop(dense);
    // Order ids: orders sharing one, partial refunds (METRICS.md; see crate::assemble). With
    // increasing ids and no refund there is nothing to resolve, and file order is id order.
    let ids_in_order = has_ids && m.simple;
    if has_ids && (!m.simple || m.side.iter().any(|s| matches!(s.kind, PieceKind::Refund(_)))) {
        m.gather_nums();
    }
    let resolution = resolve_ids(&m, &customer_ids, &plan);
    if let Some(res) = &resolution {
        errors.count += res.bad_rows;
        for (_, e) in &res.errors {
            if errors.listed.len() < MAX_LISTED {
                errors.listed.push(e.clone());
            }
        }
        if res.bad_rows > 0 && !opts.skip_bad_rows {
            return Err(ImportError::Rows { errors: errors.listed, total: errors.count });
        }
    }
    let skipped = if opts.skip_bad_rows { errors.count } else { 0 };
    let mut gross: Option<Vec<i64>> = None;
    let mut customer_ids = customer_ids;
    if resolution.is_some() || has_refunded {
        gross = Some(rebuild(&mut m, resolution.as_ref(), has_lines, has_ids, has_refunded));
        // A customer whose every sale was refunded, cancelled or skipped is no customer.
        customer_ids = drop_unused_customers(customer_ids, &mut m.cust);
    }
    crate::check_total(&plan.path, m.amount.iter().copied())?;
    m.side = Vec::new();
    m.blocks = Vec::new();
    for v in [&mut m.cust, &mut m.product, &mut m.qty, &mut m.line_off] {
        v.shrink_to_fit();
    }
    m.at.shrink_to_fit();
    m.amount.shrink_to_fit();
    let lines = has_lines.then(|| OrderLines {
        offsets: std::mem::take(&mut m.line_off),
        product: std::mem::take(&mut m.product),
        quantity: std::mem::take(&mut m.qty),
    });
    if timing {
        eprintln!("timing:   finish   {:>7.3} s", t_fin.elapsed().as_secs_f64());
    }
    let t_sort = std::time::Instant::now();
    // Orders of one customer at one instant: by order id (METRICS.md). Orders without an id are
    // compared by the id the store derives for them, `~customer|at|amount`: for two orders of
    // one customer at one instant that is the amount's digits.
    let nums = std::mem::take(&mut m.nums);
    let texts = std::mem::take(&mut m.texts);
    let needs_gross = !ids_in_order && (nums.is_empty() || nums.contains(&NO_ID));
    let gross = match gross {
        Some(g) => g,
        None if needs_gross => m.amount.clone(),
        None => Vec::new(),
    };
    let tilde_ids = (0..texts.len()).any(|k| texts.get(k).starts_with('~'));
    let tilde = tilde_ids.then(|| (customer_ids.clone(), m.cust.clone(), m.at.clone()));
    let id_of = |i: usize| -> std::borrow::Cow<'_, str> {
        match nums.get(i).copied().unwrap_or(NO_ID) {
            NO_ID => match &tilde {
                Some((names, cust, at)) => format!("~{}|{}|{}", names.get(cust[i] as usize), at[i], gross[i]).into(),
                None => format!("~|{}", gross[i]).into(),
            },
            x if x & TEXT != 0 => texts.get((x & !TEXT) as usize).into(),
            x => x.to_string().into(),
        }
    };
    let tie = |a: usize, b: usize| -> std::cmp::Ordering {
        match (nums.get(a).copied().unwrap_or(NO_ID), nums.get(b).copied().unwrap_or(NO_ID)) {
            (x, y) if x & TEXT == 0 && y & TEXT == 0 => x.cmp(&y),
            _ => holdfast_core::cmp_order_ids(&id_of(a), &id_of(b)),
        }
    };
    let log = OrderLog::from_columns_tied(
        customer_ids,
        std::mem::take(&mut m.cust),
        std::mem::take(&mut m.at),
        std::mem::take(&mut m.amount),
        plan.currency,
        lines,
        std::mem::take(&mut m.catalog),
        if ids_in_order { None } else { Some(&tie) },
    );
    if timing {
        eprintln!("timing:   sort     {:>7.3} s", t_sort.elapsed().as_secs_f64());
    }
    progress(src.total, src.total);
    Ok(OrdersFile {
        log,
        rows,
        excluded_by_status: excluded,
        refund_rows,
        skipped,
        skip_reasons: if opts.skip_bad_rows { errors.listed } else { Vec::new() },
        currency: plan.currency,
        currency_assumed: plan.currency_assumed,
        encoding: enc_name,
        delimiter: delim,
        columns: column_names(&plan),
        warnings: ambiguous.warning(&plan).into_iter().collect(),
    })
}

fn read_batch(src: &mut Source, n: usize) -> Result<Vec<Block>, ImportError> {
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        match src.next_block()? {
            Some(b) => v.push(b),
            None => break,
        }
    }
    Ok(v)
}

/// Appends a block's columns; `base`: the lines before the block.
fn append(m: &mut Merged, mut out: BlockOut, has_lines: bool, has_ids: bool, has_refunded: bool, base: u64, plan: &OrderPlan) {
    let prod_map: Vec<u32> = out
        .products
        .iter()
        .map(|(name, cat)| {
            let p = match m.products.get(name) {
                Some(&p) => p,
                None => {
                    let p = m.catalog.products.len() as u32;
                    m.catalog.products.push(name.clone());
                    m.catalog.category_of.push(None);
                    m.products.insert(name.clone(), p);
                    p
                }
            };
            if let Some(c) = cat {
                let ci = match m.categories.get(c) {
                    Some(&ci) => ci,
                    None => {
                        let ci = m.catalog.categories.len() as u32;
                        m.catalog.categories.push(c.clone());
                        m.categories.insert(c.clone(), ci);
                        ci
                    }
                };
                m.catalog.category_of[p as usize] = Some(ci);
            }
            p
        })
        .collect();
    let n = out.cust.len();
    let pre = m.at.len() as u32;
    let mut first = 0usize;
    if has_ids {
        // The block's first run may continue the run the previous block ended with.
        let mut cont = false;
        if let (Some(t), Some(h)) = (&m.tail, &out.head) {
            if out.head_clean && t.id == h.id {
                cont = true;
                if t.cust == h.cust && plan.same_day(t.at, h.at) {
                    if (t.other || h.other) && (t.sale.is_some() || h.sale.is_some()) {
                        m.simple = false;
                    }
                    if let (Some(ts), Some(0)) = (t.sale, h.sale) {
                        if ts + 1 == pre && n > 0 {
                            let o = ts as usize;
                            m.amount[o] = m.amount[o].saturating_add(out.amount[0]);
                            m.at[o] = m.at[o].min(out.at[0]);
                            if has_refunded {
                                m.refunded[o] = m.refunded[o].saturating_add(out.refunded[0]);
                            }
                            m.extra_order.push(ts);
                            m.extra_line.push(base + out.rel[0] as u64 + 1);
                            if has_lines {
                                let r = out.line_off[0] as usize..out.line_off[1] as usize;
                                m.product.extend(out.product[r.clone()].iter().map(|&p| prod_map[p as usize]));
                                m.qty.extend_from_slice(&out.qty[r]);
                                if let Some(last) = m.line_off.last_mut() {
                                    *last = m.product.len() as u32;
                                }
                            }
                            first = 1;
                        }
                    }
                } else {
                    m.simple = false;
                }
            }
        }
        if !cont {
            if let (Some(f), Some(l)) = (out.first_num, m.last_num) {
                if f <= l {
                    m.simple = false;
                }
            }
        }
        if !out.simple {
            m.simple = false;
        }
        if out.last_num.is_some() {
            m.last_num = out.last_num;
        }
        // Local order k is order pre - first + k of the file (order 0 merged: pre - 1).
        let global = |k: u32| pre - first as u32 + k;
        if out.touched {
            m.tail = out.tail.clone().map(|mut t| {
                t.sale = t.sale.map(global);
                t
            });
        }
        let text_base = m.texts.len() as u64;
        let mut nums = std::mem::take(&mut out.nums);
        if !out.texts.is_empty() && text_base > 0 {
            for x in nums.iter_mut().filter(|x| **x != NO_ID && **x & TEXT != 0) {
                *x += text_base;
            }
        }
        for k in 0..out.texts.len() {
            m.texts.push(out.texts.get(k));
        }
        let mut rel = std::mem::take(&mut out.rel);
        if first > 0 {
            rel.drain(..first);
            nums.drain(..first);
        }
        m.blocks.push(BlockIds { first: pre, base, rel, nums });
        for &(o, rel) in &out.extra {
            m.extra_order.push(global(o));
            m.extra_line.push(base + rel as u64 + 1);
        }
    }
    for mut s in out.side {
        s.line += base + 1;
        m.side.push(s);
    }
    m.cust.extend_from_slice(&out.cust[first..]);
    m.at.extend_from_slice(&out.at[first..]);
    m.amount.extend_from_slice(&out.amount[first..]);
    if has_refunded {
        m.refunded.extend_from_slice(&out.refunded[first..]);
    }
    if has_lines {
        let lstart = out.line_off.get(first).copied().unwrap_or(0) as usize;
        let lbase = m.product.len() as u32 - lstart as u32;
        m.product.extend(out.product[lstart..].iter().map(|&p| prod_map[p as usize]));
        m.qty.extend_from_slice(&out.qty[lstart..]);
        m.line_off.extend(out.line_off[first + 1..].iter().map(|&o| o + lbase));
    }
}

impl Merged {
    /// The order-id column of the whole file, from the blocks.
    fn gather_nums(&mut self) {
        let mut nums = Vec::with_capacity(self.at.len());
        for b in &mut self.blocks {
            nums.append(&mut b.nums);
        }
        self.nums = nums;
    }
}

/// The columns and the side rows of a file as [`Pieces`]: orders `0..n`, then the side rows.
struct FilePieces<'a> {
    m: &'a Merged,
    names: &'a CustomerIds,
    n: usize,
}

impl Pieces for FilePieces<'_> {
    fn len(&self) -> usize {
        self.n + self.m.side.len()
    }

    fn line(&self, i: usize) -> u64 {
        if i < self.n {
            let b = &self.m.blocks[self.m.blocks.partition_point(|x| x.first as usize <= i) - 1];
            b.base + b.rel[i - b.first as usize] as u64 + 1
        } else {
            self.m.side[i - self.n].line
        }
    }

    fn extra_lines(&self, i: usize) -> &[u64] {
        if i >= self.n {
            return &[];
        }
        let lo = self.m.extra_order.partition_point(|&o| (o as usize) < i);
        let hi = self.m.extra_order.partition_point(|&o| (o as usize) <= i);
        &self.m.extra_line[lo..hi]
    }

    fn id(&self, i: usize) -> IdRef<'_> {
        if i < self.n {
            match self.m.nums.get(i).copied().unwrap_or(NO_ID) {
                NO_ID => IdRef::None,
                x if x & TEXT != 0 => IdRef::Text(self.m.texts.get((x & !TEXT) as usize)),
                x => IdRef::Num(x),
            }
        } else {
            IdRef::of(self.m.side[i - self.n].id.as_deref())
        }
    }

    fn customer(&self, i: usize) -> &str {
        if i < self.n {
            self.names.get(self.m.cust[i] as usize)
        } else {
            &self.m.side[i - self.n].customer
        }
    }

    fn at(&self, i: usize) -> i64 {
        if i < self.n {
            self.m.at[i]
        } else {
            self.m.side[i - self.n].at
        }
    }

    fn kind(&self, i: usize) -> PieceKind {
        if i < self.n {
            PieceKind::Sale
        } else {
            self.m.side[i - self.n].kind
        }
    }
}

/// What the order ids decide (see [`crate::assemble`]); `None` when nothing needs deciding: every
/// order has its own id, in increasing runs, and there is no partial refund.
fn resolve_ids(m: &Merged, names: &CustomerIds, plan: &OrderPlan) -> Option<Resolution> {
    let n = m.at.len();
    let pieces = FilePieces { m, names, n };
    let idless_refunds: Vec<u32> =
        (0..m.side.len()).filter(|&s| m.side[s].id.is_none() && matches!(m.side[s].kind, PieceKind::Refund(_))).map(|s| (n + s) as u32).collect();
    if m.simple && !m.side.iter().any(|s| matches!(s.kind, PieceKind::Refund(_))) {
        // Increasing ids and no partial refund: the rows aside (not sales) share no id with an
        // order, and those sharing one among themselves are adjacent lines of one order.
        return None;
    }
    let candidates: Vec<u32> = if !m.simple {
        (0..pieces.len() as u32).collect()
    } else {
        // Increasing ids: only the side rows, and the orders they name, can share an id.
        let mut c: Vec<u32> = Vec::new();
        for (s, side) in m.side.iter().enumerate() {
            if let IdRef::Num(k) = IdRef::of(side.id.as_deref()) {
                if let Ok(o) = m.nums.binary_search(&k) {
                    c.push(o as u32);
                }
            }
            c.push((n + s) as u32);
        }
        c.sort_unstable();
        c.dedup();
        c
    };
    if candidates.is_empty() && idless_refunds.is_empty() {
        return None;
    }
    let groups = groups_of(&pieces, &candidates);
    if groups.is_empty() && idless_refunds.is_empty() {
        return None;
    }
    let ctx = Ctx { path: &plan.path, cal: plan.cal, digits: plan.digits };
    Some(resolve(&ctx, &pieces, &groups, &idless_refunds))
}

/// The customers that still have an order, renumbered in the same order.
fn drop_unused_customers(names: CustomerIds, cust: &mut [u32]) -> CustomerIds {
    let mut used = vec![false; names.len()];
    for &c in cust.iter() {
        used[c as usize] = true;
    }
    if used.iter().all(|&u| u) {
        return names;
    }
    let mut map = vec![u32::MAX; names.len()];
    let mut out = CustomerIds::new();
    for (i, _) in used.iter().enumerate().filter(|x| *x.1) {
        map[i] = out.len() as u32;
        out.push(names.get(i));
    }
    for c in cust.iter_mut() {
        *c = map[*c as usize];
    }
    out
}

/// Applies a resolution and the refunds to the columns: joins the orders that share an id, drops
/// skipped orders and those that count for nothing, and leaves net amounts. Returns each kept
/// order's gross amount (what the store derives ids from).
fn rebuild(m: &mut Merged, res: Option<&Resolution>, has_lines: bool, has_ids: bool, has_refunded: bool) -> Vec<i64> {
    let n = m.at.len();
    let mut joined: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    if let Some(res) = res {
        for (&i, &t) in &res.target {
            if (i as usize) < n && t != SKIP && t != i && (t as usize) < n {
                joined.entry(t).or_default().push(i);
            }
        }
        for v in joined.values_mut() {
            v.sort_unstable();
        }
    }
    let mut cust = Vec::with_capacity(n);
    let mut at = Vec::with_capacity(n);
    let mut amount = Vec::with_capacity(n);
    let mut gross_out = Vec::with_capacity(n);
    // The id column, when it was gathered (ids to resolve); else ids are in file order.
    let has_nums = has_ids && m.nums.len() == n;
    let mut nums = Vec::with_capacity(if has_nums { n } else { 0 });
    let mut product = Vec::new();
    let mut qty = Vec::new();
    let mut line_off = Vec::new();
    if has_lines {
        product.reserve(m.product.len());
        qty.reserve(m.qty.len());
        line_off.reserve(n + 1);
        line_off.push(0u32);
    }
    let none: Vec<u32> = Vec::new();
    for i in 0..n {
        let (status, refund) = match res {
            Some(res) => {
                if res.leader_of(i) != i as u32 {
                    continue;
                }
                res.order_of(i as u32)
            }
            None => (OrderStatus::Completed, 0),
        };
        if status != OrderStatus::Completed {
            continue;
        }
        let others = joined.get(&(i as u32)).unwrap_or(&none);
        let members = std::iter::once(i).chain(others.iter().map(|&j| j as usize));
        let (mut gross, mut refunded, mut t) = (0i64, refund, i64::MAX);
        for j in members.clone() {
            gross = gross.saturating_add(m.amount[j]);
            if has_refunded {
                refunded = refunded.saturating_add(m.refunded[j]);
            }
            t = t.min(m.at[j]);
        }
        let (net, status) = crate::assemble::net_amount(status, gross, refunded);
        if status != OrderStatus::Completed {
            continue;
        }
        cust.push(m.cust[i]);
        at.push(t);
        amount.push(net);
        gross_out.push(gross);
        if has_nums {
            nums.push(m.nums[i]);
        }
        if has_lines {
            for j in members {
                let r = m.line_off[j] as usize..m.line_off[j + 1] as usize;
                product.extend_from_slice(&m.product[r.clone()]);
                qty.extend_from_slice(&m.qty[r]);
            }
            line_off.push(product.len() as u32);
        }
    }
    m.cust = cust;
    m.at = at;
    m.amount = amount;
    m.refunded = Vec::new();
    if has_nums {
        m.nums = nums;
    }
    if has_lines {
        m.product = product;
        m.qty = qty;
        m.line_off = line_off;
    }
    gross_out
}
