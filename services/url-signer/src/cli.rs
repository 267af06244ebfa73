//! `url-signer [serve]`, `sign`, `verify`, `keygen`: the service and a CLI
//! that mirrors `aws cloudfront sign`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use cloudfront_sign::policy::parse_ip_range;
use cloudfront_sign::verify::{self, SignedRequest};
use cloudfront_sign::{HashAlgorithm, KeyGroup, KeyKind, Policy, PublicKey, Signer};
use common::ids::KeyId;

use crate::keyring::{load_key_file, write_new_key};

#[derive(Debug, Parser)]
#[command(name = "url-signer", about = "CloudFront URL signing for Shutter", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the internal signing service (the default); configured by environment variables.
    Serve,
    /// Print a signed URL (canned policy unless a condition or another resource is given).
    Sign(SignArgs),
    /// Check a signed URL with a public key: prints OK or the reason; exit code 0 or 1.
    Verify {
        #[arg(long)]
        public_key: PathBuf,
        #[arg(long)]
        url: String,
        /// The client's address, for IP conditions.
        #[arg(long)]
        ip: Option<std::net::IpAddr>,
        /// Check as of this time (epoch seconds or RFC 3339) instead of now.
        #[arg(long, value_parser = parse_time)]
        at: Option<u64>,
    },
    /// CloudFront's key registry: register a public key, rotate the signing key.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Write a new key pair (private_key.pem 0600, public_key.pem) and print the public key.
    Keygen {
        #[arg(long, default_value = "rsa")]
        kind: KeyKind,
        #[arg(long)]
        out: PathBuf,
    },
}

/// CloudFront's API is AWS's unless `CLOUDFRONT_ENDPOINT_URL` names another;
/// credentials come from the usual AWS variables or profile.
#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create the public key in CloudFront (or find it), put it in the key group
    /// (created when missing), and print its key id for url-signer's configuration.
    Register {
        #[arg(long)]
        public_key: PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long)]
        key_group: String,
    },
    /// Rotate the signing key with zero downtime, one resumable step at a time
    /// (state in rotation.json beside the manifest). Run it again to go on.
    /// How long URLs signed by the old key live is url-signer's own
    /// SIGNER_MAX_TTL (read from the environment, 1h by default).
    Rotate {
        /// The key manifest url-signer reads (SIGNER_KEY_MANIFEST).
        #[arg(long)]
        manifest: PathBuf,
        /// The CloudFront key group that trusts url-signer's keys.
        #[arg(long, required_unless_present = "self_hosted", conflicts_with = "self_hosted")]
        key_group: Option<String>,
        /// No CloudFront: edge trusts the keys url-signer publishes.
        #[arg(long)]
        self_hosted: bool,
        /// Wait this long after publishing the new key before signing with it
        /// (CloudFront's propagation; self-hosted, edge's EDGE_KEYS_REFRESH).
        #[arg(long, default_value = "10m", value_parser = parse_duration)]
        propagation_delay: Duration,
        #[arg(long, default_value = "rsa")]
        kind: KeyKind,
        #[arg(long, default_value = "shutter")]
        name_prefix: String,
        /// Sleep through the waits instead of stopping at them.
        #[arg(long)]
        wait: bool,
        /// The manifest of the step done last has just finished rolling out
        /// (a Kubernetes Secret): count its wait from now, and do nothing else.
        #[arg(long)]
        deployed: bool,
    },
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    text.parse::<common::config::Seconds>().map(|s| s.0).map_err(|err| err.to_string())
}

#[derive(Debug, clap::Args)]
struct SignArgs {
    #[arg(long)]
    url: String,
    #[arg(long)]
    key_pair_id: KeyId,
    /// PEM file of the private key (mode 0600).
    #[arg(long)]
    private_key: PathBuf,
    /// Epoch seconds or RFC 3339.
    #[arg(long, value_parser = parse_time)]
    date_less_than: u64,
    #[arg(long, value_parser = parse_time)]
    date_greater_than: Option<u64>,
    /// An address or CIDR range.
    #[arg(long)]
    ip_address: Option<String>,
    #[arg(long, default_value = "SHA1")]
    hash_algorithm: HashAlgorithm,
    /// The policy's resource when it differs from the URL (may use * and ?).
    #[arg(long)]
    policy_resource: Option<String>,
}

fn parse_time(text: &str) -> Result<u64, String> {
    if let Ok(epoch) = text.parse::<u64>() {
        return Ok(epoch);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|err| format!("{text:?} is neither epoch seconds nor RFC 3339: {err}"))
        .and_then(|t| u64::try_from(t.timestamp()).map_err(|_| "times before 1970 are not valid".to_owned()))
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            use common::config::FromEnv;
            return common::server::run_main(crate::NAME, crate::Config::from_env, crate::build);
        }
        Command::Sign(args) => sign(args),
        Command::Verify { public_key, url, ip, at } => return verify_url(&public_key, &url, ip, at),
        Command::Keygen { kind, out } => keygen(kind, &out),
        Command::Keys(command) => keys(command),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("url-signer: {err}");
            ExitCode::from(2)
        }
    }
}

