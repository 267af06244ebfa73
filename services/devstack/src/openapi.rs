//! The stack's one API document: auth's, post's and media's parts merged,
//! served by the gateway at `/openapi.json` with Swagger UI at `/docs/`
//! (its assets are compiled in: nothing is fetched from a CDN).
//!
//! Photo URLs (edge, CloudFront) are not in it: clients never build them, the
//! API hands them out signed, and they behave as CloudFront does (docs/EDGE.md).

use serde_json::json;
use utoipa::OpenApi;
use utoipa::openapi::{InfoBuilder, ServerBuilder};

pub fn document(public_url: &str) -> serde_json::Value {
    let mut document = auth::api::ApiDoc::openapi();
    document.merge(post::api::ApiDoc::openapi());
    document.merge(media::api::ApiDoc::openapi());
    document.info = InfoBuilder::new()
        .title("Shutter")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Photo sharing with paid posts. Errors are application/problem+json; paid photos come as \
             short-lived CloudFront signed URLs.",
        ))
        .build();
    document.servers = Some(vec![ServerBuilder::new().url(public_url).build()]);
    let mut document = serde_json::to_value(&document).unwrap_or_default();
    add_links(&mut document);
    document
}

/// Links for clients and for schemathesis's stateful tests: what an answer
/// lets you do next. (Written as JSON: utoipa 5.5 serialises a link's
/// `operationId` as `operation_id`.)
fn add_links(document: &mut serde_json::Value) {
    let links = [
        ("/v1/posts", "GetPost", "get", json!({ "id": "$response.body#/id" })),
        ("/v1/posts", "CommentOnPost", "add_comment", json!({ "id": "$response.body#/id" })),
        (
            "/v1/posts/{id}/comments",
            "DeleteComment",
            "delete_comment",
            json!({ "id": "$request.path.id", "comment_id": "$response.body#/id" }),
        ),
        ("/v1/media", "GetMedia", "get_own", json!({ "id": "$response.body#/id" })),
        ("/v1/media/uploads", "CompleteUpload", "complete", json!({ "id": "$response.body#/id" })),
    ];
    for (path, name, operation_id, parameters) in links {
        if let Some(created) =
            document.pointer_mut(&format!("/paths/{}/post/responses/201", path.replace('/', "~1")))
        {
            created["links"][name] = json!({ "operationId": operation_id, "parameters": parameters });
        }
    }
}
