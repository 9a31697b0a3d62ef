//! Which `Host` a request to the dev server may name: the defence against DNS rebinding.
//!
//! A page on any site can make a browser talk to `127.0.0.1:8000` by pointing a name it owns
//! at that address ("DNS rebinding"); the browser then sends that name as `Host`. So the dev
//! server answers only requests naming a loopback host (`localhost`, `*.localhost`,
//! `127.0.0.0/8`, `[::1]`), the address it was told to bind when that is one particular
//! address, or a host the project allows — `[dev] allowed_hosts`, by default Django's
//! `ALLOWED_HOSTS`, with Django's pattern rules (`.example.com` is the domain and its
//! subdomains, `*` is anything).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The hosts a dev server answers, besides loopback ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    /// Django-style patterns, lowercased: `name`, `.domain`, `*`.
    patterns: Vec<String>,
}

/// Why a request's `Host` is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No `Host` at all, or one that is no host (`400`).
    Malformed,
    /// A well-formed host that is neither loopback nor allowed (`403`), lowercased, without
    /// its port.
    NotAllowed(String),
}

impl AllowedHosts {
    /// `patterns` as Django reads `ALLOWED_HOSTS`; `bind` is the address the server listens
    /// on (a particular non-loopback address is allowed too: the developer named it).
    pub fn new<S: AsRef<str>>(patterns: &[S], bind: &str) -> AllowedHosts {
        let mut patterns: Vec<String> = patterns
            .iter()
            .map(|p| p.as_ref().trim().to_ascii_lowercase())
            .filter(|p| !p.is_empty())
            .collect();
        if let Ok(ip) = bind
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<IpAddr>()
            && !ip.is_unspecified()
        {
            patterns.push(match ip {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("[{v6}]"),
            });
        }
        AllowedHosts { patterns }
    }

    /// Whether a request whose `Host` header is `host` (`None`: none sent) is answered.
    pub fn check(&self, host: Option<&str>) -> Result<(), Refusal> {
        let name = host.and_then(host_name).ok_or(Refusal::Malformed)?;
        if is_loopback(&name) || self.patterns.iter().any(|p| matches(p, &name)) {
            Ok(())
        } else {
            Err(Refusal::NotAllowed(name))
        }
    }
}

/// The host of a `Host` header value, lowercased, without port and trailing dot (Django's
/// `split_domain_port`); IPv6 literals keep their brackets. `None` when it is no host.
pub fn host_name(value: &str) -> Option<String> {
    let value = value.trim().to_ascii_lowercase();
    let name = if let Some(rest) = value.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        inside.parse::<Ipv6Addr>().ok()?;
        if !(after.is_empty() || port_ok(after.strip_prefix(':')?)) {
            return None;
        }
        format!("[{inside}]")
    } else {
        let (name, port) = match value.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (value.as_str(), None),
        };
        if port.is_some_and(|p| !port_ok(p)) {
            return None;
        }
        let name = name.strip_suffix('.').unwrap_or(name);
        let ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
        if !ok {
            return None;
        }
        name.to_owned()
    };
    Some(name)
}

fn port_ok(port: &str) -> bool {
    !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
}

/// `localhost`, a name below `.localhost` (RFC 6761: always loopback), `127.0.0.0/8` or `[::1]`.
fn is_loopback(name: &str) -> bool {
    if name == "localhost" || name.ends_with(".localhost") || name == "[::1]" {
        return true;
    }
    name.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// Django's `is_same_domain`: `*` is anything, `.example.com` is `example.com` and every name
/// below it, anything else is itself.
fn matches(pattern: &str, name: &str) -> bool {
    let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
    if pattern == "*" {
        return true;
    }
    match pattern.strip_prefix('.') {
        Some(domain) => {
            name == domain
                || name
                    .strip_suffix(domain)
                    .is_some_and(|head| head.ends_with('.'))
        }
        None => name == pattern,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_pass_others_are_refused() {
        let none = AllowedHosts::new::<&str>(&[], "127.0.0.1");
        for ok in [
            "localhost",
            "localhost:8000",
            "LOCALHOST.",
            "app.localhost:8000",
            "127.0.0.1",
            "127.0.0.1:8000",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:8000",
        ] {
            assert_eq!(none.check(Some(ok)), Ok(()), "{ok}");
        }
        for refused in [
            "evil.com",
            "evil.com:8000",
            "localhost.evil.com",
            "127.0.0.1.nip.io",
            "10.0.0.1",
            "[::2]:80",
            "0.0.0.0:8000",
            "notlocalhost",
        ] {
            assert!(
                matches!(none.check(Some(refused)), Err(Refusal::NotAllowed(_))),
                "{refused}"
            );
        }
        for malformed in [
            None,
            Some(""),
            Some("a b"),
            Some("x:port"),
            Some("[zz]"),
            Some("a/b"),
        ] {
            assert_eq!(
                none.check(malformed),
                Err(Refusal::Malformed),
                "{malformed:?}"
            );
        }
    }

    #[test]
    fn django_patterns_and_the_bound_address() {
        let allowed = AllowedHosts::new(&[".example.com", "Dev.Test", "[2001:db8::1]"], "0.0.0.0");
        for ok in [
            "example.com",
            "www.example.com:8000",
            "a.b.example.com",
            "dev.test",
            "[2001:db8::1]:8000",
        ] {
            assert_eq!(allowed.check(Some(ok)), Ok(()), "{ok}");
        }
        for refused in ["badexample.com", "x.dev.test", "0.0.0.0"] {
            assert!(allowed.check(Some(refused)).is_err(), "{refused}");
        }
        let star = AllowedHosts::new(&["*"], "127.0.0.1");
        assert_eq!(star.check(Some("anything.example:1")), Ok(()));
        let bound = AllowedHosts::new::<&str>(&[], "192.168.1.5");
        assert_eq!(bound.check(Some("192.168.1.5:8000")), Ok(()));
        assert!(bound.check(Some("192.168.1.6:8000")).is_err());
    }
}
