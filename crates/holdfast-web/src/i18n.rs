//! The dashboard's two languages. A person's choice wins; else the browser's `Accept-Language`.

use axum::http::{header, HeaderMap};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Ru,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "ru" => Some(Lang::Ru),
            _ => None,
        }
    }

    /// The same language for what `holdfast-report` writes (its sections, its vocabulary).
    pub fn report(self) -> holdfast_report::Lang {
        match self {
            Lang::En => holdfast_report::Lang::En,
            Lang::Ru => holdfast_report::Lang::Ru,
        }
    }

    /// The person's language if set, else the first of the browser's languages we speak
    /// (Ukrainian, Belarusian and Kazakh readers get Russian rather than English).
    pub fn negotiate(chosen: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(l) = chosen.and_then(Lang::parse) {
            return l;
        }
        let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
        for part in accept.split(',') {
            let tag = part.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            let primary = tag.split('-').next().unwrap_or("");
            match primary {
                "en" => return Lang::En,
                "ru" | "uk" | "be" | "kk" => return Lang::Ru,
                _ => {}
            }
        }
        Lang::En
    }

    /// The text of `key` in this language (the key itself, in English, when missing).
    pub fn t(self, key: &'static str) -> &'static str {
        if self == Lang::En {
            return EN.iter().find(|(k, _)| *k == key).map_or(key, |(_, v)| v);
        }
        RU.iter().find(|(k, _)| *k == key).map_or_else(|| Lang::En.t(key), |(_, v)| v)
    }
}

/// English texts whose key is not already the text.
const EN: &[(&str, &str)] = &[];

