//! The static web client, compiled into the binary so the stack needs no
//! files beside it.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

const PAGES: &[(&str, &str, &str)] = &[
    ("/", "text/html; charset=utf-8", include_str!("../web/index.html")),
    ("/index.html", "text/html; charset=utf-8", include_str!("../web/index.html")),
    ("/app.js", "text/javascript; charset=utf-8", include_str!("../web/app.js")),
    ("/style.css", "text/css; charset=utf-8", include_str!("../web/style.css")),
];

pub fn serve(req: &HttpRequest) -> HttpResponse {
    let found = PAGES.iter().find(|(path, _, _)| *path == req.path());
    match found {
        Some((_, content_type, body)) if req.method() == "GET" || req.method() == "HEAD" => {
            HttpResponse::Ok()
                .insert_header((header::CONTENT_TYPE, *content_type))
                .insert_header((header::CACHE_CONTROL, "no-cache"))
                .insert_header(("content-security-policy", "default-src 'self'; img-src 'self'"))
                .insert_header(("x-content-type-options", "nosniff"))
                .body(*body)
        }
        Some(_) => HttpResponse::MethodNotAllowed().insert_header((header::ALLOW, "GET, HEAD")).finish(),
        None => common::problem::Problem::not_found("no such page").error_response(),
    }
}
