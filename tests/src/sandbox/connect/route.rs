//! Request decoding: which operation a method + URI is (*API reference*),
//! query parameters, and the error shape the SDK classifies (*botocore model*).
//! Sources in *italics* are listed in [`super`].

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// One recognised Connect operation, with its path labels (percent-decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    ListUserProficiencies { instance: String, user: String },
    AssociateUserProficiencies { instance: String, user: String },
    DisassociateUserProficiencies { instance: String, user: String },
    UpdateUserProficiencies { instance: String, user: String },
    DescribeUser { instance: String, user: String },
    ListUsers { instance: String },
    SearchUsers,
    CreatePredefinedAttribute { instance: String },
    ListPredefinedAttributes { instance: String },
    DescribePredefinedAttribute { instance: String, name: String },
    UpdatePredefinedAttribute { instance: String, name: String },
    DeletePredefinedAttribute { instance: String, name: String },
    Unknown,
}

impl Route {
    /// Routes a request. Labels are split on `/` before decoding, as the SDK
    /// percent-encodes `/` inside a label.
    pub(crate) fn parse(method: &Method, path: &str) -> Route {
        let segs: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect();
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        let m = method.clone();
        let two = |f: fn(String, String) -> Route, a: &str, b: &str| f(a.into(), b.into());
        match (m, s.as_slice()) {
            (Method::GET, ["users", i, u, "proficiencies"]) => two(
                |instance, user| Route::ListUserProficiencies { instance, user },
                i,
                u,
            ),
            (Method::POST, ["users", i, u, "proficiencies"]) => two(
                |instance, user| Route::UpdateUserProficiencies { instance, user },
                i,
                u,
            ),
            (Method::POST, ["users", i, u, "associate-proficiencies"]) => two(
                |instance, user| Route::AssociateUserProficiencies { instance, user },
                i,
                u,
            ),
            (Method::POST, ["users", i, u, "disassociate-proficiencies"]) => two(
                |instance, user| Route::DisassociateUserProficiencies { instance, user },
                i,
                u,
            ),
            (Method::GET, ["users", i, u]) => two(
                |instance, user| Route::DescribeUser { instance, user },
                i,
                u,
            ),
            (Method::GET, ["users-summary", i]) => Route::ListUsers {
                instance: i.to_string(),
            },
            (Method::POST, ["search-users"]) => Route::SearchUsers,
            (Method::PUT, ["predefined-attributes", i]) => Route::CreatePredefinedAttribute {
                instance: i.to_string(),
            },
            (Method::GET, ["predefined-attributes", i]) => Route::ListPredefinedAttributes {
                instance: i.to_string(),
            },
            (Method::GET, ["predefined-attributes", i, n]) => two(
                |instance, name| Route::DescribePredefinedAttribute { instance, name },
                i,
                n,
            ),
            (Method::POST, ["predefined-attributes", i, n]) => two(
                |instance, name| Route::UpdatePredefinedAttribute { instance, name },
                i,
                n,
            ),
            (Method::DELETE, ["predefined-attributes", i, n]) => two(
                |instance, name| Route::DeletePredefinedAttribute { instance, name },
                i,
                n,
            ),
            _ => Route::Unknown,
        }
    }

    /// The operation name calls are counted and rate-limited under.
    pub(crate) fn operation(&self) -> &'static str {
        match self {
            Route::ListUserProficiencies { .. } => "ListUserProficiencies",
            Route::AssociateUserProficiencies { .. } => "AssociateUserProficiencies",
            Route::DisassociateUserProficiencies { .. } => "DisassociateUserProficiencies",
            Route::UpdateUserProficiencies { .. } => "UpdateUserProficiencies",
            Route::DescribeUser { .. } => "DescribeUser",
            Route::ListUsers { .. } => "ListUsers",
            Route::SearchUsers => "SearchUsers",
            Route::CreatePredefinedAttribute { .. } => "CreatePredefinedAttribute",
            Route::ListPredefinedAttributes { .. } => "ListPredefinedAttributes",
            Route::DescribePredefinedAttribute { .. } => "DescribePredefinedAttribute",
            Route::UpdatePredefinedAttribute { .. } => "UpdatePredefinedAttribute",
            Route::DeletePredefinedAttribute { .. } => "DeletePredefinedAttribute",
            Route::Unknown => "Unknown",
        }
    }

    /// The user id in the path, for the per-user accounting.
    pub(crate) fn user_id(&self) -> Option<&str> {
        match self {
            Route::ListUserProficiencies { user, .. }
            | Route::AssociateUserProficiencies { user, .. }
            | Route::DisassociateUserProficiencies { user, .. }
            | Route::UpdateUserProficiencies { user, .. }
            | Route::DescribeUser { user, .. } => Some(user),
            _ => None,
        }
    }
}