const RU: &[(&str, &str)] = &[
    ("Overview", "Обзор"),
    ("Today", "Сегодня"),
    ("Customers", "Клиенты"),
    ("Cohorts", "Когорты"),
    ("Segments", "Сегменты"),
    ("Prediction", "Прогноз"),
    ("Customers by segment", "Клиенты по сегментам"),
    ("Your customers", "Ваши клиенты"),
    ("Everyone else", "Остальные"),
    ("Segment", "Сегмент"),
    ("Flags", "Сигналы"),
    ("As of", "На дату"),
    ("Churn risk", "Риск оттока"),
    ("Why at risk", "Почему под риском"),
    ("Your list this week", "Ваш список на эту неделю"),
    ("This week's list", "Список на эту неделю"),
    ("Nobody to contact this week.", "На этой неделе связываться не с кем."),
    ("Open Today", "Открыть «Сегодня»"),
    ("All segments", "Все сегменты"),
    ("Import", "Импорт"),
    ("Settings", "Настройки"),
    ("Sign out", "Выйти"),
    ("Sign in", "Войти"),
    ("E-mail", "Эл. почта"),
    ("Password", "Пароль"),
    ("Wrong e-mail or password.", "Неверная почта или пароль."),
    ("Too many wrong passwords: wait a little and try again.", "Слишком много неверных паролей: подождите немного и попробуйте снова."),
    ("Active customers", "Активные клиенты"),
    ("Retention", "Удержание"),
    ("Churn", "Отток"),
    ("New", "Новые"),
    ("Reactivated", "Вернувшиеся"),
    ("Lost", "Ушедшие"),
    ("Kept", "Оставшиеся"),
    ("Revenue", "Выручка"),
    ("Orders", "Заказы"),
    ("this period", "этот период"),
    ("last period", "прошлый период"),
    ("a year ago", "год назад"),
    ("Definition", "Определение"),
    ("Blind spot", "Слепое пятно"),
    ("Customer", "Клиент"),
    ("Flag", "Сигнал"),
    ("Tier", "Уровень"),
    ("Stake", "Ставка"),
    ("Why", "Почему"),
    ("Suggested step", "Предлагаемый шаг"),
    ("Due", "Срок"),
    ("Owner", "Ответственный"),
    ("Done", "Сделано"),
    ("Dismiss", "Отклонить"),
    ("Snooze", "Отложить"),
    ("Reassign", "Передать"),
    ("Reason", "Причина"),
    ("Filter", "Фильтр"),
    ("All", "Все"),
    ("Mine", "Мои"),
    ("No open tasks.", "Открытых задач нет."),
    ("Orders and events", "Заказы и события"),
    ("Notes", "Заметки"),
    ("Tasks", "Задачи"),
    ("Feedback", "Отзывы"),
    ("Important dates", "Важные даты"),
    ("Contacts", "Контакты"),
    ("Consents", "Согласия"),
    ("Score", "Оценка"),
    ("Add a note", "Добавить заметку"),
    ("Add an interaction", "Записать контакт"),
    ("Add an important date", "Добавить важную дату"),
    ("With whom", "С кем"),
    ("Summary", "Итог"),
    ("Label", "Подпись"),
    ("once, not every year", "один раз, не ежегодно"),
    ("Add", "Добавить"),
    ("Save", "Сохранить"),
    ("Upload", "Загрузить"),
    ("Check the file", "Проверить файл"),
    ("Import it", "Импортировать"),
    ("Workspace", "Рабочее пространство"),
    ("Time zone", "Часовой пояс"),
    ("Currency", "Валюта"),
    ("Inactivity window, days", "Окно неактивности, дней"),
    ("Name", "Имя"),
    ("People", "Люди"),
    ("Role", "Роль"),
    ("API tokens", "API-токены"),
    ("Create a token", "Создать токен"),
    ("Revoke", "Отозвать"),
    ("Language", "Язык"),
    ("Search", "Поиск"),
    ("Next page", "Следующая страница"),
    ("Nothing here yet: import orders first.", "Пока пусто: сначала импортируйте заказы."),
    ("Movement", "Движение клиентов"),
    ("Period", "Период"),
    ("Start", "На начало"),
    ("End", "На конец"),
    ("Audit log", "Журнал изменений"),
    ("Set up Holdfast", "Настройка Holdfast"),
    ("Create the owner's account", "Создайте учётную запись владельца"),
    ("Customers in the cohort still buying", "Доля клиентов когорты, которые ещё покупают"),
    ("New customers' revenue", "Выручка новых клиентов"),
    ("Returning customers' revenue", "Выручка вернувшихся и постоянных"),
    ("Figures as of", "Данные на"),
    ("open", "открыта"),
    ("done", "сделано"),
    ("dismissed", "отклонена"),
    ("snoozed until", "отложена до"),
    ("Token, shown once — copy it now:", "Токен показан один раз — скопируйте его сейчас:"),
    // Campaigns and the Sending section of Settings (sending.rs).
    ("Campaigns", "Кампании"),
    ("Campaign", "Кампания"),
    ("State", "Состояние"),
    ("Trigger", "Триггер"),
    ("Control group", "Контрольная группа"),
    ("Sent", "Отправлено"),
    ("Pending", "Ожидают"),
    ("Capped", "Сверх бюджета"),
    ("Held out", "В контроле"),
    ("Suppressed or stopped", "Запрещены или остановлены"),
    ("Failed", "Не доставлены"),
    ("active", "активна"),
    ("paused", "на паузе"),
    ("archived", "в архиве"),
    ("unreadable", "не читается"),
    ("Pause", "Приостановить"),
    ("Resume", "Возобновить"),
    ("Archive", "В архив"),
    ("Its unsent messages are cancelled", "Её неотправленные сообщения отменяются"),
    (
        "No campaigns yet: add one with holdfast campaign add FILE.toml or POST /api/v1/campaigns.",
        "Кампаний пока нет: добавьте их командой holdfast campaign add ФАЙЛ.toml или через POST /api/v1/campaigns.",
    ),
    (
        "Held out: customers in the campaign's control group, who are sent nothing so the campaign's effect can be measured. Capped: over the contact budget.",
        "В контроле: клиенты контрольной группы кампании, им ничего не отправляется, чтобы измерить её эффект. Сверх бюджета: превышен лимит контактов.",
    ),
    ("Sending", "Рассылка"),
    ("Quiet hours (each customer's local time; none for no quiet hours)", "Тихие часы (по местному времени клиента; none — без тихих часов)"),
    ("From-address (empty: the server's HOLDFAST_SMTP_FROM)", "Адрес отправителя (пусто — HOLDFAST_SMTP_FROM сервера)"),
    ("Allow webhooks to private and local addresses", "Разрешить вебхуки на частные и локальные адреса"),
    ("Webhook endpoints", "Адреса вебхуков"),
    ("None yet.", "Пока нет."),
    ("enabled", "включён"),
    ("disabled", "отключён"),
    ("Disable", "Отключить"),
    ("Secret (whsec_…; empty: make one)", "Секрет (whsec_…; пусто — создать)"),
    ("Webhook signing secret, shown once — give it to the receiver:", "Секрет подписи вебхука показан один раз — передайте его получателю:"),
    ("Suppression list", "Стоп-лист"),
    (
        "Addresses never e-mailed. Hard bounces and complaints are added by themselves.",
        "Адреса, на которые письма не отправляются. Жёсткие отказы и жалобы попадают сюда сами.",
    ),
    ("Since", "С"),
    ("Remove", "Убрать"),
    ("Suppress", "Запретить"),
    ("by hand", "вручную"),
    ("hard bounce", "жёсткий отказ"),
    ("complaint", "жалоба"),
    ("When to send", "Когда отправлять"),
    ("workspace zone", "пояс рабочего пространства"),
    ("Sending window", "Окно отправки"),
    ("any time", "в любое время"),
    ("Time zone (e.g. Europe/Moscow; empty: the workspace's)", "Часовой пояс (например, Europe/Moscow; пусто — пояс рабочего пространства)"),
    ("Sending window (HH:MM-HH:MM, the customer's local time; empty: any time)", "Окно отправки (ЧЧ:ММ-ЧЧ:ММ, местное время клиента; пусто — в любое время)"),
];

