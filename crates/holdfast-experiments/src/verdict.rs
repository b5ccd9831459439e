//! The verdict in one sentence, in English and Russian: "Campaign "win-back" brought 41,000 ₽ of
//! extra profit (95% CI 12,000 – 70,000) for 9,000 ₽ of cost: ROI 3.6 (0.3 – 6.8)." Before the
//! window closes it says "not final" and gives no verdict; a sample-ratio mismatch withholds it.
//!
//! Amounts are rounded for reading — three significant digits from 1,000 up, whole units from 100,
//! two decimals below — and the JSON keeps them exact.

use crate::report::{fmt_p, ExperimentReport, Status, Verdict};
use holdfast_core::Currency;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    En,
    Ru,
}

/// The sign of the currency, or its code.
fn symbol(c: Currency) -> &'static str {
    match c.as_str() {
        "RUB" => "₽",
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        "UAH" => "₴",
        "KZT" => "₸",
        "BYN" => "Br",
        "BGN" => "лв",
        _ => "",
    }
}

fn round_for_reading(v: f64) -> f64 {
    let a = v.abs();
    if a >= 1000.0 {
        let step = 10f64.powi(a.log10().floor() as i32 - 2);
        (v / step).round() * step
    } else if a >= 100.0 {
        v.round()
    } else {
        (v * 100.0).round() / 100.0
    }
}

/// A number rounded for reading with the language's separators (`41,000` / `41 000`,
/// `3.6` / `3,6`) and a true minus sign.
fn number(v: f64, decimals: usize, lang: Lang) -> String {
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_owned(), Some(f.to_owned())),
        None => (s, None),
    };
    let grouped = holdfast_core::money::group_thousands(&int, if lang == Lang::En { "," } else { "\u{a0}" });
    let sign = if v < 0.0 && (v.abs() * 10f64.powi(decimals as i32)).round() > 0.0 { "−" } else { "" };
    match frac {
        Some(f) => format!("{sign}{grouped}{}{f}", if lang == Lang::En { "." } else { "," }),
        None => format!("{sign}{grouped}"),
    }
}

fn amount(v: f64, lang: Lang) -> String {
    let r = round_for_reading(v);
    number(r, if r.abs() >= 100.0 || r.fract() == 0.0 { 0 } else { 2 }, lang)
}

fn money(v: f64, c: Currency, lang: Lang) -> String {
    let s = amount(v, lang);
    match (symbol(c), lang) {
        ("", _) => format!("{s} {}", c.as_str()),
        ("$" | "£", Lang::En) if !s.starts_with('−') => format!("{}{s}", symbol(c)),
        (sym, _) => format!("{s} {sym}"),
    }
}

fn ratio(v: f64, lang: Lang) -> String {
    number(v, 1, lang)
}

/// The verdict sentences of a report whose other fields are filled in.
pub fn verdict(r: &ExperimentReport) -> Verdict {
    Verdict { status: r.status, en: sentence(r, Lang::En), ru: sentence(r, Lang::Ru) }
}

