//! Typed answers: a handler's signature names the body it answers with, so
//! the document (`body = T`) and the wire cannot drift apart unseen.
//! (`actix_web::web::Json<T>` is the plain 200.)

use actix_web::body::BoxBody;
use actix_web::{HttpRequest, HttpResponse, Responder};
use serde::Serialize;

/// 201 with `T` as JSON.
pub struct Created<T>(pub T);

impl<T: Serialize> Responder for Created<T> {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        HttpResponse::Created().json(&self.0)
    }
}

/// 201 when the request made something, 200 when it was there already
/// (a retried purchase, a completed upload completed again).
pub enum Made<T> {
    New(T),
    Existing(T),
}

impl<T: Serialize> Responder for Made<T> {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        match self {
            Made::New(body) => HttpResponse::Created().json(&body),
            Made::Existing(body) => HttpResponse::Ok().json(&body),
        }
    }
}