fn sign(args: SignArgs) -> Result<(), String> {
    let key = load_key_file(&args.private_key)?;
    let policy = Policy {
        resource: Some(args.policy_resource.unwrap_or_else(|| args.url.clone())),
        date_less_than: args.date_less_than,
        date_greater_than: args.date_greater_than,
        ip_address: args.ip_address.as_deref().map(parse_ip_range).transpose()?,
    };
    let signer = Signer::new(args.key_pair_id.into_string(), key, args.hash_algorithm);
    println!("{}", signer.url(&args.url, &policy).map_err(|err| err.to_string())?);
    Ok(())
}

fn verify_url(public_key: &Path, url: &str, ip: Option<std::net::IpAddr>, at: Option<u64>) -> ExitCode {
    let key = match std::fs::read(public_key)
        .map_err(|e| e.to_string())
        .and_then(|pem| PublicKey::from_pem(&pem).map_err(|e| e.to_string()))
    {
        Ok(key) => key,
        Err(err) => {
            eprintln!("url-signer: {}: {err}", public_key.display());
            return ExitCode::from(2);
        }
    };
    // The one key given is trusted under whatever id the URL names.
    let key_id = url.split(['?', '&']).find_map(|p| p.strip_prefix("Key-Pair-Id=")).unwrap_or_default();
    let mut group = KeyGroup::new();
    group.insert(key_id, key);
    let now = at.unwrap_or_else(|| {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
    });
    match verify::verify(&group, &SignedRequest { url, cookies: &[], client_ip: ip, now }) {
        Ok(_) => {
            println!("OK");
            ExitCode::SUCCESS
        }
        Err(denial) => {
            println!("DENIED: {denial} ({}: {})", denial.code(), denial.message());
            ExitCode::FAILURE
        }
    }
}

fn keygen(kind: KeyKind, out: &Path) -> Result<(), String> {
    let public = write_new_key(kind, out)?;
    eprintln!(
        "wrote {} (0600) and {}",
        out.join("private_key.pem").display(),
        out.join("public_key.pem").display()
    );
    print!("{public}");
    Ok(())
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

fn keys(command: KeysCommand) -> Result<(), String> {
    use common::config::FromEnv;
    common::telemetry::init("warn");
    let settings = cloudfront_api::ApiSettings::from_env().map_err(|e| e.to_string())?;
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let api = cloudfront_api::CloudFront::new(&settings).await;
        match command {
            KeysCommand::Register { public_key, name, key_group } => {
                let pem = std::fs::read_to_string(&public_key)
                    .map_err(|e| format!("{}: {e}", public_key.display()))?;
                PublicKey::from_pem(pem.as_bytes()).map_err(|e| format!("{}: {e}", public_key.display()))?;
                let id = api.register_public_key(&name, &pem).await.map_err(|e| format!("{e:#}"))?;
                let change = api.add_to_key_group(&key_group, &id).await.map_err(|e| format!("{e:#}"))?;
                eprintln!("public key {name:?} is {id}; key group {key_group:?}: {change:?}");
                println!("{id}");
                Ok(())
            }
            KeysCommand::Rotate {
                manifest,
                key_group,
                self_hosted: _,
                propagation_delay,
                kind,
                name_prefix,
                wait,
                deployed,
            } => {
                if deployed {
                    let step = crate::rotation::mark_deployed(&manifest, unix_now())
                        .map_err(|e| format!("{e:#}"))?;
                    println!("step {}/5 is deployed: its wait counts from now", step.number());
                    return Ok(());
                }
                let settings = crate::rotation::RotationSettings {
                    manifest,
                    name_prefix,
                    kind,
                    propagation_delay,
                    max_url_lifetime: max_url_lifetime()?,
                    margin: crate::rotation::DEFAULT_MARGIN,
                };
                let trust = match &key_group {
                    Some(key_group) => crate::rotation::Trust::CloudFront { api: &api, key_group },
                    None => crate::rotation::Trust::Published,
                };
                rotate(trust, &settings, wait).await
            }
        }
    })
}

/// url-signer's own `SIGNER_MAX_TTL`: the one source of a URL's longest life.
fn max_url_lifetime() -> Result<Duration, String> {
    let mut env = common::config::Env::from_process();
    crate::config::max_ttl_from_env(&mut env).ok_or_else(|| "SIGNER_MAX_TTL is malformed".to_owned())
}

async fn rotate(
    trust: crate::rotation::Trust<'_>,
    settings: &crate::rotation::RotationSettings,
    wait: bool,
) -> Result<(), String> {
    use crate::rotation::{Progress, Step};
    loop {
        match crate::rotation::rotate(trust, settings, unix_now()).await {
            Ok(Progress::Done { new_key_id }) => {
                println!("step 5/5 done: {new_key_id} is the only published key and signs every URL");
                return Ok(());
            }
            Ok(Progress::Waiting { done, until }) => {
                let next = match done {
                    Step::Published => "the new key is in the key group and published; it becomes active",
                    _ => "the new key is active; the old one is retired",
                };
                let at = chrono::DateTime::from_timestamp(until as i64, 0)
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default();
                println!("step {}/5 done: {next} at {at}", done.number());
                if !wait {
                    println!("run `url-signer keys rotate` again then (or pass --wait)");
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_secs(until.saturating_sub(unix_now()).max(1))).await;
            }
            Err(err) => {
                let at = crate::rotation::load_state(&settings.manifest)
                    .ok()
                    .flatten()
                    .map(|s| format!(" after step {}/5", s.step.number()))
                    .unwrap_or_default();
                return Err(format!("rotation stopped{at}: {err:#}; running it again resumes there"));
            }
        }
    }
}