/// Percent-decoding of a path label or query part (`+` stays `+`: the SDK
/// encodes spaces as `%20` and `+` as `%2B`).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded query string, last value wins.
#[derive(Debug, Default)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(q: Option<&str>) -> Self {
        let pairs = q
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        Query(pairs)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A modelled Connect error: `x-amzn-ErrorType` header + `{"Message"}` body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) code: &'static str,
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl ApiError {
    fn new(code: &'static str, status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            code,
            status,
            message: message.into(),
        }
    }

    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self::new("InvalidRequestException", StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(
            "InvalidParameterException",
            StatusCode::BAD_REQUEST,
            message,
        )
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new("ResourceNotFoundException", StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn throttling() -> Self {
        Self::new(
            "ThrottlingException",
            StatusCode::TOO_MANY_REQUESTS,
            "Rate exceeded",
        )
    }

    pub(crate) fn internal() -> Self {
        Self::new(
            "InternalServiceException",
            StatusCode::INTERNAL_SERVER_ERROR,
            "Request processing failed because of an error or failure with the service.",
        )
    }

    pub(crate) fn duplicate(message: impl Into<String>) -> Self {
        Self::new("DuplicateResourceException", StatusCode::CONFLICT, message)
    }

    /// LimitExceededException is 429 in the model, like throttling (*botocore model*,
    /// *API reference* for CreatePredefinedAttribute).
    pub(crate) fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new(
            "LimitExceededException",
            StatusCode::TOO_MANY_REQUESTS,
            message,
        )
    }

    pub(crate) fn resource_in_use(message: impl Into<String>) -> Self {
        Self::new("ResourceInUseException", StatusCode::CONFLICT, message)
    }

    pub(crate) fn unknown_operation() -> Self {
        Self::new(
            "UnknownOperationException",
            StatusCode::NOT_FOUND,
            "The requested operation is not recognized by the Connect sandbox.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            json!({ "Message": self.message }).to_string(),
        )
            .into_response();
        resp.headers_mut()
            .insert("x-amzn-ErrorType", HeaderValue::from_static(self.code));
        add_request_id(&mut resp);
        resp
    }
}

/// A 200 with a JSON body.
pub(crate) fn ok_json(body: &Value) -> Response {
    let mut resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    add_request_id(&mut resp);
    resp
}

fn add_request_id(resp: &mut Response) {
    if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        resp.headers_mut().insert("x-amzn-RequestId", v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_every_operation() {
        let r = |m: Method, p: &str| Route::parse(&m, p).operation();
        assert_eq!(
            r(Method::GET, "/users/i/u/proficiencies"),
            "ListUserProficiencies"
        );
        assert_eq!(
            r(Method::POST, "/users/i/u/proficiencies"),
            "UpdateUserProficiencies"
        );
        assert_eq!(
            r(Method::POST, "/users/i/u/associate-proficiencies"),
            "AssociateUserProficiencies"
        );
        assert_eq!(
            r(Method::POST, "/users/i/u/disassociate-proficiencies"),
            "DisassociateUserProficiencies"
        );
        assert_eq!(r(Method::GET, "/users/i/u"), "DescribeUser");
        assert_eq!(r(Method::GET, "/users-summary/i"), "ListUsers");
        assert_eq!(r(Method::POST, "/search-users"), "SearchUsers");
        assert_eq!(
            r(Method::PUT, "/predefined-attributes/i"),
            "CreatePredefinedAttribute"
        );
        assert_eq!(
            r(Method::GET, "/predefined-attributes/i"),
            "ListPredefinedAttributes"
        );
        assert_eq!(
            r(Method::GET, "/predefined-attributes/i/n"),
            "DescribePredefinedAttribute"
        );
        assert_eq!(
            r(Method::POST, "/predefined-attributes/i/n"),
            "UpdatePredefinedAttribute"
        );
        assert_eq!(
            r(Method::DELETE, "/predefined-attributes/i/n"),
            "DeletePredefinedAttribute"
        );
        assert_eq!(r(Method::DELETE, "/users/i/u"), "Unknown");
    }

    #[test]
    fn labels_are_decoded_after_splitting() {
        let route = Route::parse(&Method::GET, "/predefined-attributes/i/a%2Fb%20c%2B");
        assert_eq!(
            route,
            Route::DescribePredefinedAttribute {
                instance: "i".into(),
                name: "a/b c+".into()
            }
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%41%zz"), "A%zz");
        let q = Query::parse(Some("nextToken=a%3Db&maxResults=5&maxResults=7"));
        assert_eq!(q.get("nextToken"), Some("a=b"));
        assert_eq!(q.get("maxResults"), Some("7"));
        assert_eq!(q.get("missing"), None);
    }
}
