//! The access log's CPU per request: its access line, formatted and handed
//! to the log buffer exactly as the server does, against the same call with
//! the filter at `off`, in the same run.
//! The difference is what the log adds to every request; the buffer's
//! writer thread (which writes many lines at a time) runs beside it, as in
//! the server, writing to a sink that discards.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use casting_server::config::LogFormat;
use casting_server::logging::{self, Access};
use criterion::Criterion;
use tracing_subscriber::EnvFilter;

fn one_request() {
    logging::access(black_box(&Access {
        request_id: "4f2a9c1e-000000000123",
        method: "GET",
        route: "/movies/{id}",
        status: 200,
        took: Duration::from_micros(48),
        client: IpAddr::V4(Ipv4Addr::LOCALHOST),
        sub: "auth0|5f7c8ec7c33c6c004bbafe82",
    }));
}

fn access_log(c: &mut Criterion) {
    let mut group = c.benchmark_group("access_log");
    for (name, filter, format) in [
        ("off", "off", LogFormat::Text),
        ("text", "info", LogFormat::Text),
        ("json", "info", LogFormat::Json),
    ] {
        let Ok((subscriber, _logging)) =
            logging::to_writer(EnvFilter::new(filter), format, std::io::sink(), false)
        else {
            return;
        };
        tracing::subscriber::with_default(subscriber, || {
            group.bench_function(name, |b| b.iter(one_request));
        });
    }
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    access_log(&mut criterion);
    criterion.final_summary();
}
