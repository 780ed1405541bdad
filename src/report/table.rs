//! GitHub-flavoured pipe tables laid out exactly as Python's `tabulate(..., tablefmt="github")`
//! does with its defaults, because the InferenceX summary tables are produced that way.
//!
//! The rules carried over: a column whose cells all parse as integers is an integer column, one
//! whose cells all parse as numbers is a float column (cells re-printed with `%g`, 6 significant
//! digits), anything else is text. Numeric columns are decimal-aligned and right-aligned, text
//! columns left-aligned; every column is at least its header's width plus 2.

use std::fmt::Write as _;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum ColumnType {
    Int,
    Float,
    Text,
}

/// Renders a table. `None` cells are missing values and print as empty cells.
pub fn github_table(headers: &[&str], rows: &[Vec<Option<String>>]) -> String {
    let n_columns = headers.len();
    let mut columns: Vec<Vec<String>> = Vec::with_capacity(n_columns);
    let mut widths = Vec::with_capacity(n_columns);
    let mut numeric = Vec::with_capacity(n_columns);
    for (column_idx, header) in headers.iter().enumerate() {
        let cells = rows.iter().map(|row| row.get(column_idx).and_then(Option::as_deref));
        let column_type = cells
            .clone()
            .flatten()
            .map(|cell| {
                if is_int(cell) {
                    ColumnType::Int
                } else if is_number(cell) {
                    ColumnType::Float
                } else {
                    ColumnType::Text
                }
            })
            .max()
            .unwrap_or(ColumnType::Int);
        let mut formatted: Vec<String> = cells
            .map(|cell| match (cell, column_type) {
                (None, _) => String::new(),
                (Some(cell), ColumnType::Float) => python_g(cell.trim().parse::<f64>().unwrap_or(f64::NAN)),
                (Some(cell), _) => cell.to_string(),
            })
            .collect();
        let is_numeric = column_type != ColumnType::Text;
        if is_numeric {
            let after_points: Vec<i64> = formatted.iter().map(|cell| after_point(cell)).collect();
            let max_after = after_points.iter().copied().max().unwrap_or(-1);
            for (cell, after) in formatted.iter_mut().zip(after_points) {
                cell.extend(std::iter::repeat_n(' ', (max_after - after) as usize));
            }
        }
        let header_width = header.chars().count() + 2;
        let width = formatted.iter().map(|cell| cell.chars().count()).max().unwrap_or(0).max(header_width);
        columns.push(formatted);
        widths.push(width);
        numeric.push(is_numeric);
    }

    let mut out = String::with_capacity((rows.len() + 2) * (widths.iter().sum::<usize>() + 3 * n_columns + 2));
    let push_row = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        out.push('|');
        for (column_idx, cell) in cells.enumerate() {
            let width = widths[column_idx];
            if numeric[column_idx] {
                let _ = write!(out, " {cell:>width$} |");
            } else {
                let _ = write!(out, " {cell:<width$} |");
            }
        }
        out.push('\n');
    };
    push_row(&mut out, &mut headers.iter().copied());
    out.push('|');
    for width in &widths {
        out.extend(std::iter::repeat_n('-', width + 2));
        out.push('|');
    }
    out.push('\n');
    for row_idx in 0..rows.len() {
        push_row(&mut out, &mut columns.iter().map(|column| column[row_idx].as_str()));
    }
    out.pop();
    out
}

/// Python's `int(s)` accepts it (ASCII subset: sign, digits, `_` separators, outer whitespace).
fn is_int(cell: &str) -> bool {
    let trimmed = cell.trim();
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
}

/// Python's `float(s)` accepts it.
fn is_number(cell: &str) -> bool {
    let trimmed = cell.trim();
    let lower = trimmed.to_ascii_lowercase();
    let unsigned = lower.strip_prefix(['+', '-']).unwrap_or(&lower);
    if unsigned.starts_with("inf") || unsigned.starts_with("nan") {
        return matches!(unsigned, "inf" | "infinity" | "nan");
    }
    trimmed.parse::<f64>().is_ok() || is_int(trimmed)
}

/// Digits after the decimal point (or after the exponent marker), `-1` for integers and text:
/// tabulate's `_afterpoint`.
fn after_point(cell: &str) -> i64 {
    if !is_number(cell) || is_int(cell) {
        return -1;
    }
    let position = cell.rfind('.').or_else(|| cell.to_ascii_lowercase().rfind('e'));
    match position {
        Some(position) => (cell.len() - position - 1) as i64,
        None => -1,
    }
}

/// Python's `format(value, "g")`: 6 significant digits, trailing zeros removed, scientific
/// notation when the decimal exponent is below -4 or at least 6.
pub fn python_g(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let scientific = format!("{value:.5e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..6).contains(&exponent) {
        let decimals = (5 - exponent) as usize;
        strip_zeros(&format!("{value:.decimals$}")).to_string()
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip_zeros(mantissa), exponent.abs())
    }
}

fn strip_zeros(number: &str) -> &str {
    if number.contains('.') { number.trim_end_matches('0').trim_end_matches('.') } else { number }
}

#[cfg(test)]
mod tests {
    use super::python_g;

    #[test]
    fn python_g_matches_reference_values() {
        let cases = [
            (2341.81527375, "2341.82"),
            (2900.0, "2900"),
            (10077.5, "10077.5"),
            (149.2292, "149.229"),
            (12280.3125, "12280.3"),
            (1234567.0, "1.23457e+06"),
            (0.00001234, "1.234e-05"),
            (0.0001, "0.0001"),
            (-3.5, "-3.5"),
            (999999.5, "1e+06"),
        ];
        for (value, expected) in cases {
            assert_eq!(python_g(value), expected, "{value}");
        }
    }
}
