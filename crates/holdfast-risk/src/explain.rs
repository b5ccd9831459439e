//! Plain words for a reason, in English and Russian, from the customer's own numbers: "no order
//! for 212 days, 3.4× their usual gap of 62 days".

use crate::features::{Facts, Feature};

/// The language of an explanation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Ru,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "ru" => Some(Lang::Ru),
            _ => None,
        }
    }
}

fn en(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Russian count with the noun in its form for `n`: 1 заказ, 2 заказа, 5 заказов, 21 заказ.
fn ru(n: u64, forms: [&str; 3]) -> String {
    let (m10, m100) = (n % 10, n % 100);
    let form = if m10 == 1 && m100 != 11 {
        forms[0]
    } else if (2..=4).contains(&m10) && !(12..=14).contains(&m100) {
        forms[1]
    } else {
        forms[2]
    };
    format!("{n} {form}")
}

/// A number with `digits` decimals, with a decimal comma in Russian.
fn num(v: f64, digits: usize, lang: Lang) -> String {
    let s = format!("{v:.digits$}");
    match lang {
        Lang::En => s,
        Lang::Ru => s.replace('.', ","),
    }
}

const DAYS: [&str; 3] = ["день", "дня", "дней"];
const ORDERS: [&str; 3] = ["заказ", "заказа", "заказов"];

/// The explanation of `feature` for a customer with `f` (horizon `h` days).
pub fn explain(feature: Feature, f: &Facts, h: i64, lang: Lang) -> String {
    let d = |v: f64| v.round().max(0.0) as u64;
    let h = h.max(0) as u64;
    match (feature, lang) {
        (Feature::RecencyRatio, Lang::En) => format!(
            "no order for {} days, {}× their usual gap of {}",
            d(f.days_since_last),
            num(f.value(feature), 1, lang),
            en(d(f.usual_gap_days), "day", "days")
        ),
        (Feature::RecencyRatio, Lang::Ru) => format!(
            "нет заказов {}, в {} раза дольше обычного интервала ({})",
            ru(d(f.days_since_last), DAYS),
            num(f.value(feature), 1, lang),
            ru(d(f.usual_gap_days), DAYS)
        ),
        (Feature::DaysSinceLast, Lang::En) => format!("no order for {}", en(d(f.days_since_last), "day", "days")),
        (Feature::DaysSinceLast, Lang::Ru) => format!("нет заказов {}", ru(d(f.days_since_last), DAYS)),
        (Feature::Orders, Lang::En) => format!("{} so far", en(f.orders as u64, "order", "orders")),
        (Feature::Orders, Lang::Ru) => format!("всего {}", ru(f.orders as u64, ORDERS)),
        (Feature::Tenure, Lang::En) => format!("a customer for {}", en(d(f.tenure_days), "day", "days")),
        (Feature::Tenure, Lang::Ru) => format!("клиент {}", ru(d(f.tenure_days), DAYS)),
        (Feature::FrequencyTrend, _) => match (f.expected_recent, lang) {
            (Some(e), Lang::En) => {
                format!("{} in the last {h} days against {} expected from their earlier rate", en(f.recent_orders as u64, "order", "orders"), num(e, 1, lang))
            }
            (Some(e), Lang::Ru) => {
                format!("{} за последние {} при {} ожидаемых по прежнему темпу", ru(f.recent_orders as u64, ORDERS), ru(h, DAYS), num(e, 1, lang))
            }
            (None, Lang::En) => format!("too little history before the last {h} days to compare how often they order"),
            (None, Lang::Ru) => format!("слишком короткая история до последних {}, чтобы сравнить частоту заказов", ru(h, DAYS)),
        },
        (Feature::MonetaryTrend, _) => match (f.late_value, f.early_value) {
            (Some(l), Some(e)) if l > 0.0 && e > 0.0 => {
                let pct = ((l / e - 1.0) * 100.0).round();
                match lang {
                    Lang::En => format!(
                        "the last two orders average {}, earlier ones {} ({}% {})",
                        num(l, 2, lang),
                        num(e, 2, lang),
                        pct.abs(),
                        if pct < 0.0 { "less" } else { "more" }
                    ),
                    Lang::Ru => format!(
                        "последние два заказа в среднем {}, прежние {} (на {}% {})",
                        num(l, 2, lang),
                        num(e, 2, lang),
                        pct.abs(),
                        if pct < 0.0 { "меньше" } else { "больше" }
                    ),
                }
            }
            _ => match lang {
                Lang::En => "fewer than 4 orders: no spending trend yet".to_string(),
                Lang::Ru => "меньше 4 заказов: тренда трат ещё нет".to_string(),
            },
        },
        (Feature::PAlive, Lang::En) => format!("the purchase model (BG/NBD) gives a {}% chance they still buy", num(f.value(feature) * 100.0, 0, lang)),
        (Feature::PAlive, Lang::Ru) => format!("по модели покупок (BG/NBD) клиент ещё покупает с вероятностью {}%", num(f.value(feature) * 100.0, 0, lang)),
        (Feature::ExpectedPurchases, Lang::En) => format!("expected to buy {} times in the next {h} days", num(f.value(feature), 2, lang)),
        (Feature::ExpectedPurchases, Lang::Ru) => format!("ожидается {} покупки за следующие {}", num(f.value(feature), 2, lang), ru(h, DAYS)),
        (Feature::LoginTrend, Lang::En) => {
            format!("{} in the last 30 days against {} per 30 days before", en(f.logins_recent as u64, "login", "logins"), num(f.logins_rate, 1, lang))
        }
        (Feature::LoginTrend, Lang::Ru) => {
            format!("{} за последние 30 дней против {} за 30 дней раньше", ru(f.logins_recent as u64, ["вход", "входа", "входов"]), num(f.logins_rate, 1, lang))
        }
        (Feature::Tickets, Lang::En) => format!("{} in the last 90 days", en(f.tickets as u64, "support ticket", "support tickets")),
        (Feature::Tickets, Lang::Ru) => format!("{} в поддержку за последние 90 дней", ru(f.tickets as u64, ["обращение", "обращения", "обращений"])),
        (Feature::NegativeTickets, Lang::En) => {
            format!("{} in the last 90 days", en(f.negative_tickets as u64, "negative support ticket or complaint", "negative support tickets or complaints"))
        }
        (Feature::NegativeTickets, Lang::Ru) => {
            format!(
                "{} за последние 90 дней",
                ru(f.negative_tickets as u64, ["негативное обращение или жалоба", "негативных обращения или жалобы", "негативных обращений или жалоб"])
            )
        }
        (Feature::EmailsIgnored, Lang::En) => match f.emails_ignored {
            0 => "opened the last message sent".to_string(),
            n => format!("{} sent in the last 90 days, none opened", en(n as u64, "message", "messages")),
        },
        (Feature::EmailsIgnored, Lang::Ru) => match f.emails_ignored {
            0 => "открыл последнее письмо".to_string(),
            n => format!("{} за последние 90 дней, ни одно не открыто", ru(n as u64, ["письмо", "письма", "писем"])),
        },
        (Feature::NpsDetractor, _) => match (f.nps, lang) {
            (Some(s), Lang::En) => format!("answered {s} out of 10 to \"would you recommend us\""),
            (Some(s), Lang::Ru) => format!("ответил {s} из 10 на вопрос «порекомендуете ли нас»"),
            (None, Lang::En) => "no NPS answer in the last year".to_string(),
            (None, Lang::Ru) => "нет ответа NPS за последний год".to_string(),
        },
        (Feature::AddonCancelled, Lang::En) => format!("cancelled {} in the last 90 days", en(f.addons_cancelled as u64, "add-on", "add-ons")),
        (Feature::AddonCancelled, Lang::Ru) => {
            format!("отказался от {} за последние 90 дней", ru(f.addons_cancelled as u64, ["дополнения", "дополнений", "дополнений"]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_plurals() {
        assert_eq!(ru(1, DAYS), "1 день");
        assert_eq!(ru(3, DAYS), "3 дня");
        assert_eq!(ru(11, DAYS), "11 дней");
        assert_eq!(ru(21, DAYS), "21 день");
        assert_eq!(ru(212, DAYS), "212 дней");
        assert_eq!(ru(104, DAYS), "104 дня");
    }

    #[test]
    fn recency_in_both_languages() {
        let f = Facts { days_since_last: 212.0, usual_gap_days: 62.0, orders: 5, ..Facts::default() };
        assert_eq!(explain(Feature::RecencyRatio, &f, 90, Lang::En), "no order for 212 days, 3.4× their usual gap of 62 days");
        assert_eq!(explain(Feature::RecencyRatio, &f, 90, Lang::Ru), "нет заказов 212 дней, в 3,4 раза дольше обычного интервала (62 дня)");
        assert_eq!(explain(Feature::Orders, &f, 90, Lang::Ru), "всего 5 заказов");
    }
}
