//! Rendering of result data: reference-compatible pipe tables (`table`), summary tables in
//! markdown/CSV/JSON (`summary`), and the self-contained HTML report with SVG charts (`html`).
//!
//! Functions here return strings; the CLI decides where they go.

mod assets;
pub mod history;
pub mod html;
pub mod summary;
pub mod table;

pub use html::{render_html, render_markdown};