impl Lang {
    /// A whole number grouped by thousands: `12,345` / `12 345`.
    pub fn int(self, n: i64) -> String {
        let out = holdfast_core::money::group_thousands(&n.unsigned_abs().to_string(), if self == Lang::Ru { "\u{a0}" } else { "," });
        if n < 0 {
            format!("−{out}")
        } else {
            out
        }
    }

    /// An amount in minor units with its currency: `$1,234.56` / `1 234,56 ₽`.
    pub fn money(self, minor: i64, currency: holdfast_core::Currency) -> String {
        let per = currency.minor_per_major().max(1);
        let digits = currency.minor_digits() as usize;
        let mut body = self.int((minor / per).abs());
        if digits > 0 {
            let frac = (minor % per).unsigned_abs();
            body = format!("{body}{}{frac:0digits$}", if self == Lang::Ru { "," } else { "." });
        }
        self.with_currency(if minor < 0 { format!("−{body}") } else { body }, currency)
    }

    /// Money in major units rounded to whole units (totals in tables): `$1,234` / `1 234 ₽`.
    pub fn money_major(self, major: f64, currency: holdfast_core::Currency) -> String {
        if !major.is_finite() {
            return "—".into();
        }
        self.with_currency(self.int(major.round() as i64), currency)
    }

    fn with_currency(self, body: String, currency: holdfast_core::Currency) -> String {
        match (currency.as_str(), self) {
            ("USD", Lang::En) => format!("${body}"),
            ("EUR", Lang::En) => format!("€{body}"),
            ("RUB", Lang::Ru) => format!("{body}\u{a0}₽"),
            ("USD", Lang::Ru) => format!("{body}\u{a0}$"),
            ("EUR", Lang::Ru) => format!("{body}\u{a0}€"),
            (code, _) => format!("{body}\u{a0}{code}"),
        }
    }

    /// A share as a percentage with one decimal: `12.5%` / `12,5 %`; `—` when unknown.
    pub fn pct(self, v: Option<f64>) -> String {
        match v.filter(|x| x.is_finite()) {
            None => "—".into(),
            Some(x) if self == Lang::Ru => format!("{:.1}\u{a0}%", x * 100.0).replace('.', ","),
            Some(x) => format!("{:.1}%", x * 100.0),
        }
    }

    /// A change in percentage points: `+1.2 pp` / `+1,2 п.п.`.
    pub fn pp(self, v: Option<f64>) -> String {
        match v.filter(|x| x.is_finite()) {
            None => "—".into(),
            Some(x) if self == Lang::Ru => format!("{:+.1}\u{a0}п.п.", x * 100.0).replace('.', ","),
            Some(x) => format!("{:+.1} pp", x * 100.0),
        }
    }

    /// A date: `2026-12-05` / `05.12.2026`.
    pub fn date(self, d: chrono::NaiveDate) -> String {
        match self {
            Lang::En => d.format("%Y-%m-%d").to_string(),
            Lang::Ru => d.format("%d.%m.%Y").to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_each_language() {
        let rub = holdfast_core::Currency::new("RUB").unwrap();
        assert_eq!(Lang::En.int(1234567), "1,234,567");
        assert_eq!(Lang::Ru.int(1234), "1\u{a0}234");
        assert_eq!(Lang::Ru.money(123456, rub), "1\u{a0}234,56\u{a0}₽");
        assert_eq!(Lang::En.money(-5, holdfast_core::Currency::new("USD").unwrap()), "$−0.05");
        assert_eq!(Lang::En.money(-12345, holdfast_core::Currency::new("USD").unwrap()), "$−123.45");
        assert_eq!(Lang::En.money_major(1234.4, rub), "1,234\u{a0}RUB");
        assert_eq!(Lang::Ru.pct(Some(0.125)), "12,5\u{a0}%");
        assert_eq!(Lang::En.pct(None), "—");
        assert_eq!(Lang::Ru.date(chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()), "05.12.2026");
    }
}
