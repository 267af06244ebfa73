use common::config::FromEnv;

fn main() -> std::process::ExitCode {
    common::server::run_main("post", post::Config::from_env, post::build)
}
