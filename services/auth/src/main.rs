use common::config::FromEnv;

/// `auth` serves; `auth keygen FILE` writes a new Ed25519 token-signing key
/// (PKCS#8 PEM, mode 0600) for `AUTH_SIGNING_KEYS`.
fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => common::server::run_main("auth", auth::Config::from_env, auth::build),
        [command, path] if command == "keygen" => {
            let written = auth::keys::SigningKey::generate_pem().and_then(|pem| {
                common::private_file::create(std::path::Path::new(path), &pem).map_err(Into::into)
            });
            match written {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("auth keygen: {path}: {err:#}");
                    std::process::ExitCode::from(2)
                }
            }
        }
        _ => {
            eprintln!(
                "usage: auth            (serve; configured by environment variables)\n       auth keygen FILE  (a new token-signing key, 0600)"
            );
            std::process::ExitCode::from(2)
        }
    }
}
