use common::config::FromEnv;

fn main() -> std::process::ExitCode {
    common::server::run_main("media", media::Config::from_env, media::build)
}
