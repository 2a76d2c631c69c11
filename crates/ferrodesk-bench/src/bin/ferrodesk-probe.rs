//! Measures latency (p50, p99) of read paths one request at a time over HTTP: each default
//! view's first page plus the counts call, a two-word search, and an end user of the
//! read-only organization listing the first page of their organization's tickets.

use std::time::Instant;

use clap::Parser;
use serde_json::Value;

#[derive(Parser)]
struct Args {
    /// `http://127.0.0.1:PORT`.
    #[arg(long)]
    base: String,
    /// The JSON the generator printed.
    #[arg(long)]
    generated: String,
    /// Requests per scenario.
    #[arg(long, default_value_t = 200)]
    requests: usize,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn measure(client: &reqwest::Client, url: &str, token: &str, n: usize) -> (f64, f64, usize) {
    let mut times = Vec::with_capacity(n);
    let mut errors = 0;
    for _ in 0..n {
        let t = Instant::now();
        match client.get(url).bearer_auth(token).send().await {
            Ok(r) if r.status().is_success() => {
                let _ = r.bytes().await;
            }
            _ => errors += 1,
        }
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    (pct(&times, 0.5), pct(&times, 0.99), errors)
}

#[tokio::main]
async fn main() {
    let a = Args::parse();
    let g: Value =
        serde_json::from_str(&std::fs::read_to_string(&a.generated).expect("generated file"))
            .expect("json");
    let client = reqwest::Client::new();
    let agent = g["agent_group_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let global = g["agent_global_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let end_user = g["end_user_org1_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let views: Value = client
        .get(format!("{}/api/v1/views", a.base))
        .bearer_auth(&agent)
        .send()
        .await
        .expect("views")
        .json()
        .await
        .expect("json");
    let assigned = g["agent_assigned_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    println!("| scenario | p50 ms | p99 ms | errors |");
    println!("|---|---|---|---|");
    let agents = [
        ("group agent", &agent),
        ("global agent", &global),
        ("assigned agent", &assigned),
    ];
    for (who, token) in agents {
        if token.is_empty() {
            continue;
        }
        for v in views.as_array().cloned().unwrap_or_default() {
            let url = format!("{}/api/v1/views/{}/tickets?limit=25", a.base, v["id"]);
            let (p50, p99, e) = measure(&client, &url, token, a.requests).await;
            println!(
                "| view \"{}\" first page ({who}) | {p50:.2} | {p99:.2} | {e} |",
                v["name"].as_str().unwrap_or_default()
            );
        }
        let url = format!("{}/api/v1/views/counts", a.base);
        let (p50, p99, e) = measure(&client, &url, token, a.requests).await;
        println!("| all seven view counts, one call ({who}) | {p50:.2} | {p99:.2} | {e} |");
    }
    let (p50, p99, e) = measure(
        &client,
        &format!("{}/api/v1/search?q=printer%20ref42", a.base),
        &global,
        a.requests,
    )
    .await;
    println!("| search \"printer ref42\" (global agent) | {p50:.2} | {p99:.2} | {e} |");
    let (p50, p99, e) = measure(
        &client,
        &format!("{}/api/v1/search?q=printer%20ref42", a.base),
        &agent,
        a.requests,
    )
    .await;
    println!("| search \"printer ref42\" (group agent) | {p50:.2} | {p99:.2} | {e} |");
    let (p50, p99, e) = measure(
        &client,
        &format!("{}/api/v1/search?q=invoice%20ref7", a.base),
        &end_user,
        a.requests,
    )
    .await;
    println!("| search \"invoice ref7\" (end user) | {p50:.2} | {p99:.2} | {e} |");
    let (p50, p99, e) = measure(
        &client,
        &format!("{}/api/v1/tickets?limit=25", a.base),
        &end_user,
        a.requests,
    )
    .await;
    println!(
        "| end user of the read-only org: first page of tickets | {p50:.2} | {p99:.2} | {e} |"
    );
}
