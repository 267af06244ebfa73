use common::config::FromEnv;
use common::secrecy::ExposeSecret;

/// `auth` serves; `auth keygen FILE` writes a new Ed25519 key (PKCS#8 PEM,
/// mode 0600) and its public key beside it (`FILE.pub`): a token-signing
/// key for `AUTH_SIGNING_KEYS`, or a service's internal-call key
/// (`INTERNAL_AUTH_KEY`, its `.pub` to the services it calls, in their
/// `INTERNAL_AUTH_CALLERS`).
fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => common::server::run_main("auth", auth::Config::from_env, auth::build),
        [command, path] if command == "keygen" => match keygen(std::path::Path::new(path)) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("auth keygen: {path}: {err:#}");
                std::process::ExitCode::from(2)
            }
        },
        _ => {
            eprintln!(
                "usage: auth            (serve; configured by environment variables)\n       auth keygen FILE  (a new Ed25519 key, 0600, and FILE.pub)"
            );
            std::process::ExitCode::from(2)
        }
    }
}

fn keygen(path: &std::path::Path) -> anyhow::Result<()> {
    let (private, public) = common::internal_auth::generate_key()?;
    common::private_file::create(path, private.expose_secret().as_bytes())?;
    let mut public_path = path.as_os_str().to_owned();
    public_path.push(".pub");
    std::fs::write(public_path, public)?;
    Ok(())
}
