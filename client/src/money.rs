//! Money as people write it: yuan with at most two decimals (`123.45`,
//! `¥1,234.50`) or fen with a suffix (`12345fen`, `12345分`). Parsed into
//! integer fen, never through a float.

use shanlian_ledger::types::Fen;

/// Why an amount could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("an amount is yuan with at most two decimals (123.45) or fen (12345fen); got {0:?}")]
    Malformed(String),
    #[error("{0:?} has more than two decimals: money is counted in fen")]
    TooPrecise(String),
    #[error("{0:?} is too large")]
    TooLarge(String),
    #[error("an amount must be more than zero; got {0:?}")]
    Zero(String),
}

/// Parses an amount into fen (must be positive).
pub fn parse(text: &str) -> Result<Fen, MoneyError> {
    let raw = text.trim();
    let mut s: String = raw
        .trim_start_matches(['¥', '￥'])
        .chars()
        .filter(|c| *c != ',' && *c != '_')
        .collect();
    let fen_suffix = ["fen", "分"].iter().find(|x| s.ends_with(*x)).copied();
    let fen = if let Some(suffix) = fen_suffix {
        s.truncate(s.len() - suffix.len());
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MoneyError::Malformed(raw.into()));
        }
        s.parse::<u64>()
            .map_err(|_| MoneyError::TooLarge(raw.into()))?
    } else {
        let s = s.trim_end_matches(['元']).trim();
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(MoneyError::Malformed(raw.into()));
        }
        if frac.len() > 2 {
            return Err(MoneyError::TooPrecise(raw.into()));
        }
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole
                .parse()
                .map_err(|_| MoneyError::TooLarge(raw.into()))?
        };
        let frac: u64 = format!("{frac:0<2}").parse().unwrap_or(0);
        whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(frac))
            .ok_or_else(|| MoneyError::TooLarge(raw.into()))?
    };
    if fen == 0 {
        return Err(MoneyError::Zero(raw.into()));
    }
    Ok(Fen(fen))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_and_fen() {
        for (t, f) in [
            ("123.45", 12_345),
            ("123.4", 12_340),
            ("123", 12_300),
            ("0.01", 1),
            (".5", 50),
            ("¥1,234.50", 123_450),
            ("12345fen", 12_345),
            ("12345 分", 12_345),
            ("100元", 10_000),
        ] {
            assert_eq!(parse(t), Ok(Fen(f)), "{t}");
        }
        assert!(matches!(parse("1.234"), Err(MoneyError::TooPrecise(_))));
        assert!(matches!(parse("abc"), Err(MoneyError::Malformed(_))));
        assert!(matches!(parse("-5"), Err(MoneyError::Malformed(_))));
        assert!(matches!(parse("1e3"), Err(MoneyError::Malformed(_))));
        assert!(matches!(parse("0.00"), Err(MoneyError::Zero(_))));
        assert!(matches!(parse("."), Err(MoneyError::Malformed(_))));
        assert!(matches!(
            parse("99999999999999999999"),
            Err(MoneyError::TooLarge(_))
        ));
        assert!(matches!(parse("1.5fen"), Err(MoneyError::Malformed(_))));
    }
}
