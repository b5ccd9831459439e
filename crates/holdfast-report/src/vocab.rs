//! The report's words for things `holdfast-core` names in English: segments, lifecycle states,
//! value tiers' effort, suggested steps, severities, flag kinds and flag explanations, periods.
//!
//! Keyed by core's own strings (`as_str`, `key`), so a name core adds later shows in English
//! until it gets its translation here, rather than breaking the build.

use crate::locale::Lang;
use holdfast_core::flags::{Explanation, Flag};
use holdfast_core::nbo::{Chain, Offer, OfferBasis};
use holdfast_core::Granularity;
use holdfast_core::OrderLog;

/// A word of core's in the language: `word(l, "champions")`. Unknown words stay as they are.
pub fn word(l: Lang, en: &str) -> String {
    if l == Lang::En {
        return en.to_string();
    }
    let ru = match en {
        // Segments (display names and keys).
        "champions" => "чемпионы",
        "loyal" => "лояльные",
        "potential loyalists" | "potential_loyalists" => "потенциально лояльные",
        "new" => "новые",
        "promising" => "перспективные",
        "need attention" | "need_attention" => "требуют внимания",
        "about to sleep" | "about_to_sleep" => "засыпающие",
        "at risk" | "at_risk" => "под угрозой",
        "can't lose them" | "cant_lose_them" => "нельзя потерять",
        "hibernating" => "спящие",
        "lost" => "ушедшие",
        // Lifecycle states.
        "active" => "активные",
        "passive" => "пассивные",
        "sleeping" => "уснувшие",
        "reactivated" => "вернувшиеся",
        // Tiers' effort.
        "personal call by the owner" => "личный звонок владельца",
        "personal letter" => "личное письмо",
        "template letter" => "письмо по шаблону",
        // Suggested steps.
        "personal call" => "личный звонок",
        "check-in letter" => "письмо «как у вас дела»",
        "personal offer" => "персональное предложение",
        "survey" => "опрос",
        // Severities.
        "high" => "высокая",
        "medium" => "средняя",
        "low" => "низкая",
        // Flag kinds.
        "silence_beyond_rhythm" => "молчит дольше своего ритма",
        "frequency_drop" => "стал заказывать реже",
        "shrinking_orders" => "заказы уменьшаются",
        "fewer_categories" => "меньше категорий товаров",
        "fewer_logins" => "реже заходит",
        "ignored_messages" => "не открывает письма",
        "negative_ticket" => "недовольное обращение",
        "detractor" => "низкая оценка (критик)",
        "cancelled_addon" => "отказался от допуслуги",
        "missed_initiative" => "не купил следующее",
        "no_second_order" => "нет второго заказа",
        // Where a task stands this week, and its state.
        "this_week" | "this week" => "на этой неделе",
        "waiting" => "ждёт очереди",
        "snoozed" => "отложена",
        "automation" => "автоматизация",
        "open" => "открыта",
        "done" => "выполнена",
        "dismissed" => "отклонена",
        // Kinds of customers.
        "person" => "частное лицо",
        "company" => "компания",
        // Order statuses.
        "completed" => "выполнен",
        "pending" => "в обработке",
        "refunded" => "возвращён",
        "cancelled" => "отменён",
        "failed" => "не прошёл",
        "chargeback" => "опротестован",
        // Kinds of offers.
        "cross_sell" | "cross-sell" => "кросс-продажа",
        "upsell" => "допродажа",
        "replenishment" => "пополнение запаса",
        _ => return en.to_string(),
    };
    ru.to_string()
}

/// The name of a period: `month` / `месяц`.
pub fn period(l: Lang, g: Granularity) -> &'static str {
    match (l, g) {
        (Lang::En, Granularity::Month) => "month",
        (Lang::En, Granularity::Quarter) => "quarter",
        (Lang::En, _) => "year",
        (Lang::Ru, Granularity::Month) => "месяц",
        (Lang::Ru, Granularity::Quarter) => "квартал",
        (Lang::Ru, _) => "год",
    }
}

/// The plural of a period for axis titles: `months` / `месяцев`.
pub fn periods(l: Lang, g: Granularity) -> &'static str {
    match (l, g) {
        (Lang::En, Granularity::Month) => "months",
        (Lang::En, Granularity::Quarter) => "quarters",
        (Lang::En, _) => "years",
        (Lang::Ru, Granularity::Month) => "месяцев",
        (Lang::Ru, Granularity::Quarter) => "кварталов",
        (Lang::Ru, _) => "лет",
    }
}

