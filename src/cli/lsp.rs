//! `ix lsp`: the language server over stdio (editors start it; see `editors/`).

use std::io::Write;

use crate::cli::ExitStatus;
use crate::cli::args::LspArgs;

pub(crate) fn lsp(args: &LspArgs) -> ExitStatus {
    let (connection, io_threads) = lsp_server::Connection::stdio();
    let result = crate::lsp::serve(&connection, args.root.clone());
    drop(connection);
    let _ = io_threads.join();
    match result {
        Ok(()) => ExitStatus::Success,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "error: ix lsp: {err}");
            ExitStatus::Error
        }
    }
}
