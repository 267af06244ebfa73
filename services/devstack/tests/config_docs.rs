//! docs/CONFIG.md is what the services declare: each variable's reader names
//! its meaning and default (common::config), and this writes them out. A
//! change to a reader that is not in the file fails here; run
//! `SHUTTER_WRITE_DOCS=1 cargo test -p devstack --test config_docs` to
//! write the file again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write;
use std::path::Path;

use common::config::{Declared, FromEnv, UNSET, declared};

const PREAMBLE: &str = "# Configuration reference

Written from the services' own declarations (`services/devstack/tests/config_docs.rs`
checks that it matches them). Each service reads environment variables into one
typed struct at start; a missing or malformed variable stops the process (exit
code 2) with a message that names every such variable, and secret values are
never printed. Durations take `ms`, `s`, `m` or `h`; sizes `KiB`, `MiB` or `GiB`.
A variable marked *required when on* is read only when the variable that turns
its feature on is set.

Every process also reads `RUST_LOG` (the log filter, `tracing`'s env-filter
syntax; default `info`) and `LOG_FORMAT` (`json` for one JSON object per line;
default `text`).
";

fn section<T: FromEnv>(title: &str, about: &str, out: &mut String) {
    writeln!(out, "\n## {title}\n\n{about}\n\n| variable | default | meaning |\n|---|---|---|").unwrap();
    for Declared { name, default, meaning, conditional } in declared::<T>() {
        let default = match default.as_str() {
            "required" if conditional => "required when on".to_owned(),
            "required" | "none" => default,
            UNSET => UNSET.to_owned(),
            value => format!("`{value}`"),
        };
        writeln!(out, "| `{name}` | {default} | {} |", meaning.replace('|', "\\|")).unwrap();
    }
}

fn reference() -> String {
    let mut out = PREAMBLE.to_owned();
    section::<auth::Config>("auth", "Accounts, passwords and tokens ([AUTH.md](AUTH.md)).", &mut out);
    section::<post::Config>("post", "Posts, the social graph and money ([POST.md](POST.md)).", &mut out);
    section::<media::Config>(
        "media",
        "Uploads, derivatives and marked copies ([MEDIA.md](MEDIA.md)).",
        &mut out,
    );
    section::<url_signer::Config>(
        "url-signer",
        "The only holder of the CloudFront private key ([URL-SIGNER.md](URL-SIGNER.md)).",
        &mut out,
    );
    section::<cloudfront_api::ApiSettings>(
        "url-signer keys (the command)",
        "`url-signer keys register` and `keys rotate` call CloudFront's API.",
        &mut out,
    );
    section::<edge::Config>("edge", "CloudFront's stand-in ([EDGE.md](EDGE.md)).", &mut out);
    out
}

#[test]
fn the_configuration_reference_is_what_the_services_declare() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/CONFIG.md");
    let generated = reference();
    if std::env::var_os("SHUTTER_WRITE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == generated,
        "docs/CONFIG.md differs from the services' declarations; run \
         SHUTTER_WRITE_DOCS=1 cargo test -p devstack --test config_docs and review the diff"
    );
}
