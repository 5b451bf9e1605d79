//! A failure as one line of text: the error, then each of its causes after `": "`. A transport
//! error's causes are what say what actually happened (connection refused, reset, a bad
//! certificate), so the proxy's logs and the CLI's messages both write them this way. Pure: a
//! caller strips what must not travel (a URL carrying a token) before, and scrubs secrets after.

use std::error::Error;

/// `error`, then each of its causes, outermost first.
pub fn chain<'a>(
    error: &'a (dyn Error + 'static),
) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(error), |&error| error.source())
}

/// `error` and each of its causes, `": "`-separated.
pub fn describe(error: &(dyn Error + 'static)) -> String {
    chain(error)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    /// An error saying `text`, caused by `source`.
    #[derive(Debug)]
    struct Failure {
        text: &'static str,
        source: Option<Box<Failure>>,
    }

    impl fmt::Display for Failure {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.text)
        }
    }

    impl Error for Failure {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.source.as_deref().map(|source| source as _)
        }
    }

    /// An error of `texts`, each caused by the next.
    fn failure(texts: &[&'static str]) -> Failure {
        let (text, causes) = texts.split_first().expect("at least one text");
        Failure {
            text,
            source: (!causes.is_empty()).then(|| Box::new(failure(causes))),
        }
    }

    fn check(texts: &[&'static str], expected: &str) {
        assert_eq!(describe(&failure(texts)), expected);
    }

    #[test]
    fn causes_follow_the_error() {
        check(&["error sending request"], "error sending request");
        check(
            &["error sending request", "client error (Connect)"],
            "error sending request: client error (Connect)",
        );
        check(
            &[
                "error sending request",
                "client error (Connect)",
                "Connection refused (os error 111)",
            ],
            "error sending request: client error (Connect): Connection refused (os error 111)",
        );
    }

    #[test]
    fn the_chain_can_be_searched() {
        let error = failure(&["outer", "middle", "inner"]);
        let texts: Vec<String> = chain(&error).map(ToString::to_string).collect();
        assert_eq!(texts, ["outer", "middle", "inner"]);
        assert!(chain(&error).all(|cause| cause.downcast_ref::<Failure>().is_some()));
    }
}
