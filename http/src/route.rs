//! Which requests cost what: routes of method + path pattern to a price per
//! accepted mint. The first route that matches a request's method and path
//! prices it; a method no route names on a priced path is priced by the
//! first route of that path (never free); what no route covers follows the
//! paywall's [`Unrouted`] rule (free unless configured otherwise).
//!
//! Path patterns are split on `/`: a literal segment matches itself, `*`
//! matches exactly one segment, and a final `**` matches the rest of the
//! path (zero or more segments). No regular expressions: a creator reads a
//! pattern and knows what it covers. Paths are matched in canonical form
//! ([`crate::path`]); literals match whatever the case, and a segment's
//! `;parameters` are ignored, because upstreams that fold case or strip
//! path parameters serve those spellings as the same resource: a match
//! errs towards a price.

use anchor_lang::prelude::Pubkey;

/// A path pattern (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathPattern {
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    One,
    Rest,
}

/// Why a route is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// A pattern must start with `/`.
    #[error("path pattern `{0}` must start with `/`")]
    NotAbsolute(String),
    /// `**` may only end a pattern.
    #[error("path pattern `{0}`: `**` may only be its last segment")]
    RestNotLast(String),
    /// A segment mixes `*` with other characters.
    #[error("path pattern `{0}`: `*` and `**` must be whole segments (`/a/*`, not `/a*`)")]
    PartialWildcard(String),
    /// A route with no price.
    #[error("route {0} has no price")]
    NoPrice(String),
    /// A zero price.
    #[error("route {0} has a zero price for mint {1}: a free route needs no entry")]
    ZeroPrice(String, Pubkey),
    /// Two prices for one mint.
    #[error("route {0} prices mint {1} twice")]
    DuplicateMint(String, Pubkey),
}

impl PathPattern {
    /// Parses `pattern`.
    pub fn parse(pattern: &str) -> Result<Self, RouteError> {
        let rest = pattern
            .strip_prefix('/')
            .ok_or_else(|| RouteError::NotAbsolute(pattern.to_string()))?;
        let parts: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        let last = parts.len().saturating_sub(1);
        let mut segments = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            segments.push(match *part {
                "**" if i == last => Segment::Rest,
                "**" => return Err(RouteError::RestNotLast(pattern.to_string())),
                "*" => Segment::One,
                p if p.contains('*') => {
                    return Err(RouteError::PartialWildcard(pattern.to_string()))
                }
                p => Segment::Literal(p.to_string()),
            });
        }
        Ok(PathPattern { segments })
    }

    /// Whether `path` (no query string) matches.
    pub fn matches(&self, path: &str) -> bool {
        let Some(rest) = path.strip_prefix('/') else {
            return false;
        };
        let parts: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        let mut parts = parts.into_iter();
        for segment in &self.segments {
            match segment {
                Segment::Rest => return true,
                Segment::One => {
                    if parts.next().is_none() {
                        return false;
                    }
                }
                Segment::Literal(l) => match parts.next() {
                    Some(part) if same_segment(part, l) => {}
                    _ => return false,
                },
            }
        }
        parts.next().is_none()
    }
}

/// Whether request segment `part` names literal `literal`: ASCII case
/// folded, `;parameters` ignored on both sides.
fn same_segment(part: &str, literal: &str) -> bool {
    let bare = |s: &str| s.split(';').next().unwrap_or_default().to_owned();
    bare(part).eq_ignore_ascii_case(&bare(literal))
}

impl std::fmt::Display for PathPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.segments.is_empty() {
            return f.write_str("/");
        }
        for s in &self.segments {
            match s {
                Segment::Literal(l) => write!(f, "/{l}")?,
                Segment::One => f.write_str("/*")?,
                Segment::Rest => f.write_str("/**")?,
            }
        }
        Ok(())
    }
}

/// The price of one request in one mint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Price {
    /// The mint.
    pub mint: Pubkey,
    /// Base units the creator must receive per request, net of any fee share.
    pub amount: u64,
    /// The mint's decimals (told to clients, for display).
    pub decimals: u8,
}

/// What the paywall does with a request no route covers (no route's path
/// matches it).
#[derive(Clone, Debug, Default)]
pub enum Unrouted {
    /// Served free (the default; `serve` says so loudly).
    #[default]
    Free,
    /// Priced like this route (its method and path are not used).
    Priced(Box<Route>),
    /// Refused with `403`.
    Deny,
}

/// The standard HTTP methods (RFC 9110 and PATCH); a route names another
/// only when its configuration opts in explicitly.
pub const STANDARD_METHODS: [http::Method; 9] = [
    http::Method::GET,
    http::Method::HEAD,
    http::Method::POST,
    http::Method::PUT,
    http::Method::DELETE,
    http::Method::CONNECT,
    http::Method::OPTIONS,
    http::Method::TRACE,
    http::Method::PATCH,
];

