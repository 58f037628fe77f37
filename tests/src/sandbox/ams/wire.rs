//! The wire: which endpoint a path is, the credentials a request carries,
//! and the response shapes (JSON, the RPC-exception body, HTTP failures).
//! Sources in *italics* are listed in [`super`].

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Every endpoint the sandbox serves, by the name calls are counted under:
/// the path after `api/<version>/`.
pub const ENDPOINTS: [&str; 6] = [
    "user/loginUser",
    "usersearch",
    "groupmembers",
    "listgroups",
    "person/get",
    "person/save",
];

/// One endpoint of the site's API (*teamworksams utils.py* `_fetch`,
/// *smartabaseR utils.R*: `<site>/api/<version>/<endpoint>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Login,
    UserSearch,
    GroupMembers,
    ListGroups,
    PersonGet,
    PersonSave,
}

impl Endpoint {
    /// The endpoint at `rest`, the path after `/<site>/api/`.
    pub(crate) fn parse(rest: &str) -> Option<Endpoint> {
        Some(match rest {
            "v2/user/loginUser" => Endpoint::Login,
            "v1/usersearch" => Endpoint::UserSearch,
            "v1/groupmembers" => Endpoint::GroupMembers,
            "v1/listgroups" => Endpoint::ListGroups,
            "v2/person/get" => Endpoint::PersonGet,
            "v2/person/save" => Endpoint::PersonSave,
            _ => return None,
        })
    }

    /// The name calls are counted under (one of [`ENDPOINTS`]).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Endpoint::Login => ENDPOINTS[0],
            Endpoint::UserSearch => ENDPOINTS[1],
            Endpoint::GroupMembers => ENDPOINTS[2],
            Endpoint::ListGroups => ENDPOINTS[3],
            Endpoint::PersonGet => ENDPOINTS[4],
            Endpoint::PersonSave => ENDPOINTS[5],
        }
    }

    /// Login and `person/*` answers carry `Content-Disposition: attachment`
    /// (*login cassette*, *create cassette*).
    fn attachment(self) -> bool {
        matches!(
            self,
            Endpoint::Login | Endpoint::PersonGet | Endpoint::PersonSave
        )
    }
}

/// The credentials a request carries, each way a client may send them
/// (*teamworksams login_main.py*: `session-header` and `Cookie:
/// JSESSIONID`; *smartabaseR utils.R*: HTTP Basic on every call).
#[derive(Debug, Default)]
pub(crate) struct Credentials {
    pub session_header: Option<String>,
    pub cookie: Option<String>,
    pub basic: Option<(String, String)>,
}

impl Credentials {
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == "JSESSIONID")
            .map(|(_, value)| value.trim().to_string())
            .filter(|v| !v.is_empty());
        let basic = text(header::AUTHORIZATION.as_str()).and_then(|v| basic_credentials(&v));
        Self {
            session_header: text("session-header"),
            cookie,
            basic,
        }
    }
}

/// `(user, password)` of an `Authorization: Basic …` value (RFC 7617).
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(encoded.trim())?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Standard base64 (RFC 4648 §4), padding optional.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= value(*c)? << (18 - 6 * i);
        }
        let [_, a, b, c] = acc.to_be_bytes();
        out.extend_from_slice(&[a, b, c][..chunk.len() - 1]);
    }
    Some(out)
}

/// What an endpoint answers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    /// HTTP 200 with this JSON body.
    Json(Value),
    /// HTTP 200 with an RPC-exception body (*teamworksams user_fetch.py*,
    /// *smartabaseR login.R*).
    Rpc { kind: String, message: String },
    /// Another HTTP status with a short plain-text body.
    Status(StatusCode, String),
}

impl Reply {
    pub(crate) fn rpc(kind: &str, message: impl Into<String>) -> Self {
        Reply::Rpc {
            kind: kind.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn unauthorized() -> Self {
        Reply::Status(
            StatusCode::UNAUTHORIZED,
            "401 Unauthorized: no valid session or credentials".into(),
        )
    }
}

/// The RPC-exception body (*spec of the public clients*: `type`,
/// `value.detailMessage`, `value.cause`).
pub(crate) fn rpc_body(kind: &str, message: &str) -> Value {
    json!({
        "__is_rpc_exception__": true,
        "type": kind,
        "value": { "detailMessage": message, "cause": null },
    })
}

/// The HTTP response of a reply: recorded headers (`application/json;charset=utf-8`,
/// `Server: Apache`, `Content-Disposition` on login and `person/*`), and the
/// session token echoed in `session-header` when the call used one.
pub(crate) fn respond(endpoint: Endpoint, reply: Reply, session: Option<&str>) -> Response {
    let mut response = match reply {
        Reply::Json(body) => json_response(&body),
        Reply::Rpc { kind, message } => json_response(&rpc_body(&kind, &message)),
        Reply::Status(status, body) => {
            return status_response(status, body, None);
        }
    };
    let headers = response.headers_mut();
    if endpoint.attachment() {
        headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
    if let Some(value) = session.and_then(|s| HeaderValue::from_str(s).ok()) {
        headers.insert("session-header", value);
    }
    response
}

fn json_response(body: &Value) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json;charset=utf-8"),
            (header::SERVER, "Apache"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// A failure status with a short text body, and `Retry-After` when given.
pub(crate) fn status_response(
    status: StatusCode,
    body: String,
    retry_after_secs: Option<u64>,
) -> Response {
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, "text/plain;charset=utf-8"),
            (header::SERVER, "Apache"),
        ],
        body,
    )
        .into_response();
    if let Some(secs) = retry_after_secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// The body of an injected failure: 403 mentions "Access denied", the text
/// *teamworksams utils.py* looks for; the others name the status.
pub(crate) fn failure_body(status: StatusCode) -> String {
    match status.as_u16() {
        401 => "401 Unauthorized: no valid session or credentials".into(),
        403 => "403 Forbidden: Access denied".into(),
        429 => "429 Too Many Requests".into(),
        code => format!(
            "{code} {}",
            status.canonical_reason().unwrap_or("Server Error")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_round_trips_its_name() {
        for rest in [
            "v2/user/loginUser",
            "v1/usersearch",
            "v1/groupmembers",
            "v1/listgroups",
            "v2/person/get",
            "v2/person/save",
        ] {
            let endpoint = Endpoint::parse(rest).unwrap();
            assert!(rest.ends_with(endpoint.name()), "{rest}");
        }
        assert_eq!(Endpoint::parse("v2/usersearch"), None);
        assert_eq!(Endpoint::parse("v1/currentgroup"), None);
    }

    #[test]
    fn basic_credentials_decode_with_and_without_padding() {
        // "python.connector:Connector123!" as in the recorded login.
        assert_eq!(
            basic_credentials("Basic cHl0aG9uLmNvbm5lY3RvcjpDb25uZWN0b3IxMjMh"),
            Some(("python.connector".into(), "Connector123!".into()))
        );
        assert_eq!(
            basic_credentials("basic YTpi"),
            Some(("a".into(), "b".into()))
        );
        assert_eq!(
            basic_credentials("Basic YTpiYw=="),
            Some(("a".into(), "bc".into()))
        );
        assert_eq!(basic_credentials("Bearer YTpi"), None);
        assert_eq!(basic_credentials("Basic !!!!"), None);
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; JSESSIONID=Hyy2Vt685+7LgpJS+xVwClGF; b=2"),
        );
        let c = Credentials::from_headers(&headers);
        assert_eq!(c.cookie.as_deref(), Some("Hyy2Vt685+7LgpJS+xVwClGF"));
        assert_eq!(c.session_header, None);
    }
}
