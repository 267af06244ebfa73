use common::config::FromEnv;

fn main() -> std::process::ExitCode {
    common::server::run_main("auth", auth::Config::from_env, auth::build)
}