fn sentence(r: &ExperimentReport, lang: Lang) -> String {
    let en = lang == Lang::En;
    let c = r.currency;
    let name = &r.campaign;
    if r.status == Status::Blocked {
        let p = r.srm_p.map(fmt_p).unwrap_or_default();
        return if en {
            format!("No verdict for campaign \"{name}\": the group sizes do not match the planned split (sample-ratio mismatch, χ² p {}), so any difference between the groups may come from how customers were assigned or lost, not from the campaign; find the cause first.", with_eq(&p))
        } else {
            format!("По кампании «{name}» вывода нет: размеры групп не совпадают с запланированным разбиением (несоответствие долей выборки, χ² p {}), и разница между группами может объясняться тем, как клиентов распределили или потеряли, а не кампанией; сначала найдите причину.", with_eq(&p))
        };
    }
    let Some(inc) = &r.incremental else {
        return if en {
            format!("Campaign \"{name}\" has too few customers in a group to compute an interval: no verdict.")
        } else {
            format!("В кампании «{name}» слишком мало клиентов в группе, чтобы построить интервал: вывода нет.")
        };
    };
    let what = match (inc.margin.is_some(), en) {
        (true, true) => "extra profit",
        (false, true) => "extra revenue",
        (true, false) => "дополнительной прибыли",
        (false, false) => "дополнительной выручки",
    };
    let ci = if en { "95% CI" } else { "95\u{a0}% ДИ" };
    // A date as Russian readers write it: 31.03.2024.
    let ru_date = |iso: &str| iso.split('-').rev().collect::<Vec<_>>().join(".");
    let figure = format!(
        "{} {}{what} ({ci} {} – {})",
        money(inc.profit, c, lang),
        if en { "of " } else { "" },
        amount(inc.profit_ci_low, lang),
        amount(inc.profit_ci_high, lang)
    );
    let roi = match &r.roi {
        Some(roi) if en => {
            format!(" for {} of cost: ROI {} ({} – {})", money(inc.cost, c, lang), ratio(roi.value, lang), ratio(roi.ci_low, lang), ratio(roi.ci_high, lang))
        }
        Some(roi) => {
            format!(" при затратах {}: ROI {} ({} – {})", money(inc.cost, c, lang), ratio(roi.value, lang), ratio(roi.ci_low, lang), ratio(roi.ci_high, lang))
        }
        None if en => "; no cost was given, so there is no ROI".to_owned(),
        None => "; затраты не указаны, ROI не рассчитан".to_owned(),
    };
    let no_margin = match (inc.margin.is_none() && r.roi.is_some(), en) {
        (false, _) => "",
        (true, true) => " (no margin set: the ROI counts revenue as profit)",
        (true, false) => " (маржа не задана: ROI считает выручку прибылью)",
    };
    if r.status == Status::NotFinal {
        return if en {
            format!(
                "Not final: the attribution window closes on {}. So far campaign \"{name}\" shows {figure}{roi}{no_margin} — interim figures, not a verdict.",
                r.window_end
            )
        } else {
            format!(
                "Не окончательно: окно атрибуции закрывается {}. Пока кампания «{name}» показывает {figure}{roi}{no_margin} — промежуточные цифры, не вывод.",
                ru_date(&r.window_end)
            )
        };
    }
    let low_above = inc.profit_ci_low > 0.0;
    let high_below = inc.profit_ci_high < 0.0;
    let tail = match (low_above, high_below, en) {
        (true, _, _) => String::new(),
        (_, true, true) => "; the campaign lowered revenue".to_owned(),
        (_, true, false) => "; кампания снизила выручку".to_owned(),
        (_, _, true) => "; the interval includes zero, so no effect is shown".to_owned(),
        (_, _, false) => "; интервал включает ноль — эффект не доказан".to_owned(),
    };
    let mut s = if en {
        format!("Campaign \"{name}\" brought {figure}{roi}{no_margin}{tail}.")
    } else {
        format!("Кампания «{name}» принесла {figure}{roi}{no_margin}{tail}.")
    };
    if r.comparisons.len() > 1 {
        let n = r.comparisons.len() - 1;
        let winners: Vec<&str> = r.comparisons[1..].iter().filter(|c| c.significant).map(|c| c.group.as_str()).collect();
        let list = winners.join(", ");
        s.push(' ');
        s.push_str(&match (winners.is_empty(), en) {
            (true, true) => format!("Of its {n} variants none beats the control group after the Holm correction for {n} comparisons."),
            (false, true) => format!("Of its {n} variants, after the Holm correction for {n} comparisons, these beat the control group: {list}."),
            (true, false) => format!("Ни один из {n} вариантов не лучше контрольной группы с поправкой Холма на {n} сравнения."),
            (false, false) => format!("Из {n} вариантов с поправкой Холма на {n} сравнения лучше контрольной группы: {list}."),
        });
    }
    s
}

fn with_eq(p: &str) -> String {
    if p.starts_with('<') {
        p.to_owned()
    } else {
        format!("= {p}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_reading() {
        assert_eq!(amount(41_237.0, Lang::En), "41,200");
        assert_eq!(amount(41_237.0, Lang::Ru), "41\u{a0}200");
        assert_eq!(amount(-12_049.0, Lang::En), "−12,000");
        assert_eq!(amount(512.4, Lang::En), "512");
        assert_eq!(amount(5.456, Lang::Ru), "5,46");
        assert_eq!(amount(7.0, Lang::En), "7");
        assert_eq!(ratio(3.56, Lang::En), "3.6");
        assert_eq!(ratio(-0.04, Lang::Ru), "−0,0".replace('−', ""));
        assert_eq!(money(41_000.0, Currency::RUB, Lang::En), "41,000 ₽");
        assert_eq!(money(1_500.0, Currency::USD, Lang::En), "$1,500");
        assert_eq!(money(1_500.0, Currency::USD, Lang::Ru), "1\u{a0}500 $");
        assert_eq!(money(10.0, Currency::new("CHF").unwrap(), Lang::En), "10 CHF");
    }
}