/// A warning of the report (core's movement and the report's own) in the language; one it does not
/// know stays as written.
pub fn warning(l: Lang, w: &str, window_days: u32, g: Granularity) -> String {
    if l == Lang::En {
        return w.to_string();
    }
    if w.starts_with("The last period has not ended") {
        "Последний период на дату отчёта не закончился: его итоговые числа взяты на дату отчёта.".into()
    } else if w.starts_with("The inactivity window (") {
        format!(
            "Окно неактивности ({window_days} дн.) короче периода ({}): клиент может прийти и уйти внутри одного периода, поэтому «привлечённых» может быть больше, чем «новых».",
            period(l, g)
        )
    } else if w.starts_with("There are no counted orders") {
        "До даты отчёта нет учтённых заказов: все показатели пусты.".into()
    } else if w.starts_with("No ") && w.contains("has ended by the as-of date") {
        format!("Ни один период ({}) ещё не закончился к дате отчёта: доли на карточках пусты.", period(l, g))
    } else {
        w.to_string()
    }
}

/// Where a campaign's message stands in the outbox (`pending`, `sent`, `held_out`, …) in the
/// language; a state it does not know stays as written.
pub fn outbox_state(l: Lang, s: &str) -> String {
    if l == Lang::En {
        return s.to_string();
    }
    match s {
        "pending" => "ждут отправки",
        "sending" => "отправляются",
        "sent" => "отправлено",
        "held_out" => "контрольная группа",
        "dead" => "не доставлено",
        "cancelled" => "отменено",
        "reserved" => "отправляется",
        "capped" => "сверх бюджета",
        "suppressed" => "подавлено",
        "released" => "снято",
        other => other,
    }
    .to_string()
}

/// A campaign's state (`active`, `paused`, `archived`) in the language.
pub fn campaign_state(l: Lang, s: &str) -> String {
    match (l, s) {
        (Lang::Ru, "active") => "активна".into(),
        (Lang::Ru, "paused") => "приостановлена".into(),
        (Lang::Ru, "archived") => "в архиве".into(),
        (Lang::Ru, "draft") => "черновик".into(),
        _ => s.to_string(),
    }
}

/// Why a next best offer is made, in the language: core's sentence in English, the same figures
/// in Russian. `chains` are those the offers were computed from.
pub fn offer_reason(l: Lang, o: &Offer, log: &OrderLog, chains: &[Chain]) -> String {
    if l == Lang::En {
        return o.reason(log, chains);
    }
    const DAY: f64 = 86_400.0;
    let ago = |t: i64| ((o.as_of - t) as f64 / DAY).floor().max(0.0);
    match o.basis {
        OfferBasis::Replenishment { interval, purchases, last } => {
            let due = o.due.unwrap_or(o.as_of);
            let when = if due == o.as_of {
                "пора сегодня".to_string()
            } else if due < o.as_of {
                format!("пора было {} назад", ru_days(((o.as_of - due) as f64 / DAY).floor()))
            } else {
                format!("пора через {}", ru_days(((due - o.as_of) as f64 / DAY).ceil()))
            };
            format!(
                "покупает {} {} (покупок: {purchases}); последний раз {} назад, {when}",
                o.product(log),
                ru_every((interval / DAY).round()),
                ru_days(ago(last))
            )
        }
        OfferBasis::Chain { chain, last } => match chains.get(chain as usize) {
            Some(ch) => {
                let next = if ch.replenishment { format!("{} снова", ch.from) } else { ch.to.clone() };
                format!(
                    "{} клиентов, купивших {}, покупали {next} в течение {} (обычно через {}); {} куплен {} назад",
                    l.pct(Some(ch.confidence)),
                    ch.from,
                    ru_days(ch.window_days as f64),
                    ru_days(ch.median_delay_days.round()),
                    ch.from,
                    ru_days(ago(last))
                )
            }
            None => String::new(),
        },
    }
}

/// Whole days in Russian with the noun agreeing: 1 день, 2 дня, 5 дней.
fn ru_days(n: f64) -> String {
    let k = n.floor().abs() as u64;
    let noun = match (k % 10, k % 100) {
        (1, r) if r != 11 => "день",
        (2..=4, r) if !(12..=14).contains(&r) => "дня",
        _ => "дней",
    };
    format!("{} {noun}", Lang::Ru.count(n.floor() as i64))
}

/// "every 30 days" in Russian: раз в 30 дней.
fn ru_every(gap: f64) -> String {
    if gap < 1.5 {
        "каждый день".into()
    } else {
        format!("раз в {}", ru_days(gap.round()))
    }
}

/// "реже 1 раза из 50": how rare a probability is (core's `baseline::rarity` in Russian).
fn ru_rarity(p: f64) -> String {
    if p < 0.001 {
        return "реже 1 раза из 1\u{a0}000".to_string();
    }
    for n in [500u32, 200, 100, 50, 20, 10] {
        if p < 1.0 / n as f64 {
            return format!("реже 1 раза из {n}");
        }
    }
    match (1.0 / p.max(1e-9)).round() as u32 {
        0 | 1 => "почти всегда".to_string(),
        n => format!("примерно 1 раз из {n}"),
    }
}

