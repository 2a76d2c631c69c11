//! Rate limits (SPEC §8): per credential (API token or session) and per client address on
//! every `/api/v1` request, and per client address on sign-in. Every API answer carries
//! `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; one over a limit answers 429
//! with `Retry-After` (whole seconds). Counters live in each process (SPEC §9 allows it): with
//! several instances behind a balancer a client gets each instance's allowance.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::error::problem;

/// The client's address, put on every request by the server loop.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

/// Requests per second allowed, with a burst of twice that; 0 turns a limit off.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    /// Per API token or session.
    pub per_credential: u32,
    /// Per client address.
    pub per_address: u32,
    /// Sign-in attempts per client address and minute.
    pub logins_per_address_minute: u32,
}

impl Default for Rates {
    fn default() -> Self {
        Rates {
            per_credential: 100,
            per_address: 300,
            logins_per_address_minute: 20,
        }
    }
}

impl Rates {
    /// Whether every limit is off.
    pub fn is_off(&self) -> bool {
        self.per_credential == 0 && self.per_address == 0 && self.logins_per_address_minute == 0
    }

    /// No limits (benchmarks, load tests).
    pub fn off() -> Rates {
        Rates {
            per_credential: 0,
            per_address: 0,
            logins_per_address_minute: 0,
        }
    }
}

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

fn keyed<K: std::hash::Hash + Eq + Clone>(quota: Option<Quota>) -> Option<Keyed<K>> {
    quota.map(|q| RateLimiter::keyed(q).with_middleware::<StateInformationMiddleware>())
}

fn per_second(n: u32) -> Option<Quota> {
    let n = NonZeroU32::new(n)?;
    let burst = NonZeroU32::new(n.get().saturating_mul(2)).unwrap_or(n);
    Some(Quota::per_second(n).allow_burst(burst))
}

/// The limiters of one process.
pub struct Limiters {
    credential: Option<Keyed<String>>,
    address: Option<Keyed<IpAddr>>,
    login: Option<Keyed<IpAddr>>,
    clock: DefaultClock,
}

impl Limiters {
    /// Limiters for `rates`.
    pub fn new(rates: Rates) -> Arc<Limiters> {
        let login = NonZeroU32::new(rates.logins_per_address_minute).map(Quota::per_minute);
        let limiters = Arc::new(Limiters {
            credential: keyed(per_second(rates.per_credential)),
            address: keyed(per_second(rates.per_address)),
            login: keyed(login),
            clock: DefaultClock::default(),
        });
        // Forget idle keys now and then, so that many clients do not grow memory for ever.
        let weak = Arc::downgrade(&limiters);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    let Some(l) = weak.upgrade() else { break };
                    if let Some(k) = &l.credential {
                        k.retain_recent();
                    }
                    if let Some(k) = &l.address {
                        k.retain_recent();
                    }
                    if let Some(k) = &l.login {
                        k.retain_recent();
                    }
                }
            });
        }
        limiters
    }
}

/// The outcome of one limiter: (limit, remaining, seconds to full) or the wait when over.
enum Outcome {
    Allowed {
        limit: u32,
        remaining: u32,
        reset: u64,
    },
    Over {
        limit: u32,
        retry_after: u64,
    },
}

fn check<K: std::hash::Hash + Eq + Clone>(l: &Keyed<K>, key: &K, clock: &DefaultClock) -> Outcome {
    match l.check_key(key) {
        Ok(snapshot) => {
            let quota = snapshot.quota();
            let limit = quota.burst_size().get();
            let remaining = snapshot.remaining_burst_capacity();
            let reset = (quota.replenish_interval() * (limit - remaining.min(limit)))
                .as_secs_f64()
                .ceil() as u64;
            Outcome::Allowed {
                limit,
                remaining,
                reset,
            }
        }
        Err(not_until) => Outcome::Over {
            limit: not_until.quota().burst_size().get(),
            retry_after: not_until
                .wait_time_from(clock.now())
                .as_secs_f64()
                .ceil()
                .max(1.0) as u64,
        },
    }
}

fn credential_key(req: &Request) -> Option<String> {
    if let Some(v) = req.headers().get(header::AUTHORIZATION) {
        return v.to_str().ok().map(|s| s.trim().to_owned());
    }
    let parts = req.headers().get_all(header::COOKIE);
    parts
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == crate::extract::SESSION_COOKIE)
        .map(|(_, v)| format!("session {v}"))
}

fn is_login(req: &Request) -> bool {
    req.method() == Method::POST && matches!(req.uri().path(), "/api/v1/auth/login" | "/login")
}

/// The middleware: applies the limits that concern the request, most restrictive answer wins.
pub async fn limit(State(l): State<Arc<Limiters>>, req: Request, next: Next) -> Response {
    let vendor = crate::compat::Vendor::of_path(req.uri().path());
    let api = req.uri().path().starts_with("/api/") || vendor.is_some();
    let login = is_login(&req);
    if !api && !login {
        return next.run(req).await;
    }
    let addr = req.extensions().get::<ClientAddr>().map(|a| a.0);
    let mut outcomes = Vec::new();
    if let (Some(limiter), Some(addr)) = (&l.login, addr)
        && login
    {
        outcomes.push(check(limiter, &addr, &l.clock));
    }
    if api {
        if let (Some(limiter), Some(addr)) = (&l.address, addr) {
            outcomes.push(check(limiter, &addr, &l.clock));
        }
        if let (Some(limiter), Some(key)) = (&l.credential, credential_key(&req)) {
            outcomes.push(check(limiter, &key, &l.clock));
        }
    }
    if let Some((limit, retry_after)) = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Over { limit, retry_after } => Some((*limit, *retry_after)),
            Outcome::Allowed { .. } => None,
        })
        .max_by_key(|(_, r)| *r)
    {
        let message = format!("too many requests; retry in {retry_after} s");
        let mut res = match vendor {
            None => problem(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                message,
                vec![],
            ),
            Some(v) => crate::compat::rate_limited(v, message),
        };
        let h = res.headers_mut();
        h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        h.insert("ratelimit-limit", HeaderValue::from(limit));
        h.insert("ratelimit-remaining", HeaderValue::from(0u32));
        h.insert("ratelimit-reset", HeaderValue::from(retry_after));
        return res;
    }
    let tightest = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Allowed {
                limit,
                remaining,
                reset,
            } => Some((*limit, *remaining, *reset)),
            Outcome::Over { .. } => None,
        })
        .min_by_key(|(_, remaining, _)| *remaining);
    let mut res = next.run(req).await;
    if let Some((limit, remaining, reset)) = tightest {
        let h = res.headers_mut();
        h.insert("ratelimit-limit", HeaderValue::from(limit));
        h.insert("ratelimit-remaining", HeaderValue::from(remaining));
        h.insert("ratelimit-reset", HeaderValue::from(reset));
        if let Some(v) = vendor {
            crate::compat::rate_headers(v, h, limit, remaining);
        }
    }
    res
}
