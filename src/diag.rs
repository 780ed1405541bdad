//! Diagnostics: stage errors (code + span + message) rendered as miette reports or JSON.