/// The explanation of one flag in the language, with its numbers.
pub fn explanation(l: Lang, f: &Flag) -> String {
    if l == Lang::En {
        return f.explanation.to_string();
    }
    let kind = word(l, f.kind.as_str());
    let detail = match &f.explanation {
        Explanation::Silence { usual, silent, p, gaps } => {
            let from = if *gaps < 3 { format!(" (по {} заказам и обычному ритму магазина)", gaps + 1) } else { String::new() };
            Some(format!("обычно заказывает {}{from}; молчит {} — такой перерыв бывает у него {}", ru_every(*usual), ru_days(*silent), ru_rarity(*p)))
        }
        Explanation::NoSecondOrder { silent, p } => Some(format!(
            "один заказ, {} назад; {} первых покупателей здесь заказывают снова раньше — такое ожидание бывает {}",
            ru_days(*silent),
            l.pct(Some((1.0 - p).clamp(0.0, 1.0))),
            ru_rarity(*p)
        )),
        Explanation::FrequencyDrop { recent, window, expected, p } => Some(format!(
            "заказов за последние {}: {recent}, а обычно {} — так мало бывает у него {}",
            ru_days(window.round()),
            l.number(Some(*expected), 1),
            ru_rarity(*p)
        )),
        Explanation::ShrinkingOrders { late, early, drop, p } => Some(format!(
            "последние 3 заказа в среднем {}, раньше в среднем {} (на {} меньше) — так сильно меньше бывает у него {}",
            l.money(Some(*late)),
            l.money(Some(*early)),
            l.pct(Some(*drop)),
            ru_rarity(*p)
        )),
        Explanation::FewerCategories { early, late, expected, p } => Some(format!(
            "раньше покупал в {early} категориях; в последних 3 заказах — {late} из них, а обычно {} — так мало бывает у него {}",
            l.number(Some(*expected), 1),
            ru_rarity(*p)
        )),
        Explanation::MissedInitiative { chain, since, activity_known, .. } => {
            let c = chain.as_ref();
            let next = if c.replenishment { format!("{} снова", c.from) } else { c.to.clone() };
            Some(format!(
                "купил {} {} назад и с тех пор не купил {next}; {} клиентов, купивших {}, покупали {next} в течение {} (обычно через {}); {}",
                c.from,
                ru_days(*since),
                l.pct(Some(c.confidence)),
                c.from,
                ru_days(c.window_days as f64),
                ru_days(c.median_delay_days.round()),
                if *activity_known { "им это не предлагали" } else { "предложений в записях нет" }
            ))
        }
        _ => None,
    };
    match detail {
        Some(d) => format!("{kind}: {d}"),
        // Written out by core in English: the kind in Russian, its details as they are.
        None => format!("{kind}: {}", f.explanation),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_days_agree() {
        assert_eq!(ru_days(1.0), "1 день");
        assert_eq!(ru_days(3.0), "3 дня");
        assert_eq!(ru_days(11.0), "11 дней");
        assert_eq!(ru_days(21.0), "21 день");
        assert_eq!(ru_days(112.0), "112 дней");
        assert_eq!(ru_days(1234.0), "1\u{a0}234 дня");
    }

    #[test]
    fn the_report_warnings_in_russian() {
        // The sentences core's movement and the report write, as they write them.
        let g = Granularity::Quarter;
        let w =
            "The inactivity window (30 days) is shorter than a quarter: a customer can join and lapse within one period, so \"acquired\" can exceed \"new\".";
        assert!(warning(Lang::Ru, w, 30, g).starts_with("Окно неактивности (30 дн.) короче периода (квартал)"));
        let last = "The last period has not ended at the as-of date: its end figures are taken at the as-of date.";
        assert!(warning(Lang::Ru, last, 30, g).starts_with("Последний период"));
        assert_eq!(warning(Lang::En, last, 30, g), last);
        assert_eq!(warning(Lang::Ru, "Something new.", 30, g), "Something new.");
    }

    #[test]
    fn fewer_categories_in_russian() {
        use holdfast_core::flags::{fewer_categories, Baseline};
        let log = holdfast_core::OrderLogBuilder::new(holdfast_core::Currency::new("USD").unwrap()).build();
        let base = Baseline::fit(&log, None, 0, 0.05);
        let o = vec![vec![0, 1], vec![2, 3], vec![0, 2], vec![1, 3], vec![0, 1, 2], vec![3], vec![0], vec![0], vec![0]];
        let f = fewer_categories(&o, &base).unwrap();
        assert_eq!(
            explanation(Lang::Ru, &f),
            "меньше категорий товаров: раньше покупал в 4 категориях; в последних 3 заказах — 1 из них, а обычно 3,3 — так мало бывает у него реже 1 раза из 50"
        );
    }

    #[test]
    fn unknown_words_stay_english() {
        assert_eq!(word(Lang::Ru, "automated sequence"), "automated sequence");
        assert_eq!(word(Lang::Ru, "champions"), "чемпионы");
        assert_eq!(word(Lang::En, "champions"), "champions");
    }
}
