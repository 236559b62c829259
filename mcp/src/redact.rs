//! Secrets kept out of what the hub shows (logs, diagnostics, the status
//! page, `/debug/config`): the password of a URL written with one.

/// What stands in for a secret.
pub const REDACTED: &str = "<redacted>";

/// `url` with the password of its user information (`scheme://user:pass@host`)
/// replaced by [`REDACTED`]; anything else as it is.
pub fn url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info
                .split_once(':')
                .map_or(user_info, |(user, _)| user);
            let password = if user_info.contains(':') {
                format!(":{REDACTED}")
            } else {
                String::new()
            };
            format!("{scheme}://{user}{password}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_password_is_hidden() {
        assert_eq!(
            url("http://root:hunter2@etcd:2379"),
            "http://root:<redacted>@etcd:2379"
        );
        assert_eq!(
            url("https://token@hub:9901/x?a@b"),
            "https://token@hub:9901/x?a@b"
        );
        assert_eq!(url("http://a:b:c@h/p@q"), "http://a:<redacted>@h/p@q");
        assert_eq!(url("http://etcd:2379"), "http://etcd:2379");
        assert_eq!(url("not a url"), "not a url");
    }
}
