//! A reverse proxy to one HTTP upstream: what `micropay serve` puts behind
//! the paywall, so a creator sells an existing API without writing Rust.
//!
//! The request goes to `upstream` + path + query with its method, headers
//! (minus hop-by-hop headers and the payment header, which is for the
//! paywall only) and body; the upstream's status, headers and body (streamed)
//! come back. Request bodies are read whole, up to [`MAX_BODY`]. An upstream
//! that cannot be reached is a `502` that says so.

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
        let uri: Uri = trimmed
            .parse()
            .map_err(|_| ProxyError::Upstream(upstream.to_string()))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(ProxyError::Upstream(upstream.to_string()));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Proxy {
            upstream: trimmed.to_string(),
            client,
        })
    }

    /// The upstream URL.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// A router sending every request to the upstream.
    pub fn router(self) -> Router {
        Router::new().fallback(forward).with_state(self)
    }

    /// Forwards one request.
    pub async fn forward(&self, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let url = format!("{}{path}", self.upstream);
        let body = match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(b) => b,
            Err(e) => {
                return plain(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body unreadable or above {MAX_BODY} bytes: {e}"),
                )
            }
        };
        let headers = forwardable(
            &parts.headers,
            &[header::HOST.as_str(), micropay_sdk::x402::PAYMENT_SIGNATURE],
        );
        let sent = self
            .client
            .request(parts.method, &url)
            .headers(headers)
            .body(body)
            .send()
            .await;
        let upstream = match sent {
            Ok(r) => r,
            Err(e) => {
                return plain(
                    StatusCode::BAD_GATEWAY,
                    format!("upstream {} did not answer: {e}", self.upstream),
                )
            }
        };
        let mut response = Response::builder().status(upstream.status());
        if let Some(h) = response.headers_mut() {
            *h = forwardable(upstream.headers(), &[]);
        }
        response
            .body(Body::from_stream(upstream.bytes_stream()))
            .unwrap_or_else(|e| plain(StatusCode::BAD_GATEWAY, e.to_string()))
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
