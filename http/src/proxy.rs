//! A reverse proxy to one HTTP upstream: what `micropay serve` puts behind
//! the paywall, so a creator sells an existing API without writing Rust.
//!
//! The request goes to the upstream's base path + the request's canonical
//! path ([`crate::path`]; other spellings are refused with `400`) + query,
//! built as a URL structurally, never by string concatenation, and checked:
//! the upstream sees exactly the path the paywall priced. Its method, headers
//! (minus hop-by-hop headers and the payment header, which is for the
//! paywall only) and body; the upstream's status, headers and body (streamed)
//! come back. Request bodies are read whole, up to [`MAX_BODY`]. An upstream
//! that cannot be reached is a `502` that says so.

use crate::path::{CanonicalPath, PathError};
use axum::{
    body::Body,
    extract::{Request, State},
    response::Response,
    Router,
};
use http::{header, HeaderMap, HeaderName, StatusCode, Uri};
use std::time::Duration;

/// Largest request body forwarded, bytes.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// Why a proxy cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The upstream is not an absolute http(s) URL.
    #[error("upstream `{0}` must be an http:// or https:// URL")]
    Upstream(String),
    /// The HTTP client cannot be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Forwards requests to one upstream.
#[derive(Clone, Debug)]
pub struct Proxy {
    upstream: String,
    /// `upstream` parsed; its path without a trailing `/`.
    base: reqwest::Url,
    client: reqwest::Client,
}

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1).
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

fn forwardable(headers: &HeaderMap, drop_also: &[&str]) -> HeaderMap {
    // headers named in Connection are hop-by-hop too
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    headers
        .iter()
        .filter(|(name, _)| {
            !HOP_BY_HOP.contains(name)
                && !named.iter().any(|n| n == name.as_str())
                && !drop_also.contains(&name.as_str())
        })
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

impl Proxy {
    /// A proxy to `upstream` (`http://host:port`, optionally with a base path).
    pub fn new(upstream: &str) -> Result<Self, ProxyError> {
        let trimmed = upstream.trim_end_matches('/');
        let bad = || ProxyError::Upstream(upstream.to_string());
        let uri: Uri = trimmed.parse().map_err(|_| bad())?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(bad());
        }
        let mut base = reqwest::Url::parse(trimmed).map_err(|_| bad())?;
        if base.query().is_some() || base.fragment().is_some() {
            return Err(bad());
        }
        let path = base.path().trim_end_matches('/').to_string();
        base.set_path(&path);
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Proxy {
            upstream: trimmed.to_string(),
            base,
            client,
        })
    }

    /// The upstream URL.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The upstream URL for a request to `path` (canonicalised) and
    /// `query`: the base path + exactly that path, checked after the URL is
    /// built.
    pub fn url(&self, path: &str, query: Option<&str>) -> Result<reqwest::Url, PathError> {
        let path = CanonicalPath::parse(path)?;
        let base = self.base.path().trim_end_matches('/');
        let full = format!("{base}{path}");
        let mut url = self.base.clone();
        url.set_path(&full);
        url.set_query(query);
        if url.path() != full {
            return Err(PathError::DotSegment);
        }
        Ok(url)
    }

    /// A router sending every request to the upstream.
    pub fn router(self) -> Router {
        Router::new().fallback(forward).with_state(self)
    }

    /// Forwards one request.
    pub async fn forward(&self, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let url = match self.url(parts.uri.path(), parts.uri.query()) {
            Ok(url) => url,
            Err(e) => return plain(StatusCode::BAD_REQUEST, e.to_string()),
        };
        let body = match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(b) => b,
            Err(_) => {
                return plain(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body unreadable or above {MAX_BODY} bytes"),
                )
            }
        };
        let headers = forwardable(
            &parts.headers,
            &[header::HOST.as_str(), micropay_sdk::x402::PAYMENT_SIGNATURE],
        );
        let sent = self
            .client
            .request(parts.method, url)
            .headers(headers)
            .body(body)
            .send()
            .await;
        let upstream = match sent {
            Ok(r) => r,
            Err(e) => {
                // the upstream's address and the error stay in the log
                tracing::warn!(upstream = %micropay_client::error::redact_url(&self.upstream), error = %micropay_client::error::redact_urls(&e.to_string()), "upstream did not answer");
                return plain(
                    StatusCode::BAD_GATEWAY,
                    "the upstream did not answer".into(),
                );
            }
        };
        let mut response = Response::builder().status(upstream.status());
        if let Some(h) = response.headers_mut() {
            *h = forwardable(upstream.headers(), &[]);
        }
        response
            .body(Body::from_stream(upstream.bytes_stream()))
            .unwrap_or_else(|_| {
                plain(
                    StatusCode::BAD_GATEWAY,
                    "the upstream's answer cannot be relayed".into(),
                )
            })
    }
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    proxy.forward(request).await
}

fn plain(status: StatusCode, text: String) -> Response {
    let mut r = Response::new(Body::from(format!("{text}\n")));
    *r.status_mut() = status;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_must_be_http_urls() {
        assert!(Proxy::new("http://127.0.0.1:8080").is_ok());
        assert!(Proxy::new("https://api.example.com/v1/").is_ok());
        for bad in ["127.0.0.1:8080", "ftp://x", "/just/a/path", ""] {
            assert!(
                matches!(Proxy::new(bad), Err(ProxyError::Upstream(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_upstream_url_is_the_base_plus_exactly_the_canonical_path() {
        let root = Proxy::new("http://127.0.0.1:8080/").unwrap();
        let url = |p: &Proxy, path, q| p.url(path, q).map(|u| u.to_string());
        assert_eq!(url(&root, "/", None), Ok("http://127.0.0.1:8080/".into()));
        assert_eq!(
            url(&root, "/%70remium", Some("a=1&b=%2e")),
            Ok("http://127.0.0.1:8080/premium?a=1&b=%2e".into())
        );
        let based = Proxy::new("http://127.0.0.1:8080/v1/").unwrap();
        assert_eq!(
            url(&based, "/", None),
            Ok("http://127.0.0.1:8080/v1/".into())
        );
        assert_eq!(
            url(&based, "/a%20b/c", None),
            Ok("http://127.0.0.1:8080/v1/a%20b/c".into())
        );
        for bad in [
            "/x/../premium",
            "/%2e%2e/premium",
            "//premium",
            "/a%2fb",
            "x",
        ] {
            assert!(root.url(bad, None).is_err(), "{bad}");
            assert!(based.url(bad, None).is_err(), "{bad}");
        }
        assert!(Proxy::new("http://127.0.0.1:8080/?k=v").is_err());
    }

    #[test]
    fn hop_by_hop_and_payment_headers_stay_here() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, "keep-alive, x-secret".parse().unwrap());
        h.insert("x-secret", "1".parse().unwrap());
        h.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        h.insert(header::ACCEPT, "application/json".parse().unwrap());
        h.insert(
            micropay_sdk::x402::PAYMENT_SIGNATURE,
            "abc".parse().unwrap(),
        );
        let out = forwardable(&h, &[micropay_sdk::x402::PAYMENT_SIGNATURE]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[header::ACCEPT], "application/json");
    }
}
