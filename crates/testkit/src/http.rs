//! Asking a service under test for JSON.

use serde_json::Value;

/// `request.send()`, expecting an answer whose body is JSON.
pub trait JsonAnswer {
    fn json_answer(self) -> impl Future<Output = Value>;
}

impl JsonAnswer for reqwest::RequestBuilder {
    async fn json_answer(self) -> Value {
        self.send().await.expect("the request is answered").json().await.expect("a JSON body")
    }
}
