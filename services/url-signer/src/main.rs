fn main() -> std::process::ExitCode {
    common::server::run_main("url-signer", url_signer::Config::from_env, url_signer::build)
}
