fn main() -> std::process::ExitCode {
    url_signer::cli::main()
}