/// A priced route.
#[derive(Clone, Debug)]
pub struct Route {
    /// The HTTP method, or any when `None`.
    pub method: Option<http::Method>,
    /// The path pattern.
    pub path: PathPattern,
    /// One price per accepted mint.
    pub prices: Vec<Price>,
    /// What the resource is, for the 402.
    pub description: Option<String>,
    /// Claim the voucher on chain before the request is served (for
    /// high-value requests): the creator holds settled money, not a voucher.
    pub settle_first: bool,
    /// Also offer x402's `exact` scheme (a token transfer per request, the
    /// paywall as its own facilitator) after micropay's, so a client
    /// without micropay still pays. Needs [`crate::paywall::Paywall::settle_exact`].
    pub exact: bool,
}

impl Route {
    /// A route; refuses no price, zero prices and a mint priced twice.
    pub fn new(
        method: Option<http::Method>,
        path: PathPattern,
        prices: Vec<Price>,
    ) -> Result<Self, RouteError> {
        let name = format!(
            "{} {path}",
            method.as_ref().map_or("*", http::Method::as_str)
        );
        if prices.is_empty() {
            return Err(RouteError::NoPrice(name));
        }
        for (i, p) in prices.iter().enumerate() {
            if p.amount == 0 {
                return Err(RouteError::ZeroPrice(name, p.mint));
            }
            if prices
                .iter()
                .skip(i.saturating_add(1))
                .any(|q| q.mint == p.mint)
            {
                return Err(RouteError::DuplicateMint(name, p.mint));
            }
        }
        Ok(Route {
            method,
            path,
            prices,
            description: None,
            settle_first: false,
            exact: false,
        })
    }

    /// Whether the route prices `method path`.
    pub fn matches(&self, method: &http::Method, path: &str) -> bool {
        self.method.as_ref().is_none_or(|m| m == method) && self.path.matches(path)
    }

    /// The route's method as shown (`*` for any).
    pub fn method_name(&self) -> &str {
        self.method.as_ref().map_or("*", http::Method::as_str)
    }

    /// The price in `mint`, base units.
    pub fn price(&self, mint: &Pubkey) -> Option<u64> {
        self.prices
            .iter()
            .find(|p| p.mint == *mint)
            .map(|p| p.amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_segments() {
        let p = |s: &str| PathPattern::parse(s).unwrap();
        assert!(p("/").matches("/"));
        assert!(!p("/").matches("/a"));
        assert!(p("/a/b").matches("/a/b"));
        assert!(!p("/a/b").matches("/a/b/"));
        assert!(!p("/a/b").matches("/a/bc"));
        assert!(p("/a/*").matches("/a/x"));
        assert!(!p("/a/*").matches("/a"));
        assert!(!p("/a/*").matches("/a/x/y"));
        assert!(p("/a/**").matches("/a"));
        assert!(p("/a/**").matches("/a/x/y/z"));
        assert!(!p("/a/**").matches("/ab"));
        assert!(p("/**").matches("/anything/at/all"));
        assert!(p("/*/price").matches("/sol/price"));
        // case folded and path parameters ignored: the spellings an upstream
        // may serve as the same resource are priced
        assert!(p("/premium").matches("/PREMIUM"));
        assert!(p("/premium").matches("/Premium;jsessionid=1"));
        assert!(p("/a/**").matches("/A;x/b"));
        assert!(!p("/premium").matches("/premiumx"));
        assert!(!p("/a").matches("a"));
        assert_eq!(p("/a/*/**").to_string(), "/a/*/**");
    }

    #[test]
    fn bad_patterns_and_routes_say_why() {
        assert_eq!(
            PathPattern::parse("a/b"),
            Err(RouteError::NotAbsolute("a/b".into()))
        );
        assert_eq!(
            PathPattern::parse("/**/a"),
            Err(RouteError::RestNotLast("/**/a".into()))
        );
        assert_eq!(
            PathPattern::parse("/a*"),
            Err(RouteError::PartialWildcard("/a*".into()))
        );
        let mint = Pubkey::new_unique();
        let path = PathPattern::parse("/a").unwrap();
        let price = |amount| Price {
            mint,
            amount,
            decimals: 6,
        };
        assert!(matches!(
            Route::new(None, path.clone(), vec![]),
            Err(RouteError::NoPrice(_))
        ));
        assert!(matches!(
            Route::new(None, path.clone(), vec![price(0)]),
            Err(RouteError::ZeroPrice(_, m)) if m == mint
        ));
        assert!(matches!(
            Route::new(None, path.clone(), vec![price(1), price(2)]),
            Err(RouteError::DuplicateMint(_, m)) if m == mint
        ));
        let route = Route::new(Some(http::Method::GET), path, vec![price(5)]).unwrap();
        assert!(route.matches(&http::Method::GET, "/a"));
        assert!(!route.matches(&http::Method::POST, "/a"));
        assert_eq!(route.price(&mint), Some(5));
        assert_eq!(route.price(&Pubkey::new_unique()), None);
    }
}
