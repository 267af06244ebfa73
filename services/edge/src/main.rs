use common::config::FromEnv;

fn main() -> std::process::ExitCode {
    common::server::run_main("edge", edge::Config::from_env, edge::build)
}
