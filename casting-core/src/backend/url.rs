//! Database URLs as they may be shown: without their password.

/// `url` with its password replaced by `***`, otherwise as given, for
/// messages and logs: `postgres://app:***@db:5432/casting`. A `password`
/// parameter in the query is hidden too.
pub fn redact_password(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(at) => url.split_at(at + 3),
        None => ("", url),
    };
    // The query starts at the first `?`; the user information ends at the
    // last `@` before it (a password may hold an unescaped `@` or `/`).
    let (head, query) = match rest.find('?') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let head = match head.rfind('@') {
        Some(at) => {
            let (userinfo, host) = head.split_at(at);
            match userinfo.find(':') {
                Some(colon) => format!("{}:***{host}", &userinfo[..colon]),
                None => head.to_owned(),
            }
        }
        None => head.to_owned(),
    };
    let query = if query.is_empty() {
        String::new()
    } else {
        let pairs: Vec<String> = query[1..]
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        format!("?{}", pairs.join("&"))
    };
    format!("{scheme}{head}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_hidden_wherever_it_is_given() {
        assert_eq!(
            redact_password("postgres://app:s3cret@db.example:5432/casting?sslmode=require"),
            "postgres://app:***@db.example:5432/casting?sslmode=require"
        );
        assert_eq!(
            redact_password("postgresql://app:p@ss/word@db/casting"),
            "postgresql://app:***@db/casting"
        );
        assert_eq!(
            redact_password("postgresql://u@h/d?password=s3cret&sslmode=disable"),
            "postgresql://u@h/d?password=***&sslmode=disable"
        );
        assert_eq!(
            redact_password("postgres://app@db/casting"),
            "postgres://app@db/casting"
        );
        assert_eq!(redact_password("postgres://h/d"), "postgres://h/d");
    }
}
