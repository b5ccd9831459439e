//! The fast path of [`crate::read_orders`]: blocks parsed in parallel (rayon) while the next ones
//! are read, customers interned per block and then into one table, orders kept columnar.
//!
//! Line numbers are known only once the blocks before are counted, so a worker keeps the fields
//! of its first bad records and the messages are made afterwards, with absolute lines.

use crate::engine::{decode_block, utf8_facts, Block, Origin, RecErr, Records, Source, BLOCK};
use crate::rows::{check_map_fields, column_names, OrderPlan, Problems, SlashEvidence, StatusMemo};
use crate::{ImportError, ImportOptions, OrdersFile, MAX_LISTED};
use holdfast_core::{Catalog, CustomerIds, OrderLines, OrderLog};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHasher};
use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

enum Fatal {
    Rec(RecErr),
    /// Not UTF-8 at line `bad`; `good`: an earlier line of the block with UTF-8 text.
    Utf8 { good: Option<u64>, bad: u64 },
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

#[derive(Default)]
struct BlockOut {
    lines: u64,
    rows: usize,
    excluded: usize,
    fatal: Option<Fatal>,
    /// Relative line and fields of the first bad records.
    bad: Vec<(u64, Vec<String>)>,
    n_bad: usize,
    utf8_good: Option<u64>,
    ev: SlashEvidence,
    cust: Vec<u32>,
    at: Vec<i64>,
    amount: Vec<i64>,
    products: Vec<(String, Option<String>)>,
    product: Vec<u32>,
    qty: Vec<u32>,
    /// Line offsets per order (local), length orders + 1 when the file has products.
    line_off: Vec<u32>,
    /// Order id hash per order, unless the block's ids are increasing numbers.
    keys: Option<Vec<u64>>,
    first_id: Option<String>,
    last_id: Option<String>,
    id_first_num: Option<u64>,
    id_last_num: Option<u64>,
    ids_increasing: bool,
}

fn parse_block(plan: &OrderPlan, block: &Block, enc: &'static encoding_rs::Encoding, delim: u8, force_keys: bool, has_lines: bool, interner: &Interner) -> BlockOut {
    let mut out = BlockOut { ids_increasing: true, ..Default::default() };
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
    let mut memo = StatusMemo::default();
    if has_lines {
        out.line_off.reserve(cap + 1);
        out.line_off.push(0);
    }
    let mut keys: Vec<u64> = Vec::new();
    let mut prod_local: FxHashMap<String, u32> = FxHashMap::default();
    let mut last_order = false;
    let mut last_cust = String::new();
    // Each order's customer: a range of the block text, or (u32::MAX, i) for `owned[i]`.
    let mut cust_ref: Vec<(u32, u32)> = Vec::with_capacity(cap);
    let mut owned: Vec<String> = Vec::new();
    let text_start = text.as_ptr() as usize;
    let mut last_id = String::new();
    let mut recs = Records::new(&text, delim);
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
        let res = plan.parse_memo(&f, tag + rel, &mut out.ev, &mut memo).and_then(|p| {
            if p.is_some() {
                plan.check_currency_cell(&f, tag + rel)?;
            }
            Ok(p)
        });
        let p = match res {
            Ok(Some(p)) => p,
            Ok(None) => {
                out.excluded += 1;
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
            if let Some(id) = p.order_id {
                if last_order && last_cust == p.customer && last_id == id {
                    merged = true;
                } else {
                    let num = if id.len() <= 18 && id.bytes().all(|b| b.is_ascii_digit()) { id.parse::<u64>().ok() } else { None };
                    match (num, out.id_last_num) {
                        (Some(n), Some(prev)) if n > prev => {}
                        (Some(_), None) if out.first_id.is_none() => {}
                        _ => out.ids_increasing = false,
                    }
                    if out.first_id.is_none() {
                        out.first_id = Some(id.to_string());
                        out.id_first_num = num;
                    }
                    out.id_last_num = num;
                    let mut h = FxHasher::default();
                    id.hash(&mut h);
                    keys.push(h.finish());
                    last_order = true;
                    last_cust.clear();
                    last_cust.push_str(p.customer);
                    last_id.clear();
                    last_id.push_str(id);
                }
            } else {
                out.ids_increasing = false;
                keys.push(u64::MAX);
                last_order = false;
            }
        }
        if merged {
            let o = out.at.len() - 1;
            out.amount[o] = out.amount[o].saturating_add(p.minor);
            out.at[o] = out.at[o].min(p.at);
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
    out.last_id = last_order.then_some(last_id);
    let names: Vec<&str> = cust_ref
        .iter()
        .map(|&(o, l)| if o == u32::MAX { owned[l as usize].as_str() } else { &text[o as usize..(o + l) as usize] })
        .collect();
    out.cust = vec![0; names.len()];
    interner.intern_block(block.index, &names, &mut out.cust);
    if has_ids && (!out.ids_increasing || force_keys) {
        out.keys = Some(keys);
    }
    out
}

/// Columns of the whole file, filled block by block.
#[derive(Default)]
struct Merged {
    cust: Vec<u32>,
    at: Vec<i64>,
    amount: Vec<i64>,
    products: FxHashMap<String, u32>,
    catalog: Catalog,
    categories: FxHashMap<String, u32>,
    product: Vec<u32>,
    qty: Vec<u32>,
    line_off: Vec<u32>,
    keys: Vec<u64>,
    need_keys: bool,
    keys_missing: bool,
    last_num: Option<u64>,
    last_id: Option<(u32, String)>,
}

/// Reads an orders file into an [`OrdersFile`] (see [`crate::read_orders`]).
/// `lines: false` leaves the order lines (products, categories) out of the log; quantities are
/// still checked.
pub(crate) fn read(path: String, origin: Origin, opts: &ImportOptions, progress: &dyn Fn(u64, u64), block: Option<usize>, lines: bool) -> Result<OrdersFile, ImportError> {
    read_with(path, origin, opts, progress, false, block.unwrap_or(BLOCK / 4), lines)
}

fn read_with(path: String, origin: Origin, opts: &ImportOptions, progress: &dyn Fn(u64, u64), force_keys: bool, block: usize, lines: bool) -> Result<OrdersFile, ImportError> {
    check_map_fields(opts)?;
    let mut src = Source::open(path, origin.clone(), opts, block)?;
    let whole = src.sample().len() as u64 + src.done >= src.total;
    let plan = OrderPlan::new(&src, opts, whole)?;
    let (enc, delim) = (src.encoding, src.delimiter);
    let has_lines = plan.pi.is_some() && lines;
    let has_ids = plan.oi.is_some();
    let batch = rayon::current_num_threads().max(1);

    let mut m = Merged::default();
    let interner = Interner::new();
    if has_lines {
        m.line_off.push(0);
    }
    let mut base = src.header_lines;
    let mut rows = 0usize;
    let mut excluded = 0usize;
    let mut errors = Problems::default();
    let mut ev = SlashEvidence::default();
    let mut utf8_line: Option<u64> = None;
    let mut sized = false;
    let mut pending: Vec<Block> = read_batch(&mut src, batch)?;
    while !pending.is_empty() {
        // Parse this batch while the next one is read.
        let (outs, next) = rayon::join(
            || pending.par_iter().map(|b| parse_block(&plan, b, enc, delim, force_keys, has_lines, &interner)).collect::<Vec<_>>(),
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
                        None => ImportError::Csv { path: plan.path.clone(), line: base + bad + 1, message: "the text is not valid UTF-8 (use --encoding)".into() },
                    },
                });
            }
            if utf8_line.is_none() {
                utf8_line = out.utf8_good.map(|g| base + g + 1);
            }
            rows += out.rows;
            excluded += out.excluded;
            // Messages for the bad rows, now that their lines are known.
            for (rel, fields) in &out.bad {
                let cows: Vec<Cow<str>> = fields.iter().map(|s| Cow::Borrowed(s.as_str())).collect();
                let line = base + rel + 1;
                let msg = match plan.parse(&cows, line, &mut SlashEvidence::default()).and_then(|p| {
                    if p.is_some() {
                        plan.check_currency_cell(&cows, line)?;
                    }
                    Ok(())
                }) {
                    Err(e) => e,
                    Ok(()) => format!("{}:{line}: the row cannot be read", plan.path),
                };
                if errors.listed.len() < MAX_LISTED {
                    errors.listed.push(msg);
                }
            }
            errors.count += out.n_bad;
            ev.merge(out.ev.clone());
            base += out.lines;
            append(&mut m, out, has_lines, has_ids);
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
            if has_lines {
                let lines_est = (m.product.len() as f64 * src.total as f64 / src.done as f64 * 1.02) as usize;
                m.product.reserve_exact(lines_est.saturating_sub(m.product.len()));
                m.qty.reserve_exact(lines_est.saturating_sub(m.qty.len()));
                m.line_off.reserve_exact(more);
            }
        }
        pending = next?;
    }
    if m.need_keys && m.keys_missing && !force_keys {
        return read_with(plan.path.clone(), origin, opts, progress, true, block, lines);
    }
    if rows == 0 {
        return Err(ImportError::NoRows { path: plan.path.clone() });
    }
    if ev.is_mixed() {
        ev.decide(&plan.path, &plan.headers[plan.di])?;
    }
    let skipped = if opts.skip_bad_rows { errors.count } else { 0 };
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
    if m.need_keys {
        merge_same_orders(&mut m, has_lines, customer_ids.len());
    }
    m.keys = Vec::new();
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
    let log = OrderLog::from_columns(
        customer_ids,
        std::mem::take(&mut m.cust),
        std::mem::take(&mut m.at),
        std::mem::take(&mut m.amount),
        plan.currency,
        lines,
        std::mem::take(&mut m.catalog),
    );
    if timing {
        eprintln!("timing:   sort     {:>7.3} s", t_sort.elapsed().as_secs_f64());
    }
    progress(src.total, src.total);
    Ok(OrdersFile {
        log,
        rows,
        excluded_by_status: excluded,
        skipped,
        skip_reasons: if opts.skip_bad_rows { errors.listed } else { Vec::new() },
        currency: plan.currency,
        currency_assumed: plan.currency_assumed,
        encoding: enc.name(),
        delimiter: delim,
        columns: column_names(&plan),
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


fn append(m: &mut Merged, out: BlockOut, has_lines: bool, has_ids: bool) {
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
    let mut first = 0usize;
    // The first order may continue the last order of the previous block.
    if has_ids && n > 0 {
        if let (Some((lc, lid)), Some(fid)) = (&m.last_id, &out.first_id) {
            if *lc == out.cust[0] && lid == fid && !m.at.is_empty() {
                let o = m.at.len() - 1;
                m.amount[o] = m.amount[o].saturating_add(out.amount[0]);
                m.at[o] = m.at[o].min(out.at[0]);
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
        // Order ids must keep increasing across blocks for the per-block check to hold.
        if out.ids_increasing {
            if let (Some(prev), Some(f)) = (m.last_num, out.id_first_num) {
                if f <= prev && first == 0 {
                    m.need_keys = true;
                }
            }
        } else {
            m.need_keys = true;
        }
        match &out.keys {
            Some(k) => m.keys.extend_from_slice(&k[first..]),
            None => {
                m.keys_missing = true;
            }
        }
        if out.id_last_num.is_some() || !out.ids_increasing {
            m.last_num = out.id_last_num;
        }
        if let Some(lid) = &out.last_id {
            m.last_id = Some((out.cust[n - 1], lid.clone()));
        }
    }
    let cap = |v: &mut Vec<u32>| v.reserve(n);
    cap(&mut m.cust);
    m.cust.extend_from_slice(&out.cust[first..]);
    m.at.extend_from_slice(&out.at[first..]);
    m.amount.extend_from_slice(&out.amount[first..]);
    if has_lines {
        let lstart = out.line_off.get(first).copied().unwrap_or(0) as usize;
        let base = m.product.len() as u32 - lstart as u32;
        m.product.extend(out.product[lstart..].iter().map(|&p| prod_map[p as usize]));
        m.qty.extend_from_slice(&out.qty[lstart..]);
        m.line_off.extend(out.line_off[first + 1..].iter().map(|&o| o + base));
    }
}

/// Orders of one customer sharing an order id (not adjacent in the file) become one order.
fn merge_same_orders(m: &mut Merged, has_lines: bool, nc: usize) {
    let n = m.cust.len();
    if m.keys.len() != n {
        return;
    }
    let mut off = vec![0u32; nc + 1];
    for &c in &m.cust {
        off[c as usize + 1] += 1;
    }
    for i in 0..nc {
        off[i + 1] += off[i];
    }
    let mut next = off[..nc].to_vec();
    let mut perm = vec![0u32; n];
    for (i, &c) in m.cust.iter().enumerate() {
        perm[next[c as usize] as usize] = i as u32;
        next[c as usize] += 1;
    }
    drop(next);
    // target[i]: the order row i is merged into (itself when first of its id).
    let mut target: Vec<u32> = (0..n as u32).collect();
    let mut any = false;
    let mut group: Vec<(u64, u32)> = Vec::new();
    for c in 0..nc {
        let rows = &perm[off[c] as usize..off[c + 1] as usize];
        if rows.len() < 2 {
            continue;
        }
        group.clear();
        group.extend(rows.iter().map(|&i| (m.keys[i as usize], i)));
        group.sort_unstable();
        for w in 1..group.len() {
            let (k0, i0) = group[w - 1];
            let (k1, i1) = group[w];
            if k0 == k1 && k0 != u64::MAX {
                target[i1 as usize] = target[i0 as usize];
                any = true;
            }
        }
    }
    drop(perm);
    drop(off);
    if !any {
        return;
    }
    let mut cust = Vec::new();
    let mut at = Vec::new();
    let mut amount = Vec::new();
    let mut new_index = vec![u32::MAX; n];
    let mut members: Vec<Vec<u32>> = Vec::new();
    for i in 0..n {
        let t = target[i] as usize;
        if t == i {
            new_index[i] = cust.len() as u32;
            cust.push(m.cust[i]);
            at.push(m.at[i]);
            amount.push(m.amount[i]);
            members.push(vec![i as u32]);
        } else {
            let o = new_index[t] as usize;
            amount[o] = amount[o].saturating_add(m.amount[i]);
            at[o] = at[o].min(m.at[i]);
            members[o].push(i as u32);
        }
    }
    if has_lines {
        let mut product = Vec::with_capacity(m.product.len());
        let mut qty = Vec::with_capacity(m.qty.len());
        let mut line_off = Vec::with_capacity(cust.len() + 1);
        line_off.push(0);
        for mem in &members {
            for &i in mem {
                let r = m.line_off[i as usize] as usize..m.line_off[i as usize + 1] as usize;
                product.extend_from_slice(&m.product[r.clone()]);
                qty.extend_from_slice(&m.qty[r]);
            }
            line_off.push(product.len() as u32);
        }
        m.product = product;
        m.qty = qty;
        m.line_off = line_off;
    }
    m.cust = cust;
    m.at = at;
    m.amount = amount;
}
