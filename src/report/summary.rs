//! Renders a [`SummaryTable`] as the reference's markdown (REFERENCE-SEMANTICS.md §9.3), as CSV or
//! as JSON. Which rows and columns exist is decided in `crate::results::summary`, not here.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::table::github_table;
use crate::results::summary::{Cell, SummaryTable};

/// The line `ix` prints under each heading where the reference prints its "unofficial results"
/// paragraph.
pub const NOTICE: &str =
    "> Unofficial results produced by `ix`; official InferenceX numbers come from its own CI runs.";

/// The reference's markdown: per section a `##` heading, the notice, and a pipe table.
pub fn to_markdown(summary: &SummaryTable) -> String {
    let mut out = String::new();
    for section in &summary.sections {
        let rows: Vec<Vec<Option<String>>> =
            section.rows.iter().map(|row| row.iter().map(markdown_cell).collect()).collect();
        let table = github_table(&section.headers, &rows);
        let _ = write!(out, "## {}\n\n{NOTICE}\n\n{table}\n", section.title);
        // The reference leaves two blank lines after the single-node table only.
        if section.title.starts_with("Single") {
            out.push_str("\n\n");
        }
    }
    out
}

fn markdown_cell(cell: &Cell) -> Option<String> {
    match cell {
        Cell::Text(text) => Some(text.clone()),
        Cell::Int(int) => Some(int.to_string()),
        Cell::Float(float) => Some(format!("{float:.4}")),
        Cell::Missing => None,
    }
}

/// CSV (RFC 4180 quoting): per section a header line and its rows; sections are separated by one
/// empty line. Floats keep full precision.
pub fn to_csv(summary: &SummaryTable) -> String {
    let mut out = String::new();
    for (section_idx, section) in summary.sections.iter().enumerate() {
        if section_idx > 0 {
            out.push('\n');
        }
        let header: Vec<String> = section.headers.iter().map(|header| csv_field(header)).collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for row in &section.rows {
            let fields: Vec<String> = row
                .iter()
                .map(|cell| match cell {
                    Cell::Text(text) => csv_field(text),
                    Cell::Int(int) => int.to_string(),
                    Cell::Float(float) => float.to_string(),
                    Cell::Missing => String::new(),
                })
                .collect();
            out.push_str(&fields.join(","));
            out.push('\n');
        }
    }
    out
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_string() }
}

/// JSON: `{"single_node": [...], "multi_node": [...], "agentic": [...]}`, each row an object keyed
/// by column header.
pub fn to_json(summary: &SummaryTable) -> Value {
    let mut out = Map::new();
    for section in &summary.sections {
        let key = match section.title {
            title if title.starts_with("Single") => "single_node",
            title if title.starts_with("Agentic") => "agentic",
            _ => "multi_node",
        };
        let rows = section
            .rows
            .iter()
            .map(|row| {
                let object: Map<String, Value> = section
                    .headers
                    .iter()
                    .zip(row)
                    .map(|(header, cell)| {
                        let value = match cell {
                            Cell::Text(text) => Value::from(text.clone()),
                            Cell::Int(int) => Value::from(*int),
                            Cell::Float(float) => {
                                serde_json::Number::from_f64(*float).map_or(Value::Null, Value::Number)
                            }
                            Cell::Missing => Value::Null,
                        };
                        (header.to_string(), value)
                    })
                    .collect();
                Value::Object(object)
            })
            .collect();
        out.insert(key.into(), Value::Array(rows));
    }
    Value::Object(out)
}
