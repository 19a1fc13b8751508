//! Driving wrk and reading its report.

use std::path::Path;
use std::process::Command;

/// One wrk run's figures.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Run {
    pub(crate) rps: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    /// Responses that were not 2xx or 3xx, and socket errors.
    pub(crate) errors: u64,
    /// Requests completed.
    pub(crate) requests: u64,
    /// CPU time the serving process spent per request, in microseconds,
    /// once the caller has measured it.
    pub(crate) cpu_us: f64,
}

/// How wrk loads a server.
pub(crate) struct Load<'a> {
    pub(crate) url: String,
    pub(crate) script: &'a Path,
    pub(crate) connections: u32,
    pub(crate) seconds: u32,
    /// The core wrk is pinned to, when taskset is there.
    pub(crate) core: Option<u32>,
}

fn millis(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (text, 1.0)
    };
    number.trim().parse::<f64>().ok().map(|n| n * scale)
}

/// Reads wrk's `--latency` report.
pub(crate) fn parse(report: &str) -> Run {
    let mut run = Run::default();
    for line in report.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("Requests/sec:"), Some(value)) => run.rps = value.parse().unwrap_or(0.0),
            (Some(count), Some("requests")) => run.requests = count.parse().unwrap_or(0),
            (Some("50%"), Some(value)) => run.p50_ms = millis(value).unwrap_or(0.0),
            (Some("99%"), Some(value)) => run.p99_ms = millis(value).unwrap_or(0.0),
            (Some("Non-2xx"), _) => {
                run.errors += line
                    .rsplit(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
            }
            (Some("Socket"), Some("errors:")) => {
                run.errors += line
                    .split(',')
                    .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                    .sum::<u64>();
            }
            _ => {}
        }
    }
    run
}

/// Runs wrk once.
pub(crate) fn run(load: &Load<'_>) -> Result<Run, String> {
    let mut command = match load.core {
        Some(core) => {
            let mut c = Command::new("taskset");
            c.args(["-c", &core.to_string(), "wrk"]);
            c
        }
        None => Command::new("wrk"),
    };
    command.args([
        "-t1",
        &format!("-c{}", load.connections),
        &format!("-d{}s", load.seconds),
        "--latency",
        "-s",
    ]);
    command.arg(load.script).arg(&load.url);
    let output = command.output().map_err(|e| format!("wrk: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "wrk failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(parse(&String::from_utf8_lossy(&output.stdout)))
}

/// A Lua script that sends `method` with `body`, rotating through the
/// bearer tokens in `tokens_file` (one per line). With a `path` template,
/// each request's path is the template with `{n}` replaced by a counter
/// times `step` (modulo `modulo`), plus an ignored `nocache` parameter
/// that differs on every request, so no response cache helps; without,
/// wrk's URL path is used. Templates must already have a query string.
pub(crate) fn script(
    method: &str,
    body: Option<&str>,
    tokens_file: &Path,
    path: Option<(&str, u64, u64)>,
) -> String {
    let body = body.map_or_else(|| "nil".to_owned(), |b| format!("[[{b}]]"));
    let path = match path {
        Some((template, step, modulo)) => {
            format!(
                "string.gsub([[{template}]], \"{{n}}\", tostring((n * {step}) % {modulo})) .. \"&nocache=\" .. n"
            )
        }
        None => "nil".to_owned(),
    };
    format!(
        r#"local tokens = {{}}
for line in io.lines("{tokens}") do tokens[#tokens + 1] = line end
local i = 0
local n = 0
wrk.method = "{method}"
wrk.headers["Content-Type"] = "application/json"
local body = {body}
request = function()
  i = i % #tokens + 1
  n = n + 1
  wrk.headers["Authorization"] = "Bearer " .. tokens[i]
  local path = {path}
  return wrk.format(nil, path, nil, body)
end
"#,
        tokens = tokens_file.display()
    )
}

/// A Lua script that mixes reads and writes on the same connections: one
/// request in `every` is a `POST` of `body` to `write_path`, the others a
/// `GET` of wrk's URL path, rotating through the bearer tokens in
/// `tokens_file`. Each write moves the store on, so the reads after it
/// find the response cache emptied: this measures reads under writes.
pub(crate) fn mixed_script(tokens_file: &Path, write_path: &str, body: &str, every: u32) -> String {
    format!(
        r#"local tokens = {{}}
for line in io.lines("{tokens}") do tokens[#tokens + 1] = line end
local i = 0
local n = 0
local body = [[{body}]]
request = function()
  i = i % #tokens + 1
  n = n + 1
  local headers = {{}}
  headers["Authorization"] = "Bearer " .. tokens[i]
  if n % {every} == 0 then
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", "{write_path}", headers, body)
  end
  return wrk.format("GET", nil, headers, nil)
end
"#,
        tokens = tokens_file.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrk_report_is_read() {
        let report = "Running 5s test @ http://127.0.0.1:1/movies
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   710.35us  120.11us   3.10ms   80.00%
  Latency Distribution
     50%  690.00us
     75%  750.00us
     90%  800.00us
     99%    1.20ms
  445566 requests in 5.00s, 300.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  89113.20
Transfer/sec:     60.00MB
";
        let run = parse(report);
        assert!((run.rps - 89113.2).abs() < 1e-6);
        assert!((run.p50_ms - 0.69).abs() < 1e-9);
        assert!((run.p99_ms - 1.2).abs() < 1e-9);
        assert_eq!(run.errors, 10);
        assert_eq!(run.requests, 445_566);
    }
}
