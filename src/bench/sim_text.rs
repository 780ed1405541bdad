//! Prompt text and whole answers of `ix bench sim-server`.

use serde_json::{Value, json};

/// The prompt's words in order (chat: every message's content), as the cache hashes them.
pub(super) fn prompt_word_iter(request: &Value, chat: bool) -> impl Iterator<Item = &str> {
    let texts: Vec<&str> = if chat {
        request
            .get("messages")
            .and_then(Value::as_array)
            .map(|messages| {
                messages
                    .iter()
                    .filter_map(|message| message.get("content"))
                    .flat_map(|content| match content {
                        Value::String(text) => vec![text.as_str()],
                        Value::Array(parts) => parts.iter().filter_map(|p| p.get("text")?.as_str()).collect(),
                        _ => Vec::new(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    } else {
        request.get("prompt").and_then(Value::as_str).into_iter().collect()
    };
    texts.into_iter().flat_map(str::split_whitespace)
}

/// How many words the prompt has (what the simulator counts as prompt tokens).
pub(super) fn prompt_words(request: &Value, chat: bool) -> u64 {
    prompt_word_iter(request, chat).count() as u64
}

/// A non-streaming answer of `n_tokens` tokens.
pub(super) fn full_response(model: &str, chat: bool, n_tokens: u64, prompt_tokens: u64) -> Value {
    let text: String = (0..n_tokens).map(|k| if k == 0 { " Hello" } else { " tok" }).collect();
    let usage = json!({"prompt_tokens": prompt_tokens, "completion_tokens": n_tokens, "total_tokens": prompt_tokens + n_tokens});
    if chat {
        json!({"object": "chat.completion", "model": model, "usage": usage,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}]})
    } else {
        json!({"object": "text_completion", "model": model, "usage": usage,
            "choices": [{"index": 0, "text": text, "finish_reason": "length"}]})
    }
}
