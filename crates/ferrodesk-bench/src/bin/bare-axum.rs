//! The baseline: a minimal axum server answering `GET /` with a fixed JSON body of the
//! given size, served the same way as Ferrodesk, so results read as "fraction of bare axum".

use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Address.
    #[arg(long, default_value = "127.0.0.1:8099")]
    bind: String,
    /// Body size in bytes.
    #[arg(long, default_value_t = 700)]
    bytes: usize,
}

#[tokio::main]
async fn main() {
    let a = Args::parse();
    let filler = "x".repeat(a.bytes.saturating_sub(20));
    let body: &'static str =
        Box::leak(format!("{{\"id\":1,\"subject\":\"{filler}\"}}").into_boxed_str());
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { ([("content-type", "application/json")], body) }),
    );
    let listener = tokio::net::TcpListener::bind(&a.bind).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
